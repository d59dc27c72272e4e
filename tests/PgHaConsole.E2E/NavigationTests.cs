using Microsoft.Playwright;
using PgHaConsole.E2E.Infrastructure;

namespace PgHaConsole.E2E;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NavigationTests
{
    private const string AdminPassword = "e2e-admin-password-1";

    [Fact]
    public async Task Signed_in_admin_sees_the_navigation()
    {
        await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>
        {
            ["PgHaConsole__Bootstrap__AdminPassword"] = AdminPassword,
        });
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        // Every stylesheet and script loads in the Production profile (from build output, as run.sh starts it).
        var failedAssets = new System.Collections.Concurrent.ConcurrentBag<string>();
        page.Response += (_, response) =>
        {
            // 200, or 304 when the browser revalidates its cached copy on the next page.
            if (response.Request.ResourceType is "stylesheet" or "script" && response.Status is not (200 or 304))
            {
                failedAssets.Add($"{response.Url}: {response.Status}");
            }
        };

        // Anonymous: the console sends the visitor to the sign-in page.
        await page.GotoAsync(console.BaseUri.ToString());
        await page.WaitForURLAsync(u => u.Contains("/account/login", StringComparison.Ordinal));

        await Browser.SignInAsync(page, console.BaseUri, "admin", AdminPassword);
        var nav = page.Locator("[data-testid=main-nav]");
        foreach (var item in new[] { "Clusters", "Topology", "Setup", "Operations", "History", "Audit", "Settings" })
        {
            await Assertions.Expect(nav.GetByText(item, new() { Exact = true })).ToBeVisibleAsync();
        }

        await Assertions.Expect(page.Locator("[data-testid=current-user]")).ToContainTextAsync("admin");
        Assert.Empty(failedAssets);
        // MudBlazor's stylesheet applied (not only fetched): the app bar is laid out by it.
        Assert.Equal("flex", await page.Locator(".mud-appbar .mud-toolbar").First.EvaluateAsync<string>("e => getComputedStyle(e).display"));
        await nav.GetByText("Audit", new() { Exact = true }).ClickAsync();
        await page.WaitForURLAsync(u => u.EndsWith("/audit", StringComparison.Ordinal));
        await Assertions.Expect(page.GetByText("auth.signin").First).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Wrong_password_is_refused_with_a_message()
    {
        await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>
        {
            ["PgHaConsole__Bootstrap__AdminPassword"] = AdminPassword,
        });
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(console.BaseUri, "account/login").ToString());
        await Browser.WaitInteractiveAsync(page);
        await page.Locator("#username").FillAsync("admin");
        await page.Locator("#password").FillAsync("not-the-password");
        await page.Locator("[data-testid=login-submit]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=login-error]")).ToBeVisibleAsync();
        Assert.Contains("/account/login", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task First_visit_to_an_empty_store_creates_the_first_admin()
    {
        await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>());
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync(console.BaseUri.ToString());
        await page.WaitForURLAsync(u => u.Contains("/account/first-admin", StringComparison.Ordinal), new() { Timeout = 30_000 });
        await Browser.WaitInteractiveAsync(page);

        // Without the setup code the form is refused.
        await page.Locator("#password").FillAsync("first-admin-password");
        await page.Locator("#confirm").FillAsync("first-admin-password");
        await page.Locator("[data-testid=first-admin-submit]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=first-admin-error]")).ToContainTextAsync("setup code");
        await Browser.WaitInteractiveAsync(page);

        // The code the person who started the console can read: in its output and in a 0600 file in its data directory.
        var codeFile = Path.Combine(console.DataDirectory, "setup-code");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(codeFile));
        var code = (await File.ReadAllTextAsync(codeFile)).Trim();
        Assert.Contains(code, console.Output, StringComparison.Ordinal);
        await page.Locator("#setupCode").FillAsync(code);
        await page.Locator("#password").FillAsync("first-admin-password");
        await page.Locator("#confirm").FillAsync("first-admin-password");
        await page.Locator("[data-testid=first-admin-submit]").ClickAsync();
        await page.WaitForURLAsync(u => u.EndsWith("/clusters", StringComparison.Ordinal), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("[data-testid=current-user]")).ToContainTextAsync("admin");

        // The first-admin form is gone once an admin exists.
        await page.GotoAsync(new Uri(console.BaseUri, "account/first-admin").ToString());
        await Browser.WaitInteractiveAsync(page);
        Assert.Equal(0, await page.Locator("[data-testid=first-admin-form]").CountAsync());
    }
}
