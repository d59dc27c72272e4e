using System.Net;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>A console started on an empty store, without a bootstrap password.</summary>
public sealed class EmptyConsoleFactory : ConsoleFactory
{
    protected override bool Bootstrap => false;
}

/// <summary>
/// Issue #15 item 1: an anonymous visitor of an empty console does not become its admin without the one-time setup
/// code (printed at start, in a 0600 file); the Host header is checked.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FirstAdminTests : IDisposable
{
    private readonly EmptyConsoleFactory _factory = new();

    private string CodeFile => Path.Combine(_factory.DataDirectory, SetupCode.FileName);

    private static Dictionary<string, string> Form(string? code) => new()
    {
        ["setupCode"] = code ?? "",
        ["username"] = "mallory",
        ["password"] = "a-long-enough-password",
        ["confirm"] = "a-long-enough-password",
    };

    [Fact]
    public async Task Without_the_setup_code_a_visitor_does_not_become_admin()
    {
        using var browser = new BrowserSession(_factory);
        foreach (var code in new[] { null, "", "AAAAA-BBBBB-CCCCC-DDDDD" })
        {
            using var response = await browser.PostFormAsync("/account/first-admin", "/account/create-first-admin", Form(code));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Contains("/account/first-admin?error=", response.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.False(browser.HasAuthCookie);
        }

        Assert.Equal(0, await _factory.Services.GetRequiredService<IUserRepository>().CountAsync(CancellationToken.None));
        Assert.True(File.Exists(CodeFile));
    }

    [Fact]
    public async Task The_setup_code_is_in_a_file_only_its_owner_reads_and_works_once()
    {
        using var browser = new BrowserSession(_factory);
        _ = _factory.Server;
        Assert.True(File.Exists(CodeFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CodeFile));
        var code = (await File.ReadAllTextAsync(CodeFile)).Trim();
        Assert.Matches("^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$", code);
        // Never through the logger (log shippers): only its file's path.
        Assert.DoesNotContain(_factory.Logs, l => l.Contains(code, StringComparison.Ordinal));

        // Typed in lower case with spaces around: still the code.
        using var created = await browser.PostFormAsync("/account/first-admin", "/account/create-first-admin", Form("  " + code.ToLowerInvariant() + " "));
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.Equal("/clusters", created.Headers.Location!.ToString());
        Assert.True(browser.HasAuthCookie);
        Assert.False(File.Exists(CodeFile));

        // Spent: a second visitor with the same code is refused.
        using var second = new BrowserSession(_factory);
        var form = Form(code);
        form["username"] = "eve";
        // The page offers no form any more; a post with a token from the sign-in page is refused all the same.
        Assert.DoesNotContain("first-admin-form", await second.Client.GetStringAsync("/account/first-admin"), StringComparison.Ordinal);
        using var again = await second.PostFormAsync("/account/login", "/account/create-first-admin", form);
        Assert.Contains("error=", again.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, await _factory.Services.GetRequiredService<IUserRepository>().CountAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Two_creators_at_once_make_one_admin()
    {
        _ = _factory.Server;
        var code = (await File.ReadAllTextAsync(CodeFile)).Trim();
        var tasks = Enumerable.Range(0, 6).Select(async i =>
        {
            await using var scope = _factory.Services.CreateAsyncScope();
            var svc = scope.ServiceProvider.GetRequiredService<PgHaConsole.Web.Services.FirstAdminService>();
            return await svc.CreateAsync($"admin{i}", "a-long-enough-password", "a-long-enough-password", code, CancellationToken.None);
        }).ToList();
        var results = await Task.WhenAll(tasks);
        Assert.Single(results, r => r.Error is null);
        Assert.Equal(1, await _factory.Services.GetRequiredService<IUserRepository>().CountAsync(CancellationToken.None));
    }

    [Fact]
    public void The_data_directory_and_the_store_are_readable_by_their_owner_only()
    {
        // Issue #15 item 8: the store file was world-readable (0644). The directory as a default umask makes it.
        File.SetUnixFileMode(_factory.DataDirectory, (UnixFileMode)Convert.ToInt32("755", 8));
        _ = _factory.Server;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_factory.DataDirectory));
        var store = Path.Combine(_factory.DataDirectory, "pghaconsole.db");
        Assert.True(File.Exists(store));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store));
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("rebind.attacker.test:5080")]
    public async Task A_foreign_host_header_is_refused(string host)
    {
        using var client = _factory.CreateClientWithToken(null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/account/first-admin");
        request.Headers.Host = host;
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        using var loopback = new HttpRequestMessage(HttpMethod.Get, "/account/first-admin");
        loopback.Headers.Host = "127.0.0.1:5080";
        using var ok = await client.SendAsync(loopback);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    public void Dispose() => _factory.Dispose();
}
