using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Store;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Failover;

/// <summary>
/// The refusal the preflight rules only unit-test: the primary is lost (<c>kill -9</c> of its postmaster) while the
/// standby cannot be reached either (its link down). The on-call button must refuse at its preflight, say why, and
/// touch nothing: no fence, no promotion. The pair is restored (standby back, the primary's PostgreSQL started again)
/// for whichever test of the shared pair comes next.
/// </summary>
[Collection(FailoverCollection.Name)]
public sealed class FailoverRefusalLabTests(FailoverPairFixture pair, ITestOutputHelper output)
{
    private const string PgCtl = "/usr/lib/postgresql/15/bin/pg_ctl";
    private const string DataDir = "/data10/pgdata";
    private const string FenceFile = "/etc/keepalived/pghaconsole-fenced";

    private async Task<string> RunAsync(string host, CancellationToken ct, params string[] argv)
    {
        var r = await pair.ExecAsync(host, ct, argv);
        output.WriteLine($"[{host}] {string.Join(' ', argv)} → {r.ExitCode} {r.StandardOutput.Trim()} {r.StandardError.Trim()}");
        return r.StandardOutput.Trim();
    }

    private Task<string> Sql(string host, string sql, CancellationToken ct) =>
        RunAsync(host, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", sql);

    private static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting for " + what);
            await Task.Delay(200, ct);
        }
    }

    [Fact]
    public async Task A_lost_primary_with_an_unreachable_standby_is_refused_at_the_preflight_and_nothing_is_touched()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(5)).Token;
        var ops = await pair.Get<IOperationJournal>().ListByClusterAsync(pair.Cluster.Id, 50, ct);
        if (!ops.Any(o => o.Kind == SetupOperation.Kind && o.Status == OperationStatus.Succeeded))
        {
            var setup = await pair.RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
            Assert.True(setup.Status == OperationStatus.Succeeded, await pair.LogTextAsync(setup.Id, ct));
        }

        // Automatic failover off: only the button is under test (and nothing may promote while the pair is restored).
        await pair.Get<IFailoverPolicyStore>().SaveAsync(pair.Cluster.Id, FailoverPolicy.Default, "test", ct);
        pair.Get<FailoverWitness>().ForgetPolicy(pair.Cluster.Id);
        var (primary, standby) = await Sql("pg1", "SELECT pg_is_in_recovery()", ct) == "f" ? ("pg1", "pg2") : ("pg2", "pg1");
        await WaitAsync("the standby streaming", async () => await Sql(primary, $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'", ct) == "streaming", TimeSpan.FromSeconds(30), ct);

        await RunAsync(primary, ct, "bash", "-c", $"kill -9 \"$(head -n 1 {DataDir}/postmaster.pid)\"");
        await RunAsync(standby, ct, "ip", "link", "set", "mgt", "down");
        OperationRecord op;
        string log;
        try
        {
            op = await pair.RunAsync(FailoverOperation.Kind, new FailoverParameters { Confirm = pair.Cluster.Name, From = primary, To = standby }, ct);
            log = await pair.LogTextAsync(op.Id, ct);
            output.WriteLine(log);
        }
        finally
        {
            await RunAsync(standby, ct, "ip", "link", "set", "mgt", "up");
        }

        // Refused at its first step (the preflight), naming the standby that does not answer; no later step ran.
        Assert.Equal(OperationStatus.Failed, op.Status);
        Assert.Equal(StepStatus.Failed, op.Steps[0].Status);
        Assert.All(op.Steps.Skip(1), s => Assert.Equal(StepStatus.Pending, s.Status));
        Assert.Contains("no node runs as a standby", op.Error ?? "", StringComparison.Ordinal);
        Assert.Contains($"{standby}: SSH does not answer", op.Error ?? "", StringComparison.Ordinal);
        Assert.Contains("[FAIL] standby", log, StringComparison.Ordinal);

        // Nothing touched: neither node fenced, the standby still a standby, no promotion.
        Assert.Equal("", await RunAsync(primary, ct, "bash", "-c", $"[ -e {FenceFile} ] && echo fenced; true"));
        Assert.Equal("", await RunAsync(standby, ct, "bash", "-c", $"[ -e {FenceFile} ] && echo fenced; true"));
        Assert.Equal("t", await Sql(standby, "SELECT pg_is_in_recovery()", ct));

        // Restore: the old primary's PostgreSQL started again (it was never fenced, so it is the primary), the standby streams.
        await RunAsync(primary, ct, "runuser", "-u", "postgres", "--", "bash", "-c", $"{PgCtl} -D {DataDir} -l /data10/postgresql.log -w start </dev/null >/dev/null 2>&1; echo $?");
        Assert.Equal("f", await Sql(primary, "SELECT pg_is_in_recovery()", ct));
        await WaitAsync("the standby streaming again", async () => await Sql(primary, $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'", ct) == "streaming", TimeSpan.FromSeconds(60), ct);
        await WaitAsync("the write VIP back on the primary", async () =>
            (await pair.ExecAsync(primary, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains($" {pair.Cluster.WriteVip}/", StringComparison.Ordinal), TimeSpan.FromSeconds(30), ct);
    }
}
