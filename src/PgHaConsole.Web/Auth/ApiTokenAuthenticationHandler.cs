using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// <c>Authorization: Bearer phc_…</c>. Tokens are stored hashed; a revoked or unknown token is 401.
/// SignalR clients outside the browser may pass the token as <c>access_token</c> on hub URLs (WebSockets cannot
/// carry headers from every client).
/// </summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiTokenRepository tokens,
    FailedTokenThrottle throttle)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private bool _throttled;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request);
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        // A client that spent its failures for the minute is not even looked up (issue #15: brute force).
        var client = AuthThrottle.ClientKey(Context);
        if (throttle.IsBlocked(client))
        {
            _throttled = true;
            return AuthenticateResult.Fail("Too many failed API-token attempts from this address.");
        }

        var record = await tokens.FindActiveByTokenAsync(token, Context.RequestAborted);
        if (record is null)
        {
            _throttled = !throttle.RecordFailure(client);
            return AuthenticateResult.Fail("Unknown, revoked or expired API token.");
        }

        await tokens.TouchAsync(record.Id, Context.RequestAborted);
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, $"token:{record.Name}"),
                new Claim(ClaimTypes.NameIdentifier, record.Id.ToString()),
                new Claim(ClaimTypes.Role, record.Role),
                new Claim("token_id", record.Id.ToString()),
            ],
            Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_throttled)
        {
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = "60";
            return Task.CompletedTask;
        }

        return base.HandleChallengeAsync(properties);
    }

    internal static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var value = header["Bearer ".Length..].Trim();
            return value.Length > 0 ? value : null;
        }

        if (request.Path.StartsWithSegments("/hubs") && request.Query.TryGetValue("access_token", out var q) && q.Count > 0)
        {
            return q[0];
        }

        return null;
    }
}
