using Bunit;
using PgHaConsole.Web.Components.Controls.Operations;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>The Rotate panel on the Setup page: thin over OperationService (the API's own path, tested in RotateSecretApiTests).</summary>
public sealed class RotateSecretPanelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Only_an_admin_can_press_rotate()
    {
        await using var host = await OperationTestHost.CreateAsync();
        var id = await host.AddClusterAsync();
        host.SignIn("olga", "Operator");

        var cut = host.Ctx.Render<RotateSecretPanel>(p => p.Add(x => x.ClusterId, id).Add(x => x.IsAdmin, false).Add(x => x.Actor, "olga"));

        Assert.True(cut.Find("[data-testid=rotate-run]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task A_wrong_name_is_shown_on_its_field_and_the_right_one_gets_the_preflights_refusal_nothing_is_queued()
    {
        await using var host = await OperationTestHost.CreateAsync();
        var id = await host.AddClusterAsync("pg-main");
        host.SignIn("ada", "Admin");
        var cut = host.Ctx.Render<RotateSecretPanel>(p => p.Add(x => x.ClusterId, id).Add(x => x.IsAdmin, true).Add(x => x.Actor, "ada"));

        await cut.InvokeAsync(() => cut.Find("[data-testid=rotate-confirm]").Change("pg-mian"));
        await cut.Find("[data-testid=rotate-run]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Contains("Type the cluster's name ('pg-main') to confirm the rotation.", cut.Markup, StringComparison.Ordinal), Wait);
        Assert.Empty(cut.FindAll("[data-testid=rotate-error]"));

        // The hosts refuse SSH at once (closed loopback ports): the preflight's 409 is shown, nothing starts.
        await cut.InvokeAsync(() => cut.Find("[data-testid=rotate-confirm]").Change("pg-main"));
        await cut.Find("[data-testid=rotate-run]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Contains("The rotation was refused before anything changed", cut.Find("[data-testid=rotate-error]").TextContent, StringComparison.Ordinal), Wait);
        Assert.DoesNotContain("('pg-main') to confirm the rotation.", cut.Markup, StringComparison.Ordinal);
        Assert.Empty(await host.Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Empty(host.Jobs.Created);
    }
}
