using System.Text.Json;
using Microsoft.Playwright;
using PgHaConsole.E2E.Infrastructure;

namespace PgHaConsole.E2E;

/// <summary>Issue 3 end to end: sign in, import the running lab's cluster, test the connection, see both fingerprints.</summary>
[Collection(LabE2ECollection.Name)]
public sealed class InventoryTests
{
    private const string AdminPassword = "e2e-admin-password-2";

    [Fact]
    public async Task Admin_imports_the_lab_and_test_connection_shows_both_pinned_fingerprints()
    {
        // The runbook's starting state, whatever the other lab tests of this collection left.
        await LabReset.ResetAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        var labFile = Path.Combine(RepoPaths.Root, ".lab", "lab.json");
        Assert.True(File.Exists(labFile), $"the lab must be up ({labFile} missing): dotnet run --project src/PgHaConsole.Lab -- up");
        using var lab = JsonDocument.Parse(await File.ReadAllTextAsync(labFile));
        var expected = lab.RootElement.GetProperty("nodes").EnumerateArray()
            .ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("hostKeySha256").GetString()!.Replace("SHA256:", "", StringComparison.Ordinal));

        await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>
        {
            ["PgHaConsole__Bootstrap__AdminPassword"] = AdminPassword,
            ["PgHaConsole__Lab__LabFile"] = labFile,
        });
        var (playwright, browser) = await Browser.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();
        await Browser.SignInAsync(page, console.BaseUri, "admin", AdminPassword);

        await page.GotoAsync(new Uri(console.BaseUri, "clusters").ToString());
        await Browser.WaitInteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=no-clusters]")).ToBeVisibleAsync();
        await page.Locator("[data-testid=import-lab]").ClickAsync();
        // The dialog is pre-filled from the configured lab.json.
        await Assertions.Expect(page.Locator("[data-testid=import-json]")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("198\\.18\\.4\\.251"));
        await page.Locator("[data-testid=import-submit]").ClickAsync();

        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex("/clusters/[0-9a-f-]{36}$"), new() { Timeout = 30_000 });
        await Browser.WaitInteractiveAsync(page);
        await page.Locator("[data-testid=test-connection]").ClickAsync();
        var report = page.Locator("[data-testid=connection-report]");
        await Assertions.Expect(report).ToBeVisibleAsync(new() { Timeout = 60_000 });

        foreach (var (node, fingerprint) in expected)
        {
            var card = page.Locator($"[data-testid=node-card-{node}]");
            await Assertions.Expect(card.Locator("[data-testid=fingerprint]")).ToHaveTextAsync($"SHA256:{fingerprint}");
            await Assertions.Expect(card).ToContainTextAsync("connected, key pinned");
            await Assertions.Expect(card).ToContainTextAsync("HAProxy");
        }

        // pg1 runs the lab's standalone PostgreSQL; pg2 has none yet.
        await Assertions.Expect(page.Locator("[data-testid=node-card-pg1]")).ToContainTextAsync("/data10/pgdata");
        await Assertions.Expect(page.Locator("[data-testid=node-card-pg2]")).ToContainTextAsync("no postmaster");
    }
}
