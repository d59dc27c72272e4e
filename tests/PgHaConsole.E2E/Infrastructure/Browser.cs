using Microsoft.Playwright;

namespace PgHaConsole.E2E.Infrastructure;

/// <summary>Debian's Chromium driven by Playwright, headless, with no background networking.</summary>
public static class Browser
{
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
        return (playwright, browser);
    }

    /// <summary>Waits until the Blazor circuit is up: a click before that would be lost.</summary>
    public static Task WaitInteractiveAsync(IPage page) =>
        page.Locator("#app-root[data-interactive='true']").WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });

    public static async Task SignInAsync(IPage page, Uri baseUri, string user, string password)
    {
        await page.GotoAsync(new Uri(baseUri, "account/login").ToString());
        await WaitInteractiveAsync(page);
        await page.Locator("#username").FillAsync(user);
        await page.Locator("#password").FillAsync(password);
        await page.Locator("[data-testid=login-submit]").ClickAsync();
        await page.WaitForURLAsync(u => !u.Contains("/account/login", StringComparison.Ordinal), new PageWaitForURLOptions { Timeout = 30_000 });
        await WaitInteractiveAsync(page);
    }
}
