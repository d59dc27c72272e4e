using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The console as deployed: Production, behind a reverse proxy on this host that terminates TLS. The test server has
/// no socket, so the peer address a proxy would have is set from <c>X-Test-Peer</c> (loopback when absent).
/// </summary>
public class ProductionConsoleFactory : ConsoleFactory
{
    protected override string EnvironmentName => "Production";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["AllowedHosts"] = "console.example.test;localhost",
        ["PgHaConsole:ReverseProxy:Enabled"] = "true",
        ["PgHaConsole:Security:SignInPermitsPerMinute"] = "1000",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(s => s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, PeerAddressFilter>());
    }

    private sealed class PeerAddressFilter : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = context.Request.Headers.TryGetValue("X-Test-Peer", out var peer)
                    ? IPAddress.Parse(peer.ToString())
                    : IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

/// <summary>The same, with a store that fails: what an error looks like to an anonymous visitor.</summary>
public sealed class BrokenStoreProductionFactory : ProductionConsoleFactory
{
    /// <summary>Set once the console has started (its start needs the store).</summary>
    public bool Fail { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(s => s.AddSingleton<IUserRepository>(sp =>
            new FailingUsers(this, ActivatorUtilities.CreateInstance<UserRepository>(sp))));
    }

    private sealed class FailingUsers(BrokenStoreProductionFactory owner, UserRepository real) : IUserRepository
    {
        private static InvalidOperationException Boom() => new("secret-internal-detail: the store is on fire");

        public Task<int> CountAsync(CancellationToken ct) => owner.Fail ? throw Boom() : real.CountAsync(ct);

        public Task<int> CountEnabledInRoleAsync(string role, CancellationToken ct) => owner.Fail ? throw Boom() : real.CountEnabledInRoleAsync(role, ct);

        public Task<IReadOnlyList<ConsoleUser>> ListAsync(CancellationToken ct) => owner.Fail ? throw Boom() : real.ListAsync(ct);

        public Task<IReadOnlyList<ConsoleUser>> ListIncludingRoleAsync(string role, CancellationToken ct) => owner.Fail ? throw Boom() : real.ListIncludingRoleAsync(role, ct);

        public Task<ConsoleUser?> FindByIdAsync(Guid id, CancellationToken ct) => owner.Fail ? throw Boom() : real.FindByIdAsync(id, ct);

        public Task<ConsoleUser?> FindByNormalizedNameAsync(string normalizedUserName, CancellationToken ct) => owner.Fail ? throw Boom() : real.FindByNormalizedNameAsync(normalizedUserName, ct);

        public Task CreateAsync(ConsoleUser user, CancellationToken ct) => owner.Fail ? throw Boom() : real.CreateAsync(user, ct);

        public Task<bool> UpdateAsync(ConsoleUser user, CancellationToken ct) => owner.Fail ? throw Boom() : real.UpdateAsync(user, ct);

        public Task<bool> DeleteAsync(Guid id, CancellationToken ct) => owner.Fail ? throw Boom() : real.DeleteAsync(id, ct);
    }
}

/// <summary>Issue #15 item 7: static assets in Production, no stack traces, HSTS and Secure cookies over HTTPS through a proxy.</summary>
public sealed partial class ProductionProfileTests(ProductionConsoleFactory factory) : IClassFixture<ProductionConsoleFactory>
{
    [Fact]
    public async Task Every_stylesheet_and_script_of_a_page_loads_in_production()
    {
        using var client = factory.CreateClientWithToken(null);
        var html = await client.GetStringAsync("/account/login");
        var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains(assets, a => a.StartsWith("_content/MudBlazor/", StringComparison.Ordinal) && a.EndsWith(".css", StringComparison.Ordinal));
        Assert.Contains(assets, a => a.StartsWith("_framework/blazor.web", StringComparison.Ordinal));
        Assert.Contains("assets/app.css", assets);
        foreach (var asset in assets)
        {
            using var response = await client.GetAsync("/" + asset);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {response.StatusCode}");
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 0, $"{asset}: empty; {response.Headers} {response.Content.Headers}");
        }
    }

    [Fact]
    public async Task An_error_shows_no_stack_trace_nor_request_headers_in_production()
    {
        using var broken = new BrokenStoreProductionFactory();
        using var client = broken.CreateClientWithToken(null);
        broken.Fail = true;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/account/login");
        request.Headers.Add("X-Probe", "header-value-9731");
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("log has the details", body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-internal-detail", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at PgHaConsole", body, StringComparison.Ordinal);
        Assert.DoesNotContain("header-value-9731", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Through_a_tls_proxy_cookies_are_secure_and_hsts_is_sent()
    {
        using var client = factory.CreateClientWithToken(null);

        // The login page through the proxy (https to the browser): HSTS, and the antiforgery cookie Secure.
        using var page = Send(HttpMethod.Get, "/account/login", "https");
        using var pageResponse = await client.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, pageResponse.StatusCode);
        Assert.True(pageResponse.Headers.Contains("Strict-Transport-Security"));
        var antiforgery = Assert.Single(SetCookies(pageResponse), c => c.StartsWith(".AspNetCore.Antiforgery", StringComparison.Ordinal));
        Assert.Contains("secure", antiforgery, StringComparison.OrdinalIgnoreCase);
        var token = BrowserSession.FormTokenIn(await pageResponse.Content.ReadAsStringAsync())!;

        using var signIn = Send(HttpMethod.Post, "/account/signin", "https");
        signIn.Headers.Add("Cookie", antiforgery.Split(';')[0]);
        signIn.Content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = "admin",
            ["password"] = ConsoleFactory.AdminPassword,
            ["returnUrl"] = "/clusters",
        });
        using var signedIn = await client.SendAsync(signIn);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var session = Assert.Single(SetCookies(signedIn), c => c.StartsWith("pghaconsole=", StringComparison.Ordinal));
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);

        // Plain HTTP: no HSTS (it would be ignored) and no Secure cookie.
        using var plain = await client.SendAsync(Send(HttpMethod.Get, "/account/login", null));
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));

        // X-Forwarded-Proto from a peer that is not a known proxy is not believed.
        using var spoofed = Send(HttpMethod.Get, "/account/login", "https");
        spoofed.Headers.Add("X-Test-Peer", "203.0.113.9");
        using var spoofedResponse = await client.SendAsync(spoofed);
        Assert.False(spoofedResponse.Headers.Contains("Strict-Transport-Security"));
    }

    private static HttpRequestMessage Send(HttpMethod method, string path, string? forwardedProto)
    {
        var request = new HttpRequestMessage(method, "http://console.example.test" + path);
        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        return request;
    }

    private static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];

    [GeneratedRegex("(?:href|src)=\"((?:_content|_framework|assets)/[^\"]+\\.(?:css|js))\"")]
    private static partial Regex AssetReference();
}
