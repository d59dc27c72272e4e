using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// Issue #15 item 6: sessions follow the store. A demoted, removed or re-passworded user's cookie stops working within
/// the revalidation interval (200 ms in these tests; the open page's circuit is in the auth matrix). Item 8: tokens
/// may expire.
/// </summary>
public sealed class SessionTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private async Task<Guid> CreateUserAsync(string name, string role)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var created = await scope.ServiceProvider.GetRequiredService<UserService>().CreateAsync(name, "a-long-enough-password", role, "test", CancellationToken.None);
        Assert.True(created.Succeeded);
        return created.Value!.Id;
    }

    private async Task<T> WithUsersAsync<T>(Func<UserService, Task<T>> action)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<UserService>());
    }

    public static TheoryData<string> Changes => ["demote", "password", "delete"];

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_cookie_session_ends_when_the_user_is_demoted_given_a_new_password_or_removed(string change)
    {
        var name = $"s-{change}-{Guid.NewGuid():N}"[..20];
        var id = await CreateUserAsync(name, "Operator");
        using var browser = new BrowserSession(factory);
        (await browser.SignInAsync(name, "a-long-enough-password")).Dispose();
        Assert.True(browser.HasAuthCookie);
        await Task.Delay(Interval * 2);
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/api/clusters")).StatusCode);

        var error = await WithUsersAsync(users => change switch
        {
            "demote" => users.SetRoleAsync(id, "Viewer", "admin", CancellationToken.None),
            "password" => users.SetPasswordAsync(id, "another-long-password", "admin", CancellationToken.None),
            _ => users.DeleteAsync(id, "admin", CancellationToken.None),
        });
        Assert.Null(error);
        await Task.Delay(Interval * 2);

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.Client.GetAsync("/api/clusters")).StatusCode);
        Assert.False(browser.HasAuthCookie);
    }

    [Theory]
    [InlineData("demote")]
    [InlineData("delete")]
    public async Task The_api_tokens_a_user_created_lose_what_the_user_loses(string change)
    {
        var ct = CancellationToken.None;
        await CreateUserAsync($"keep-{Guid.NewGuid():N}"[..20], "Admin"); // never the last admin
        var name = $"tok-{change}-{Guid.NewGuid():N}"[..20];
        var id = await CreateUserAsync(name, "Admin");
        var repository = factory.Services.GetRequiredService<IApiTokenRepository>();
        var admin = await repository.CreateAsync($"{name}-admin", "Admin", name, ct);
        var viewer = await repository.CreateAsync($"{name}-viewer", "Viewer", name, ct);
        var others = await repository.CreateAsync($"{name}-other", "Admin", "someone-else", ct);

        async Task<HttpStatusCode> StatusAsync(CreatedApiToken token)
        {
            using var client = factory.CreateClientWithToken(token.Token);
            return (await client.GetAsync("/api/clusters")).StatusCode;
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], [await StatusAsync(admin), await StatusAsync(viewer), await StatusAsync(others)]);

        Assert.Null(await WithUsersAsync(users => change == "demote"
            ? users.SetRoleAsync(id, "Operator", "admin", ct)
            : users.DeleteAsync(id, "admin", ct)));

        // Demoted to Operator: the Admin token they created is revoked, the Viewer one stays; removed: both go. Another
        // creator's token is untouched either way.
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(admin));
        Assert.Equal(change == "demote" ? HttpStatusCode.OK : HttpStatusCode.Unauthorized, await StatusAsync(viewer));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(others));
        using var auditor = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var revoked = await auditor.GetFromJsonAsync<List<Dictionary<string, System.Text.Json.JsonElement>>>("/api/audit?action=token.revoke");
        Assert.Contains(revoked!, r => r["target"].GetString() == $"{name}-admin");
    }

    [Fact]
    public async Task A_token_with_an_expiry_stops_working_at_it_and_shows_its_last_use()
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var bad = await admin.PostAsJsonAsync("/api/tokens", new { name = "exp-bad", role = "Viewer", expiresInDays = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var created = await admin.PostAsJsonAsync("/api/tokens", new { name = "exp-30", role = "Viewer", expiresInDays = 30 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<Dictionary<string, System.Text.Json.JsonElement>>();
        var expires = body!["expiresAt"].GetDateTimeOffset();
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddDays(29.9), DateTimeOffset.UtcNow.AddDays(30.1));
        using (var viewer = factory.CreateClientWithToken(body["token"].GetString()))
        {
            Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/clusters")).StatusCode);
        }

        var listed = await admin.GetFromJsonAsync<List<Dictionary<string, System.Text.Json.JsonElement>>>("/api/tokens");
        var row = listed!.Single(t => t["name"].GetString() == "exp-30");
        Assert.Equal(System.Text.Json.JsonValueKind.String, row["lastUsedAt"].ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.String, row["expiresAt"].ValueKind);

        // One that expired a second ago, as the store holds it.
        var repo = factory.Services.GetRequiredService<IApiTokenRepository>();
        var past = await repo.CreateAsync("expired", "Viewer", "test", DateTimeOffset.UtcNow.AddSeconds(-1), CancellationToken.None);
        using var expired = factory.CreateClientWithToken(past.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await expired.GetAsync("/api/clusters")).StatusCode);
    }
}
