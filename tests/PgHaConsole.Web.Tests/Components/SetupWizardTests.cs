using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Bunit;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Web.Components.Controls.Operations;
using PgHaConsole.Web.Components.Pages;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>The setup wizard: its rules (no rendering), the plan as shown, and the page without SSH.</summary>
public sealed class SetupWizardTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static OperationPlanView Plan(string? wipeHost) => new(Guid.NewGuid(), "setup",
    [
        new PlannedStepView(1, "preflight", "Checks both hosts", [new PlannedAction { Host = "pg1", Command = "timeout 30 psql -Atc 'select version()'" }], null),
        new PlannedStepView(4, "pg-hba", "Allows replication",
        [
            new PlannedAction
            {
                Host = "pg1",
                FilePath = "/data10/pgdata/pg_hba.conf",
                Diff = "--- /data10/pgdata/pg_hba.conf\n+++ /data10/pgdata/pg_hba.conf\n@@ -1,2 +1,3 @@\n local all all peer\n-host all all 0.0.0.0/0 trust\n+host replication repli 198.18.4.248/32 scram-sha-256\n",
                Note = "replication from pg2",
            },
        ], null),
        new PlannedStepView(6, "clone-standby", "Clones the primary onto the standby",
            wipeHost is null ? [] : [new PlannedAction { Host = wipeHost, Note = "WILL REMOVE /data10/pgdata on pg2: 3 files (12 kB)", WipesData = true }], null),
        new PlannedStepView(9, "keepalived", "Configures keepalived", [], "pg2: connection refused"),
    ])
    { WipeConfirmationHost = wipeHost };

    // ---- rules ----

    [Theory]
    [InlineData("--- a/pg_hba.conf", DiffLineKind.Header)]
    [InlineData("+++ b/pg_hba.conf", DiffLineKind.Header)]
    [InlineData("@@ -1,2 +1,3 @@", DiffLineKind.Hunk)]
    [InlineData("+host replication repli 198.18.4.248/32 scram-sha-256", DiffLineKind.Added)]
    [InlineData("-host all all 0.0.0.0/0 trust", DiffLineKind.Removed)]
    [InlineData(" local all all peer", DiffLineKind.Context)]
    [InlineData("", DiffLineKind.Context)]
    [InlineData("(unchanged)", DiffLineKind.Context)]
    public void Diff_lines_are_classified(string line, DiffLineKind expected) => Assert.Equal(expected, SetupWizardModel.Classify(line));

    [Fact]
    public void Diff_classes_colour_added_and_removed_lines()
    {
        Assert.Equal("mud-success-text", SetupWizardModel.DiffLineClass(DiffLineKind.Added));
        Assert.Equal("mud-error-text", SetupWizardModel.DiffLineClass(DiffLineKind.Removed));
        Assert.Equal(string.Empty, SetupWizardModel.DiffLineClass(DiffLineKind.Context));
        var lines = SetupWizardModel.DiffLines("--- x\r\n+++ x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n");
        Assert.Equal([DiffLineKind.Header, DiffLineKind.Header, DiffLineKind.Hunk, DiffLineKind.Removed, DiffLineKind.Added], lines.Select(l => l.Kind));
        Assert.Empty(SetupWizardModel.DiffLines(null));
    }

    [Fact]
    public void Run_needs_an_admin_and_a_plan()
    {
        var plan = Plan(null);
        Assert.False(SetupWizardModel.CanRun(isAdmin: true, plan: null, typedConfirmation: null, busy: false));
        Assert.False(SetupWizardModel.CanRun(isAdmin: false, plan, null, busy: false));
        Assert.False(SetupWizardModel.CanRun(isAdmin: true, plan, null, busy: true));
        Assert.True(SetupWizardModel.CanRun(isAdmin: true, plan, null, busy: false));
    }

    [Fact]
    public void Run_with_a_wipe_needs_the_host_name_typed_exactly()
    {
        var plan = Plan("pg2");
        Assert.False(SetupWizardModel.CanRun(true, plan, null, false));
        Assert.False(SetupWizardModel.CanRun(true, plan, "pg", false));
        Assert.False(SetupWizardModel.CanRun(true, plan, "PG2", false));
        Assert.False(SetupWizardModel.CanRun(true, plan, "pg2 ", false));
        Assert.True(SetupWizardModel.CanRun(true, plan, "pg2", false));
        Assert.Equal(["WILL REMOVE /data10/pgdata on pg2: 3 files (12 kB)"], SetupWizardModel.WipeNotes(plan));
    }

    [Fact]
    public void Parameters_carry_the_confirmation_only_when_the_plan_asked()
    {
        var withWipe = SetupWizardModel.Parameters(true, Plan("pg2"), "pg2");
        Assert.True(withWipe.InstallPackages);
        Assert.Equal("pg2", withWipe.ConfirmWipeHost);
        Assert.Null(SetupWizardModel.Parameters(false, Plan(null), "pg2").ConfirmWipeHost);
    }

    private static OperationView Op(string status, string? error, params (string Name, string Status, string? Message)[] steps) => new(
        Guid.NewGuid(), Guid.NewGuid(), "setup", status, steps.Length, "alice", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, error,
        [.. steps.Select((s, i) => new OperationStepView(i + 1, s.Name, s.Status, null, null, s.Message))], null);

    [Fact]
    public void Resume_asks_for_the_host_only_after_a_refused_wipe()
    {
        const string refusal = "Refusing to remove data: x. Nothing was changed. If this data may go, run the wizard again and type 'pg2' to confirm.";
        var wipe = Op("failed", "Step 6 (clone-standby) failed: " + refusal, ("preflight", "succeeded", null), ("clone-standby", "failed", refusal));
        Assert.Equal("pg2", SetupWizardModel.ResumeWipeHost(wipe));
        Assert.False(SetupWizardModel.CanResume(true, wipe, null, false));
        Assert.False(SetupWizardModel.CanResume(true, wipe, "pg1", false));
        Assert.True(SetupWizardModel.CanResume(true, wipe, "pg2", false));
        Assert.False(SetupWizardModel.CanResume(false, wipe, "pg2", false));
        Assert.Equal("""{"confirmWipeHost":"pg2"}""", SetupWizardModel.ResumeParameters("pg2", "pg2").GetRawText());

        var other = Op("interrupted", "Interrupted at step 2 (firewall): the console stopped.", ("preflight", "succeeded", null), ("firewall", "running", null));
        Assert.Null(SetupWizardModel.ResumeWipeHost(other));
        Assert.True(SetupWizardModel.CanResume(true, other, null, false));
        Assert.Equal(JsonValueKind.Object, SetupWizardModel.ResumeParameters(null, null).ValueKind);
        Assert.Equal("{}", SetupWizardModel.ResumeParameters(null, null).GetRawText());

        Assert.False(SetupWizardModel.CanResume(true, Op("running", null, ("preflight", "running", null)), null, false));
        Assert.False(SetupWizardModel.CanResume(true, Op("succeeded", null, ("preflight", "succeeded", null)), null, false));
    }

    [Fact]
    public void Statuses_durations_and_log_buffer()
    {
        Assert.Equal(MudBlazor.Color.Success, SetupWizardModel.StatusColor("succeeded"));
        Assert.Equal(MudBlazor.Color.Error, SetupWizardModel.StatusColor("failed"));
        Assert.Equal(MudBlazor.Color.Warning, SetupWizardModel.StatusColor("interrupted"));
        Assert.Equal("1.5 s", SetupWizardModel.Duration(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(1.5), DateTimeOffset.UnixEpoch));
        Assert.Equal("2 min 05 s", SetupWizardModel.Duration(DateTimeOffset.UnixEpoch, null, DateTimeOffset.UnixEpoch.AddSeconds(125)));
        Assert.Equal(string.Empty, SetupWizardModel.Duration(null, null, DateTimeOffset.UnixEpoch));

        var buffer = new OperationLogBuffer(capacity: 3) { CloneStepOrdinal = 6 };
        Assert.True(buffer.Add(new OperationLogLine(1, DateTimeOffset.UnixEpoch, 1, null, LogStream.Info, "Step 1")));
        Assert.False(buffer.Add(new OperationLogLine(2, DateTimeOffset.UnixEpoch, 1, "pg1", LogStream.Stdout, "x")));
        Assert.False(buffer.Add(new OperationLogLine(2, DateTimeOffset.UnixEpoch, 1, "pg1", LogStream.Stdout, "x")), "duplicate dropped");
        Assert.False(buffer.Add(new OperationLogLine(3, DateTimeOffset.UnixEpoch, 1, "pg2", LogStream.Stderr, "1/2 kB (50%), 0/1 tablespace")));
        Assert.Null(buffer.Progress); // not the clone step
        Assert.True(buffer.Add(new OperationLogLine(4, DateTimeOffset.UnixEpoch, 6, "pg2", LogStream.Stderr, "30890/30890 kB (100%), 1/1 tablespace")));
        Assert.Equal(100, buffer.Progress!.Percent);
        Assert.Equal(3, buffer.Count);
        Assert.Equal([2L, 3L, 4L], buffer.Snapshot().Select(l => l.Seq));
    }

    // ---- rendering ----

    [Fact]
    public async Task Plan_view_shows_commands_coloured_diffs_notes_and_errors()
    {
        await using var host = await OperationTestHost.CreateAsync();
        var cut = host.Ctx.Render<SetupPlanView>(p => p.Add(x => x.Plan, Plan("pg2")));

        var steps = cut.FindAll("[data-testid=plan-step]");
        Assert.Equal(["preflight", "pg-hba", "clone-standby", "keepalived"], steps.Select(s => s.GetAttribute("data-step-name")));
        Assert.Equal("timeout 30 psql -Atc 'select version()'", cut.Find("[data-testid=plan-command]").TextContent);
        var diff = cut.Find("[data-testid=plan-diff]");
        Assert.Contains("mud-success-text", diff.QuerySelector("[data-diff=added]")!.ClassName, StringComparison.Ordinal);
        Assert.Contains("198.18.4.248/32", diff.QuerySelector("[data-diff=added]")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("mud-error-text", diff.QuerySelector("[data-diff=removed]")!.ClassName, StringComparison.Ordinal);
        Assert.Contains("WILL REMOVE", steps[2].TextContent, StringComparison.Ordinal);
        Assert.Contains("pg2: connection refused", steps[3].QuerySelector("[data-testid=plan-step-error]")!.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_clusters_the_page_points_to_clusters()
    {
        await using var host = await OperationTestHost.CreateAsync();
        host.SignIn("ada", "Admin");

        var cut = host.Ctx.Render<Setup>();

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=no-clusters]")), Wait);
        Assert.Equal("/clusters", cut.Find("[data-testid=no-clusters] a").GetAttribute("href"));
        Assert.Empty(cut.FindAll("[data-testid=setup-run]"));
    }

    [Fact]
    public async Task Run_is_disabled_until_a_plan_was_shown()
    {
        await using var host = await OperationTestHost.CreateAsync();
        await host.AddClusterAsync("first");
        await host.AddClusterAsync("second");
        host.SignIn("ada", "Admin");

        var cut = host.Ctx.Render<Setup>();

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=setup-run]")), Wait);
        Assert.True(cut.Find("[data-testid=setup-run]").HasAttribute("disabled"));
        Assert.False(cut.Find("[data-testid=setup-show-plan]").HasAttribute("disabled"));
        Assert.NotNull(cut.Find("[data-testid=setup-install-packages]"));
        Assert.Contains("first", cut.Markup, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=plan-step]"));
    }

    [Fact]
    public async Task A_viewer_sees_no_run_button()
    {
        await using var host = await OperationTestHost.CreateAsync();
        await host.AddClusterAsync();
        host.SignIn("victor", "Viewer");

        var cut = host.Ctx.Render<Setup>();

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=setup-admin-only]")), Wait);
        Assert.Empty(cut.FindAll("[data-testid=setup-run]"));
    }

    [Fact]
    public async Task Show_plan_without_pinned_host_keys_shows_every_step_with_why()
    {
        // No host key is pinned, so no connection is even attempted: each step's plan says why it could not be computed.
        await using var host = await OperationTestHost.CreateAsync();
        await host.AddClusterAsync();
        host.SignIn("ada", "Admin");
        var cut = host.Ctx.Render<Setup>();
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=setup-show-plan]")), Wait);

        await cut.Find("[data-testid=setup-show-plan]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Equal(11, cut.FindAll("[data-testid=plan-step]").Count), TimeSpan.FromSeconds(60));
        Assert.Equal(PgHaConsole.Infrastructure.Setup.SetupOperation.StepNames, cut.FindAll("[data-testid=plan-step]").Select(s => s.GetAttribute("data-step-name")));
        var errors = cut.FindAll("[data-testid=plan-step-error]");
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.TextContent.Contains("No SSH host key is pinned for pg1", StringComparison.Ordinal));
        Assert.Empty(cut.FindAll("[data-testid=setup-planning]"));
        Assert.Empty(cut.FindAll("[data-testid=setup-confirm-wipe]"));
        // A plan was shown and nothing asks for a wipe: an admin may run (preflight will then stop on the same reason).
        Assert.False(cut.Find("[data-testid=setup-run]").HasAttribute("disabled"));
    }

    // ---- the application's client networks ----

    [Fact]
    public void The_networks_field_is_read_as_the_api_reads_it()
    {
        var ok = SetupWizardModel.ReadClientNetworks("10.20.0.0/16\n2001:db8::/32", allowAny: false);
        Assert.True(ok.Valid);
        Assert.Equal(["10.20.0.0/16", "2001:db8::/32"], ok.Cidrs);
        var parameters = SetupWizardModel.Parameters(false, null, null, ok);
        Assert.Equal(["10.20.0.0/16", "2001:db8::/32"], parameters.ClientCidrs);
        Assert.False(parameters.AllowAnyClientAddress);

        var bad = SetupWizardModel.ReadClientNetworks("10.20.0.0/16, 10.20.0.0/33", allowAny: false);
        Assert.False(bad.Valid);
        Assert.StartsWith("Entry 2: ", Assert.Single(bad.Errors), StringComparison.Ordinal);

        var any = SetupWizardModel.ReadClientNetworks("0.0.0.0/0", allowAny: false);
        Assert.False(any.Valid);
        Assert.Equal(["0.0.0.0/0"], any.AnyAddress);
        Assert.True(SetupWizardModel.ReadClientNetworks("0.0.0.0/0", allowAny: true).Valid);
    }

    private static AngleSharp.Dom.IElement CheckBoxInput(IRenderedComponent<Setup> cut)
    {
        var e = cut.Find("[data-testid=setup-allow-any]");
        return e.TagName == "INPUT" ? e : e.QuerySelector("input")!;
    }

    [Fact]
    public async Task The_wizard_asks_for_the_networks_validates_them_and_wants_consent_for_any_address()
    {
        await using var host = await OperationTestHost.CreateAsync();
        var id = await host.AddClusterAsync();
        await host.Ctx.Services.GetRequiredService<PgHaConsole.Infrastructure.Store.IClusterRepository>()
            .SetClientCidrsAsync(id, ["192.168.10.0/24"], CancellationToken.None);
        host.SignIn("ada", "Admin");
        var cut = host.Ctx.Render<Setup>();
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=setup-client-cidrs]")), Wait);

        // Pre-filled with what is stored with the cluster.
        Assert.Equal("192.168.10.0/24", cut.Find("[data-testid=setup-client-cidrs]").GetAttribute("value") ?? cut.Find("[data-testid=setup-client-cidrs]").TextContent);
        Assert.False(cut.Find("[data-testid=setup-show-plan]").HasAttribute("disabled"));

        // A bad entry: named, and no plan until it is fixed.
        cut.Find("[data-testid=setup-client-cidrs]").Input("192.168.10.0/24\n10.20.1.0/16");
        cut.WaitForAssertion(() => Assert.Contains("Entry 2: 10.20.1.0/16 has host bits set", cut.Find("[data-testid=setup-client-cidrs-errors]").TextContent, StringComparison.Ordinal), Wait);
        Assert.True(cut.Find("[data-testid=setup-show-plan]").HasAttribute("disabled"));

        // Any address: a warning, and the plan only after the explicit consent.
        cut.Find("[data-testid=setup-client-cidrs]").Input("0.0.0.0/0");
        cut.WaitForAssertion(() => Assert.Contains("means any address", cut.Find("[data-testid=setup-any-address-warning]").TextContent, StringComparison.Ordinal), Wait);
        Assert.True(cut.Find("[data-testid=setup-show-plan]").HasAttribute("disabled"));
        Assert.Contains("allowAnyClientAddress", cut.Find("[data-testid=setup-client-cidrs-errors]").TextContent, StringComparison.Ordinal);
        CheckBoxInput(cut).Change(true);
        cut.WaitForAssertion(() => Assert.False(cut.Find("[data-testid=setup-show-plan]").HasAttribute("disabled")), Wait);
        Assert.Empty(cut.FindAll("[data-testid=setup-client-cidrs-errors]"));
        Assert.NotNull(cut.Find("[data-testid=setup-any-address-warning]"));

        // The plan shows the endpoints and the lines for what was typed (HAProxy: the node addresses, then the network).
        await cut.Find("[data-testid=setup-show-plan]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=plan-access]")), TimeSpan.FromSeconds(60));
        Assert.Equal(["writes", "reads", "direct", "direct"], cut.FindAll("[data-testid=plan-endpoint]").Select(e => e.GetAttribute("data-purpose")));
        Assert.Contains("198.18.4.251:5432", cut.FindAll("[data-testid=plan-endpoint]")[0].TextContent, StringComparison.Ordinal);
        Assert.Contains("HAProxy (frontend pg_write) listens on 198.18.4.251:5432", cut.FindAll("[data-testid=plan-endpoint]")[0].TextContent, StringComparison.Ordinal);
        var lines = cut.FindAll("[data-testid=plan-hba-line]").Select(l => l.TextContent).ToList();
        Assert.Contains(lines, l => l.Contains("0.0.0.0/0", StringComparison.Ordinal) && l.Contains("scram-sha-256", StringComparison.Ordinal));
        Assert.Contains(cut.FindAll("[data-testid=plan-access-warning]"), w => w.TextContent.Contains("every IPv4 address", StringComparison.Ordinal));
    }
}
