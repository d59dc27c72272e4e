using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Web.Auth;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>Every endpoint, page and hub tried anonymously and with a Viewer token where more is needed.</summary>
public sealed class AuthorizationTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    public static TheoryData<string, string> ApiEndpoints => new()
    {
        { "GET", "/api/clusters" },
        { "POST", "/api/clusters" },
        { "GET", $"/api/clusters/{Guid.Empty}" },
        { "PUT", $"/api/clusters/{Guid.Empty}" },
        { "DELETE", $"/api/clusters/{Guid.Empty}" },
        { "POST", "/api/clusters/import-lab" },
        { "POST", $"/api/clusters/{Guid.Empty}/test-connection" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/{Guid.Empty}/confirm-host-key" },
        { "GET", "/api/audit" },
        { "GET", "/api/tokens" },
        { "POST", "/api/tokens" },
        { "DELETE", $"/api/tokens/{Guid.Empty}" },
        { "POST", $"/api/clusters/{Guid.Empty}/setup/plan" },
        { "POST", $"/api/clusters/{Guid.Empty}/setup" },
        { "GET", $"/api/clusters/{Guid.Empty}/operations" },
        { "GET", "/api/operations" },
        { "GET", $"/api/operations/{Guid.Empty}" },
        { "GET", $"/api/operations/{Guid.Empty}/log" },
        { "POST", $"/api/operations/{Guid.Empty}/resume" },
        { "POST", $"/api/operations/{Guid.Empty}/rollback" },
        { "POST", $"/api/clusters/{Guid.Empty}/switchover/preflight" },
        { "POST", $"/api/clusters/{Guid.Empty}/switchover" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/pg1/rejoin" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/pg1/rebuild" },
        { "POST", $"/api/clusters/{Guid.Empty}/adopt/plan" },
        { "POST", $"/api/clusters/{Guid.Empty}/adopt" },
        { "GET", $"/api/clusters/{Guid.Empty}/topology" },
        { "GET", "/metrics" },
        { "GET", "/openapi/v1.json" },
        { "POST", "/hubs/operations/negotiate?negotiateVersion=1" },
    };

    /// <summary>What only an Admin may do: a Viewer gets 403.</summary>
    public static TheoryData<string, string> AdminEndpoints => new()
    {
        { "POST", "/api/clusters" },
        { "PUT", $"/api/clusters/{Guid.Empty}" },
        { "DELETE", $"/api/clusters/{Guid.Empty}" },
        { "POST", "/api/clusters/import-lab" },
        { "POST", $"/api/clusters/{Guid.Empty}/test-connection" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/{Guid.Empty}/confirm-host-key" },
        { "GET", "/api/tokens" },
        { "POST", "/api/tokens" },
        { "DELETE", $"/api/tokens/{Guid.Empty}" },
        { "POST", $"/api/clusters/{Guid.Empty}/setup" },
        { "POST", $"/api/clusters/{Guid.Empty}/adopt/plan" },
        { "POST", $"/api/clusters/{Guid.Empty}/adopt" },
    };

    /// <summary>The on-call actions: an Operator may, a Viewer gets 403.</summary>
    public static TheoryData<string, string> OperatorEndpoints => new()
    {
        { "POST", $"/api/clusters/{Guid.Empty}/switchover" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/pg1/rejoin" },
        { "POST", $"/api/clusters/{Guid.Empty}/nodes/pg1/rebuild" },
        { "POST", $"/api/operations/{Guid.Empty}/resume" },
        { "POST", $"/api/operations/{Guid.Empty}/rollback" },
    };

    /// <summary>Every state-changing API call (issue #15 item 2: cookie-authenticated ones need the antiforgery header).</summary>
    public static TheoryData<string, string> StateChangingApiEndpoints()
    {
        var data = new TheoryData<string, string>();
        foreach (var row in ApiEndpoints)
        {
            var (method, path) = ((string)row[0], (string)row[1]);
            if (method != "GET" && path.StartsWith("/api/", StringComparison.Ordinal))
            {
                data.Add(method, path);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StateChangingApiEndpoints))]
    public async Task A_cookie_call_that_changes_state_without_the_antiforgery_header_is_refused(string method, string path)
    {
        using var browser = new BrowserSession(factory);
        using (var signedIn = await browser.SignInAsync("admin", ConsoleFactory.AdminPassword))
        {
            Assert.True(browser.HasAuthCookie, $"sign-in answered {signedIn.StatusCode}");
        }

        // A page of another port of this host can post with the cookie (same site), but cannot add this header.
        using var forged = await browser.Client.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("antiforgery token", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The console's own script can: the token from GET /api/antiforgery, in the header.
        var af = await browser.Client.GetFromJsonAsync<Dictionary<string, string>>("/api/antiforgery");
        using var genuine = Request(method, path);
        genuine.Headers.Add(af!["headerName"], af["token"]);
        using var allowed = await browser.Client.SendAsync(genuine);
        Assert.DoesNotContain("antiforgery token", await allowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(allowed.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path}: {allowed.StatusCode}");
    }

    [Fact]
    public async Task A_cookie_reads_without_a_header_but_a_form_body_or_a_foreign_origin_is_refused()
    {
        using var browser = new BrowserSession(factory);
        (await browser.SignInAsync("admin", ConsoleFactory.AdminPassword)).Dispose();
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/api/clusters")).StatusCode);

        // A form (what any page can post) is not JSON: 415, with a token or a cookie.
        using var asAdmin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var form = await asAdmin.PostAsync("/api/clusters/import-lab", new FormUrlEncodedContent(new Dictionary<string, string> { ["nodes"] = "x" }));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        using var text = await asAdmin.PostAsync($"/api/operations/{Guid.Empty}/resume", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);

        // Another origin (another port of this host included): 403, for the API and the hub's WebSocket alike.
        foreach (var path in new[] { "/api/clusters", "/hubs/operations/negotiate?negotiateVersion=1" })
        {
            using var foreign = new HttpRequestMessage(path.StartsWith("/hubs", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get, path);
            foreign.Headers.Add("Origin", "http://localhost:8081");
            Assert.Equal(HttpStatusCode.Forbidden, (await browser.Client.SendAsync(foreign)).StatusCode);
        }

        using var same = new HttpRequestMessage(HttpMethod.Get, "/api/clusters");
        same.Headers.Add("Origin", "http://localhost");
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.SendAsync(same)).StatusCode);
    }

    [Theory]
    [MemberData(nameof(OperatorEndpoints))]
    public async Task Viewer_token_gets_403_on_operator_actions_and_an_operator_gets_past_authorization(string method, string path)
    {
        var viewer = await factory.CreateTokenAsync("Viewer");
        using var asViewer = factory.CreateClientWithToken(viewer);
        using var denied = await asViewer.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);

        var op = await factory.CreateTokenAsync("Operator");
        using var asOperator = factory.CreateClientWithToken(op);
        using var allowed = await asOperator.SendAsync(Request(method, path));
        // The cluster (or operation) does not exist: authorization passed, the action itself answers 404.
        Assert.Equal(HttpStatusCode.NotFound, allowed.StatusCode);
    }

    [Fact]
    public async Task A_locked_out_user_cannot_sign_in_even_with_the_right_password()
    {
        var name = $"lock-{Guid.NewGuid():N}"[..16];
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<PgHaConsole.Web.Services.UserService>();
            Assert.True((await users.CreateAsync(name, "the-right-password", "Operator", "matrix", CancellationToken.None)).Succeeded);
        }

        using var browser = new BrowserSession(factory);
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await browser.SignInAsync(name, "a-wrong-password");
            Assert.Contains("error=1", wrong.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        using var right = await browser.SignInAsync(name, "the-right-password");
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Contains("/account/login?error=locked", right.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.False(browser.HasAuthCookie);

        // Another user is not affected, and a success resets the count.
        using var admin = new BrowserSession(factory);
        using var ok = await admin.SignInAsync("admin", ConsoleFactory.AdminPassword);
        Assert.True(admin.HasAuthCookie);
    }

    private async Task<Guid> CreateUserAsync(string name, string role)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var created = await scope.ServiceProvider.GetRequiredService<PgHaConsole.Web.Services.UserService>().CreateAsync(name, "a-long-enough-password", role, "test", CancellationToken.None);
        Assert.True(created.Succeeded);
        return created.Value!.Id;
    }

    private async Task<string?> DemoteAsync(Guid id)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<PgHaConsole.Web.Services.UserService>().SetRoleAsync(id, "Viewer", "admin", CancellationToken.None);
    }

    [Fact]
    public async Task A_demoted_users_open_circuit_loses_its_role()
    {
        var name = $"circuit-{Guid.NewGuid():N}"[..20];
        var id = await CreateUserAsync(name, "Admin");
        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ConsoleUser>>();
        var principal = await SessionClaims.CreatePrincipalAsync(users, (await users.FindByIdAsync(id.ToString()))!);

        // The circuit's provider, as Blazor sets it from the cookie when the page opens.
        var provider = scope.ServiceProvider.GetRequiredService<AuthenticationStateProvider>();
        var host = Assert.IsType<SessionRevalidatingStateProvider>(provider);
        host.SetAuthenticationState(Task.FromResult(new AuthenticationState(principal)));
        var changed = new TaskCompletionSource<AuthenticationState>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.AuthenticationStateChanged += async state => changed.TrySetResult(await state);

        await Task.Delay(TimeSpan.FromMilliseconds(600)); // three revalidation intervals of the test console
        Assert.False(changed.Task.IsCompleted, "a current user must keep its circuit");
        Assert.True((await provider.GetAuthenticationStateAsync()).User.IsInRole("Admin"));

        Assert.Null(await DemoteAsync(id));
        var after = await changed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(after.User.Identity?.IsAuthenticated);
        Assert.False(after.User.IsInRole("Admin"));
    }

    [Fact]
    public async Task An_operator_cannot_resume_a_setup_and_nobody_resumes_with_fields_the_kind_does_not_take()
    {
        var ct = CancellationToken.None;
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var created = await admin.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster($"rs-{Guid.NewGuid():N}"[..16]));
        var clusterId = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetGuid();
        var journal = factory.Services.GetRequiredService<IOperationJournal>();

        async Task<Guid> FailedAsync(string kind, IReadOnlyList<string> steps)
        {
            var op = await journal.CreateAsync(clusterId, kind, steps, "matrix", null, ct);
            await journal.SetOperationStatusAsync(op.Id, OperationStatus.Failed, "step 2 failed", ct);
            return op.Id;
        }

        var setup = await FailedAsync(SetupOperation.Kind, SetupOperation.StepNames);
        using var asOperator = factory.CreateClientWithToken(await factory.CreateTokenAsync("Operator"));
        // An Operator may not resume what only an Admin may start, with or without new parameters.
        foreach (var body in new object[] { new { }, new { confirmWipeHost = "pg2" }, new { clientCidrs = new[] { "0.0.0.0/0" }, installPackages = true } })
        {
            using var refused = await asOperator.PostAsJsonAsync($"/api/operations/{setup}/resume", body);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // An Admin may resume a setup with the typed confirmation only, not with new networks or packages.
        using var widened = await admin.PostAsJsonAsync($"/api/operations/{setup}/resume", new { confirmWipeHost = "pg2", clientCidrs = new[] { "0.0.0.0/0" } });
        Assert.Equal(HttpStatusCode.BadRequest, widened.StatusCode);
        Assert.Contains("clientCidrs", await widened.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var install = await admin.PostAsJsonAsync($"/api/operations/{setup}/resume", new { InstallPackages = true });
        Assert.Equal(HttpStatusCode.BadRequest, install.StatusCode);

        // A rejoin is the Operator's, with its typed confirmation only.
        var rejoin = await FailedAsync(RejoinOperation.RejoinKind, ["one", "two"]);
        using var otherNode = await asOperator.PostAsJsonAsync($"/api/operations/{rejoin}/resume", new { node = "pg1" });
        Assert.Equal(HttpStatusCode.BadRequest, otherNode.StatusCode);

        foreach (var id in new[] { setup, rejoin })
        {
            var op = (await journal.GetAsync(id, ct))!;
            Assert.Equal(OperationStatus.Failed, op.Status);
            Assert.Null(op.ParametersJson);
        }
    }

    [Theory]
    [MemberData(nameof(ApiEndpoints))]
    public async Task Anonymous_api_and_hub_calls_get_401(string method, string path)
    {
        using var client = factory.CreateClientWithToken(null);
        using var response = await client.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(ApiEndpoints))]
    public async Task A_revoked_or_unknown_token_gets_401(string method, string path)
    {
        using var client = factory.CreateClientWithToken("phc_not-a-real-token-at-all-000000000");
        using var response = await client.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task Viewer_token_gets_403_where_an_admin_is_needed(string method, string path)
    {
        var viewer = await factory.CreateTokenAsync("Viewer");
        using var client = factory.CreateClientWithToken(viewer);
        using var response = await client.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task Operator_token_gets_403_where_an_admin_is_needed(string method, string path)
    {
        var op = await factory.CreateTokenAsync("Operator");
        using var client = factory.CreateClientWithToken(op);
        using var response = await client.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Viewer_token_reads_clusters_and_audit()
    {
        var viewer = await factory.CreateTokenAsync("Viewer");
        using var client = factory.CreateClientWithToken(viewer);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/clusters")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/audit")).StatusCode);
    }

    [Fact]
    public async Task A_revoked_token_stops_working()
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var created = await admin.PostAsJsonAsync("/api/tokens", new { name = "to-revoke", role = "Viewer" });
        var body = await created.Content.ReadFromJsonAsync<Dictionary<string, object>>();
        var token = body!["token"].ToString()!;
        var id = body["id"].ToString()!;
        using var viewer = factory.CreateClientWithToken(token);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/clusters")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await viewer.GetAsync("/api/clusters")).StatusCode);
    }

    [Theory]
    [InlineData("/clusters")]
    [InlineData("/topology")]
    [InlineData("/setup")]
    [InlineData("/operations")]
    [InlineData("/history")]
    [InlineData("/audit")]
    [InlineData("/settings")]
    [InlineData("/clusters/new")]
    public async Task Anonymous_pages_redirect_to_sign_in(string path)
    {
        using var client = factory.CreateClientWithToken(null);
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/account/login", response.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hangfire_dashboard_needs_an_admin()
    {
        using var anonymous = factory.CreateClientWithToken(null);
        var anonymousStatus = (await anonymous.GetAsync("/hangfire")).StatusCode;
        Assert.True(anonymousStatus is HttpStatusCode.Unauthorized or HttpStatusCode.Redirect, $"anonymous got {anonymousStatus}");

        var viewer = await factory.CreateTokenAsync("Viewer");
        using var viewerClient = factory.CreateClientWithToken(viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewerClient.GetAsync("/hangfire")).StatusCode);

        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Anything_not_marked_otherwise_needs_a_signed_in_user()
    {
        // Issue #15 item 8: the fallback policy. Every endpoint open to anonymous visitors is on this list, and one
        // that says nothing (here: the development file fallback) needs a user.
        var fallback = await factory.Services.GetRequiredService<Microsoft.AspNetCore.Authorization.IAuthorizationPolicyProvider>().GetFallbackPolicyAsync();
        Assert.NotNull(fallback);
        Assert.Contains(fallback.Requirements, r => r is Microsoft.AspNetCore.Authorization.Infrastructure.DenyAnonymousAuthorizationRequirement);

        var open = factory.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .ToList();
        string[] allowed = ["/account/", "/healthz", "/_blazor", "/_framework/", "/_content/", "/assets/"];
        var unexpected = open.Where(p => !allowed.Any(a => p.StartsWith(a, StringComparison.Ordinal)) && !IsStaticFile(p)).ToList();
        Assert.True(unexpected.Count == 0, "anonymous endpoints not on the list: " + string.Join(", ", unexpected));
        Assert.Contains("/_blazor/negotiate", open);

        using var anonymous = factory.CreateClientWithToken(null);
        using var unmarked = await anonymous.GetAsync("/no-such-file.txt");
        Assert.Equal(HttpStatusCode.Redirect, unmarked.StatusCode);
        Assert.Contains("/account/login", unmarked.Headers.Location!.ToString(), StringComparison.Ordinal);
        // The sign-in page's stylesheet and circuit are open to an anonymous visitor.
        using var css = await anonymous.GetAsync("/assets/app.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Contains("{", await css.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync("/_blazor/negotiate?negotiateVersion=1", null)).StatusCode);
    }

    private static bool IsStaticFile(string path) =>
        System.Text.RegularExpressions.Regex.IsMatch(path, @"^/[A-Za-z0-9._-]+\.(txt|ico|svg|css|js|gz|json)$");

    [Fact]
    public async Task Health_endpoint_is_public_and_reports_the_store()
    {
        using var client = factory.CreateClientWithToken(null);
        using var response = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OpenApi_document_describes_the_cluster_api()
    {
        using var client = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var doc = await client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/clusters/import-lab", doc, StringComparison.Ordinal);
        Assert.Contains("/api/clusters/{id}/test-connection", doc, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Request(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = JsonContent.Create(new { });
        }

        return request;
    }
}
