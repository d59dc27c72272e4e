using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Switchover;

[CollectionDefinition(Name)]
public sealed class SwitchoverCollection : ICollectionFixture<PairFixture>
{
    public const string Name = "switchover";
}

/// <summary>A pair built by the wizard, switched over and back, with a client writing through the write VIP throughout.</summary>
[Collection(SwitchoverCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class SwitchoverTests(PairFixture pair, ITestOutputHelper output)
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    private async Task EnsurePairAsync(CancellationToken ct)
    {
        var ops = await pair.Get<IOperationJournal>().ListByClusterAsync(pair.Cluster.Id, 50, ct);
        if (!ops.Any(o => o.Kind == SetupOperation.Kind && o.Status == OperationStatus.Succeeded))
        {
            var setup = await pair.RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
            Assert.True(setup.Status == OperationStatus.Succeeded, await pair.LogTextAsync(setup.Id, ct));
        }
    }

    private async Task<OperationRecord> SwitchAsync(string from, string to, CancellationToken ct)
    {
        var op = await pair.RunAsync(SwitchoverOperation.Kind, new SwitchoverParameters { Confirm = pair.Cluster.Name, From = from, To = to }, ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        output.WriteLine(op.ReportJson);
        Assert.True(op.Status == OperationStatus.Succeeded, $"{from} → {to} ended {op.Status}: {op.Error}");
        return op;
    }

    private async Task AssertRolesAsync(string primary, string standby, CancellationToken ct)
    {
        Assert.Equal("f", (await pair.ExecAsync(primary, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_is_in_recovery()")).StandardOutput.Trim());
        Assert.Equal("t", (await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_is_in_recovery()")).StandardOutput.Trim());
        var streaming = await pair.ExecAsync(primary, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'");
        Assert.Equal("streaming", streaming.StandardOutput.Trim());
        Assert.Contains("198.18.4.251/", (await pair.ExecAsync(primary, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("198.18.4.251/", (await pair.ExecAsync(standby, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput, StringComparison.Ordinal);
    }

    [Fact, TestPriority(1)]
    public async Task A_switchover_and_back_swaps_the_roles_moves_the_vips_and_loses_no_acknowledged_write()
    {
        var ct = Timeout();
        await EnsurePairAsync(ct);
        var first = await SwitchAsync("pg1", "pg2", ct);
        await AssertRolesAsync("pg2", "pg1", ct);
        using (var report = JsonDocument.Parse(first.ReportJson!))
        {
            var probe = report.RootElement.GetProperty("writeProbe");
            Assert.True(probe.GetProperty("acknowledged").GetInt64() > 10);
            output.WriteLine($"longest write gap pg1→pg2: {probe.GetProperty("longestGapSeconds").GetDouble()} s");
        }

        // Every write the probe was told about is on the new primary (timeline switch lost nothing).
        var acked = (await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT count(*) FROM pghaconsole.heartbeat WHERE written_by = 'switchover-probe'")).StandardOutput.Trim();
        Assert.True(long.Parse(acked, System.Globalization.CultureInfo.InvariantCulture) > 10);

        var back = await SwitchAsync("pg2", "pg1", ct);
        await AssertRolesAsync("pg1", "pg2", ct);
        Assert.Contains("no rewind needed", await pair.LogTextAsync(back.Id, ct), StringComparison.Ordinal);
    }

    [Fact, TestPriority(2)]
    public async Task B_a_refused_preflight_changes_nothing()
    {
        var ct = Timeout();
        await EnsurePairAsync(ct);
        // Asked from the standby: the preflight sees pg1 is the primary and stops before fencing anything.
        var op = await pair.RunAsync(SwitchoverOperation.Kind, new SwitchoverParameters { Confirm = pair.Cluster.Name, From = "pg2", To = "pg1" }, ct);
        Assert.Equal(OperationStatus.Failed, op.Status);
        Assert.Equal(StepStatus.Failed, op.Steps[0].Status);
        Assert.All(op.Steps.Skip(1), s => Assert.Equal(StepStatus.Pending, s.Status));
        await AssertRolesAsync("pg1", "pg2", ct);
    }
}
