using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace PgHaConsole.Web.Tests.Infrastructure;

/// <summary>
/// What a browser does with the console's native forms: fetch the page (its antiforgery token and cookie), post the
/// form, keep the cookies. Used to sign in by cookie and to create the first admin as a visitor would.
/// </summary>
public sealed partial class BrowserSession : IDisposable
{
    private readonly CookieContainer _cookies = new();

    public BrowserSession(WebApplicationFactory<Program> factory, string baseAddress = "http://localhost/")
    {
        var handler = new CookieContainerHandler(_cookies);
        Client = factory.CreateDefaultClient(new Uri(baseAddress), handler);
    }

    public HttpClient Client { get; }

    public CookieCollection Cookies => _cookies.GetAllCookies();

    /// <summary>The antiforgery form token rendered into <paramref name="pagePath"/> (its cookie is kept).</summary>
    public async Task<string> FormTokenAsync(string pagePath)
    {
        var html = await Client.GetStringAsync(pagePath);
        var token = FormTokenIn(html);
        Assert.True(token is not null, $"no antiforgery token on {pagePath}: {html}");
        return token;
    }

    /// <summary>The antiforgery form token a page rendered, or null.</summary>
    public static string? FormTokenIn(string html)
    {
        var match = TokenInput().Match(html);
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    /// <summary>Posts a form the way the page's native form does (antiforgery token from <paramref name="pagePath"/>).</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string pagePath, string action, IDictionary<string, string> fields)
    {
        var token = await FormTokenAsync(pagePath);
        var all = new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token };
        return await Client.PostAsync(action, new FormUrlEncodedContent(all));
    }

    /// <summary>Signs in through the login form; true when the console issued its cookie.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string user, string password)
    {
        return await PostFormAsync("/account/login", "/account/signin", new Dictionary<string, string>
        {
            ["username"] = user,
            ["password"] = password,
            ["returnUrl"] = "/clusters",
        });
    }

    public bool HasAuthCookie => Cookies.Any(c => c.Name == "pghaconsole" && !c.Expired && c.Value.Length > 0);

    public void Dispose() => Client.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenInput();

    /// <summary>Keeps cookies and does not follow redirects (the tests look at them).</summary>
    private sealed class CookieContainerHandler(CookieContainer cookies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            var header = cookies.GetCookieHeader(uri);
            if (header.Length > 0)
            {
                request.Headers.Remove("Cookie");
                request.Headers.Add("Cookie", header);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var c in setCookies)
                {
                    cookies.SetCookies(uri, c);
                }
            }

            return response;
        }
    }
}
