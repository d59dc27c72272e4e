using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Failover;
using PgHaConsole.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Reboot;

[CollectionDefinition(Name)]
public sealed class RebootCollection : ICollectionFixture<FailoverPairFixture>
{
    public const string Name = "reboot";
}

/// <summary>
/// Host restarts of a pair built by the wizard (one set-up shared by the three tests, in order): the lab's
/// <c>restart-host</c> kills every process of the host by PID, drops its network state (VIPs, sysctls) and boots it,
/// starting only what the host enables at boot. A: the standby's host; B: the primary's host, nothing failed over;
/// C: the primary's host lost, failed over to the standby, then booted: it must come back read-only and fenced, never a
/// second writable primary behind a VIP, until the console's rejoin.
/// </summary>
[Collection(RebootCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class RebootTests(FailoverPairFixture pair, ITestOutputHelper output)
{
    private const string FenceFile = "/etc/keepalived/pghaconsole-fenced";
    private static readonly TimeSpan BootWait = TimeSpan.FromSeconds(90);

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(6)).Token;

    private async Task<string> RunAsync(string host, CancellationToken ct, params string[] argv)
    {
        var r = await pair.ExecAsync(host, ct, argv);
        output.WriteLine($"[{host}] {string.Join(' ', argv)} → {r.ExitCode} {r.StandardOutput.Trim()} {r.StandardError.Trim()}");
        return r.StandardOutput.Trim();
    }

    private Task<string> Sql(string host, string sql, CancellationToken ct) =>
        RunAsync(host, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", sql);

    private async Task<(string Primary, string Standby)> RolesAsync(CancellationToken ct) =>
        await Sql("pg1", "SELECT pg_is_in_recovery()", ct) == "f" ? ("pg1", "pg2") : ("pg2", "pg1");

    private async Task<bool> HoldsAsync(string host, string vip, CancellationToken ct) =>
        (await pair.ExecAsync(host, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains($" {vip}/", StringComparison.Ordinal);

    private async Task<bool> DaemonRunsAsync(string host, string pidFile, string comm, CancellationToken ct) =>
        (await pair.ExecAsync(host, ct, "bash", "-c", "p=$(head -n 1 -- \"$1\" 2>/dev/null | tr -dc 0-9); [ -n \"$p\" ] && [ \"$(cat /proc/$p/comm 2>/dev/null)\" = \"$2\" ]", "-", pidFile, comm)).ExitCode == 0;

    private async Task<bool> StreamsAsync(string primary, string standby, CancellationToken ct) =>
        (await pair.ExecAsync(primary, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'"))
            .StandardOutput.Trim() == "streaming";

    private async Task<bool> FencedAsync(string host, CancellationToken ct) =>
        (await pair.ExecAsync(host, ct, "test", "-e", FenceFile)).ExitCode == 0;

    private string AddressOf(string node) => pair.Cluster.Nodes.Single(n => n.Name == node).Address;

    private async Task<string> MonitorPasswordAsync(CancellationToken ct) =>
        (await pair.Get<ClusterEnvironmentFactory>().CreateAsync(pair.Cluster.Id, ct))!.Secrets.MonitorPassword!;

    /// <summary>What answers at <paramref name="address"/> (a node or a VIP): the server's address and whether it is in recovery; null when nothing answers.</summary>
    private async Task<(string Server, bool InRecovery)?> ProbeAsync(string address, string password, CancellationToken ct)
    {
        var cs = NodeConnections.Monitor(pair.Cluster, address, password, "reboot-test", timeout: 1, commandTimeout: 2).ConnectionString;
        try
        {
            await using var conn = new NpgsqlConnection(cs);
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT host(inet_server_addr()), pg_is_in_recovery()", conn);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetString(0), reader.GetBoolean(1));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return null;
        }
    }

    private async Task<string?> WriteThroughVipAsync(string password, CancellationToken ct)
    {
        var cs = NodeConnections.Monitor(pair.Cluster, pair.Cluster.WriteVip, password, "reboot-test", timeout: 1, commandTimeout: 3).ConnectionString;
        try
        {
            await using var conn = new NpgsqlConnection(cs);
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('reboot-test') RETURNING host(inet_server_addr())", conn);
            return (string?)await cmd.ExecuteScalarAsync(ct);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            return null;
        }
    }

    private async Task RestartAsync(string host, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        await pair.Controller.RestartHostAsync(host, ct);
        output.WriteLine($"{host} restarted (sshd answers) in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact, TestPriority(1)]
    public async Task A_a_restarted_standby_host_comes_back_streaming_with_keepalived_haproxy_and_serving_reads()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var (primary, standby) = await RolesAsync(ct);
        var password = await MonitorPasswordAsync(ct);
        var postmasterBefore = await RunAsync(standby, ct, "head", "-n", "1", "/data10/pgdata/postmaster.pid");

        await RestartAsync(standby, ct);

        // A new postmaster (the old one was killed with the host), streaming; HAProxy could bind the VIPs it does not
        // hold only because the host's boot applied its /etc/sysctl.d again (the namespace, and its sysctls, are new).
        Assert.False(await HoldsAsync(standby, pair.Cluster.WriteVip, ct));
        await PairFixture.WaitUntilAsync("the standby streaming again", async () => await StreamsAsync(primary, standby, ct), BootWait, ct, output);
        Assert.Equal("t", await Sql(standby, "SELECT pg_is_in_recovery()", ct));
        Assert.NotEqual(postmasterBefore, await RunAsync(standby, ct, "head", "-n", "1", "/data10/pgdata/postmaster.pid"));
        await PairFixture.WaitUntilAsync("keepalived and HAProxy running on the standby", async () =>
            await DaemonRunsAsync(standby, "/run/keepalived.pid", "keepalived", ct) && await DaemonRunsAsync(standby, "/run/haproxy.pid", "haproxy", ct), BootWait, ct, output);
        Assert.Equal("1", await RunAsync(standby, ct, "sysctl", "-n", "net.ipv4.ip_nonlocal_bind"));
        Assert.False(await FencedAsync(standby, ct));

        // Reads through the read VIP reach the restarted standby again (HAProxy balances over both nodes).
        await PairFixture.WaitUntilAsync("a read through the read VIP answered by the standby", async () =>
            await ProbeAsync(pair.Cluster.ReadVip, password, ct) is { } answer && answer.Server == AddressOf(standby), BootWait, ct, output);
        Assert.Equal(AddressOf(primary), await WriteThroughVipAsync(password, ct));
    }

    [Fact, TestPriority(2)]
    public async Task B_a_restarted_primary_host_with_no_failover_comes_back_as_the_primary_with_the_write_vip()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var (primary, standby) = await RolesAsync(ct);
        var password = await MonitorPasswordAsync(ct);

        await RestartAsync(primary, ct);
        var booted = Stopwatch.StartNew();

        // Its peer is a standby on the same timeline: the boot guard lets it start as the primary it was.
        await PairFixture.WaitUntilAsync("writes through the write VIP on the restarted primary", async () => await WriteThroughVipAsync(password, ct) == AddressOf(primary), BootWait, ct, output);
        output.WriteLine($"writes back {booted.Elapsed.TotalSeconds:0.0} s after the host answered SSH");
        Assert.Equal("f", await Sql(primary, "SELECT pg_is_in_recovery()", ct));
        Assert.Equal("t", await Sql(standby, "SELECT pg_is_in_recovery()", ct));
        Assert.True(await HoldsAsync(primary, pair.Cluster.WriteVip, ct));
        Assert.False(await HoldsAsync(standby, pair.Cluster.WriteVip, ct));
        Assert.False(await FencedAsync(primary, ct));
        await PairFixture.WaitUntilAsync("the standby streaming from it again", async () => await StreamsAsync(primary, standby, ct), BootWait, ct, output);
        await PairFixture.WaitUntilAsync("HAProxy and keepalived running on it", async () =>
            await DaemonRunsAsync(primary, "/run/keepalived.pid", "keepalived", ct) && await DaemonRunsAsync(primary, "/run/haproxy.pid", "haproxy", ct), BootWait, ct, output);
        Assert.Contains("no failover happened", await RunAsync(primary, ct, "bash", "-c", $"grep ' {primary} boot guard: ' /var/log/pghaconsole-keepalived.log | tail -n 1"), StringComparison.Ordinal);
    }

    [Fact, TestPriority(3)]
    public async Task C_a_primary_failed_over_while_its_host_was_down_boots_read_only_and_fenced_until_the_rejoin()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var (primary, standby) = await RolesAsync(ct);
        var password = await MonitorPasswordAsync(ct);
        await pair.StartWitnessAsync(ct);
        var env = (await pair.Get<ClusterEnvironmentFactory>().CreateAsync(pair.Cluster.Id, ct))!;
        await PairFixture.WaitUntilAsync("the console watching a caught-up standby", async () => await StreamsAsync(primary, standby, ct)
            && pair.Get<ITopologyMonitor>().GetLatest(pair.Cluster.Id) is { } t && t.Nodes.All(n => n.PgReachable), TimeSpan.FromSeconds(30), ct, output);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);

        // The primary's host is lost: every process, every address.
        await pair.Controller.PowerOffHostAsync(primary, ct);
        var lost = Stopwatch.StartNew();
        await PairFixture.WaitUntilAsync("the preflight allows the failover", async () => (await FailoverPreflight.RunAsync(env, new FailoverParameters(), ct)).CanFailOver, TimeSpan.FromSeconds(90), ct, output);
        var op = await pair.RunAsync(FailoverOperation.Kind, new FailoverParameters { Confirm = pair.Cluster.Name, From = primary, To = standby }, ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.True(op.Status == OperationStatus.Succeeded, op.Error);
        output.WriteLine($"failed over {lost.Elapsed.TotalSeconds:0.0} s after the host was lost");
        Assert.Equal(AddressOf(standby), await WriteThroughVipAsync(password, ct));

        // Watch every way in while the old primary boots: it must never answer as a primary, and the write VIP must
        // only ever lead to the new one.
        var seen = new ConcurrentQueue<string>();
        var violations = new ConcurrentQueue<string>();
        using var stopPolling = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            while (!stopPolling.IsCancellationRequested)
            {
                foreach (var (label, address) in new[] { ("old primary", AddressOf(primary)), ("write VIP", pair.Cluster.WriteVip), ("read VIP", pair.Cluster.ReadVip) })
                {
                    if (await ProbeAsync(address, password, CancellationToken.None) is not { } answer)
                    {
                        continue;
                    }

                    var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {label}: {answer.Server} {(answer.InRecovery ? "read-only" : "WRITABLE")}";
                    seen.Enqueue(line);
                    if (!answer.InRecovery && answer.Server != AddressOf(standby))
                    {
                        violations.Enqueue(line);
                    }
                }

                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        try
        {
            await pair.Controller.PowerOnHostAsync(primary, ct);
            var booted = Stopwatch.StartNew();
            await PairFixture.WaitUntilAsync("the old primary answering read-only", async () => await ProbeAsync(AddressOf(primary), password, ct) is { InRecovery: true }, BootWait, ct, output);
            Assert.True(await FencedAsync(primary, ct), "the old primary must carry the fence marker");
            output.WriteLine("old primary's WAL receiver: " + await Sql(primary, "SELECT coalesce((SELECT status || ' on timeline ' || received_tli FROM pg_stat_wal_receiver), 'none')", ct));
            // Fenced by its boot guard because the peer answered on a newer timeline (not merely because it did not answer).
            Assert.Contains("boot guard", await RunAsync(primary, ct, "cat", FenceFile), StringComparison.Ordinal);
            Assert.Contains("promoted while this node was down", await RunAsync(primary, ct, "cat", FenceFile), StringComparison.Ordinal);
            await PairFixture.WaitUntilAsync("keepalived running on the old primary", async () => await DaemonRunsAsync(primary, "/run/keepalived.pid", "keepalived", ct), BootWait, ct, output);

            // Its keepalived runs with failing checks: give VRRP time to do anything wrong it could.
            await Task.Delay(TimeSpan.FromSeconds(8), ct);
            output.WriteLine($"watched {booted.Elapsed.TotalSeconds:0.0} s of the boot");
            Assert.False(await HoldsAsync(primary, pair.Cluster.WriteVip, ct));
            Assert.False(await HoldsAsync(primary, pair.Cluster.ReadVip, ct));
            Assert.Equal(AddressOf(standby), await WriteThroughVipAsync(password, ct));
            await PairFixture.WaitUntilAsync("the topology showing it fenced, needs rejoin", async () => (await pair.Get<ITopologyMonitor>().ProbeNowAsync(pair.Cluster.Id, ct))!.Alarms
                .Any(a => a.Code == AlarmCodes.NodeFenced && a.Node == primary), TimeSpan.FromSeconds(30), ct, output);
        }
        finally
        {
            await stopPolling.CancelAsync();
            await poller;
            foreach (var line in seen.Where(l => l.Contains("old primary", StringComparison.Ordinal)).Take(3))
            {
                output.WriteLine(line);
            }

            // Reads through the read VIP may reach the fenced node (read-only): HAProxy's pgsql-check cannot see the fence.
            var readsOnOld = seen.Count(l => l.Contains("read VIP: " + AddressOf(primary), StringComparison.Ordinal));
            output.WriteLine($"{seen.Count} answers seen; {readsOnOld} reads through the read VIP answered by the fenced old primary");
        }

        Assert.True(seen.Count > 50, $"the poller saw only {seen.Count} answers");
        Assert.True(violations.IsEmpty, "a second writable primary: " + string.Join("; ", violations.Take(5)));

        // The rejoin brings it back (the console's pooled SSH connection to the restarted host may be dead: the
        // operator's second try gets a fresh one).
        var rejoin = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = primary }, ct);
        if (rejoin.Status != OperationStatus.Succeeded)
        {
            output.WriteLine("rejoin failed once: " + rejoin.Error);
            rejoin = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = primary }, ct);
        }

        Assert.True(rejoin.Status == OperationStatus.Succeeded, await pair.LogTextAsync(rejoin.Id, ct));
        Assert.False(await FencedAsync(primary, ct));
        await PairFixture.WaitUntilAsync("the old primary streaming from the new one", async () => await StreamsAsync(standby, primary, ct), TimeSpan.FromSeconds(30), ct, output);
        await PairFixture.WaitUntilAsync("no alarm left about it", async () => (await pair.Get<ITopologyMonitor>().ProbeNowAsync(pair.Cluster.Id, ct))!.Alarms
            .All(a => a.Code != AlarmCodes.NodeFenced), TimeSpan.FromSeconds(30), ct, output);
        Assert.Equal(AddressOf(standby), await WriteThroughVipAsync(password, ct));
    }
}
