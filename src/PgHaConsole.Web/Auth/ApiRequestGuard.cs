using Microsoft.AspNetCore.Antiforgery;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// Cross-site request forgery defence for the REST API and the hub, which a browser's session cookie also
/// authenticates. SameSite=Strict does not stop a page on another port of the same host (same site), and several
/// endpoints accept a form or an empty body, which any page can post. So, for <c>/api</c>:
/// <list type="bullet">
/// <item>a state-changing call (not GET/HEAD/OPTIONS) authenticated by the cookie must carry the antiforgery token
/// in the <see cref="HeaderName"/> header (<c>GET /api/antiforgery</c> hands it out); a page of another origin can
/// neither read that token nor send a custom header without a CORS preflight, which the console never grants.
/// Bearer-token calls are unaffected: no browser attaches a token by itself;</item>
/// <item>a body must be <c>application/json</c> (415 otherwise): no HTML form can produce it;</item>
/// </list>
/// and for <c>/api</c> and <c>/hubs</c>, a request whose <c>Origin</c> is not this console (a cross-origin fetch, or a
/// WebSocket opened by another page, which CORS does not govern) is refused with 403.
/// </summary>
public sealed class ApiRequestGuard(RequestDelegate next, IAntiforgery antiforgery)
{
    public const string HeaderName = "X-CSRF-TOKEN";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var isApi = request.Path.StartsWithSegments("/api");
        if (!isApi && !request.Path.StartsWithSegments("/hubs"))
        {
            await next(context);
            return;
        }

        if (request.Headers.Origin is { Count: > 0 } origin && !IsSameOrigin(origin.ToString(), request))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "Cross-origin requests are refused.");
            return;
        }

        if (isApi && !IsSafe(request.Method))
        {
            if (HasBody(request) && !IsJson(request.ContentType))
            {
                await RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, "The API takes application/json bodies only.");
                return;
            }

            var byCookie = context.User.Identity?.IsAuthenticated == true
                && context.User.Identity.AuthenticationType == AuthPolicies.CookieScheme;
            if (byCookie && !await antiforgery.IsRequestValidAsync(context))
            {
                await RefuseAsync(context, StatusCodes.Status400BadRequest,
                    $"A call authenticated by the session cookie must carry the antiforgery token in the {HeaderName} header (GET /api/antiforgery), or use an API token.");
                return;
            }
        }

        await next(context);
    }

    internal static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);

    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(string? contentType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>The Origin's host[:port] (default port omitted, as browsers send Host) against the request's Host.</summary>
    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static Task RefuseAsync(HttpContext context, int status, string detail) =>
        Results.Problem(detail, statusCode: status).ExecuteAsync(context);
}
