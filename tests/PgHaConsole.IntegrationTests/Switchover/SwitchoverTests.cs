using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;
using Microsoft.Extensions.DependencyInjection;
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
        await pair.EnsureSetUpAsync(ct);
        // A test-owned application writing through the write VIP throughout both switchovers (fresh connection per
        // insert every 10 ms), besides the product's own write probe.
        var password = (await pair.Get<ClusterEnvironmentFactory>().CreateAsync(pair.Cluster.Id, ct))!.Secrets.MonitorPassword!;
        await using var writer = new VipWriter(pair.Cluster, password, "sw-" + Guid.NewGuid().ToString("N")[..6]);
        writer.Start();
        await Task.Delay(TimeSpan.FromSeconds(1), ct);

        var first = await SwitchAsync("pg1", "pg2", ct);
        await AssertRolesAsync("pg2", "pg1", ct);
        using (var report = JsonDocument.Parse(first.ReportJson!))
        {
            var probe = report.RootElement.GetProperty("writeProbe");
            Assert.True(probe.GetProperty("acknowledged").GetInt64() > 10);
            output.WriteLine($"longest write gap pg1→pg2: {probe.GetProperty("longestGapSeconds").GetDouble()} s");
        }

        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        var back = await SwitchAsync("pg2", "pg1", ct);
        await AssertRolesAsync("pg1", "pg2", ct);
        Assert.Contains("no rewind needed", await pair.LogTextAsync(back.Id, ct), StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await writer.StopAsync();

        // The writer was served by both primaries in turn, and every insert it was told had committed is on the final
        // primary: neither timeline switch lost an acknowledged write.
        var acked = writer.Acknowledged;
        Assert.Contains(acked, a => a.Server == "198.18.4.248");
        Assert.Contains(acked, a => a.Server == "198.18.4.247" && a.At > first.FinishedAt!.Value);
        var rows = (await pair.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", $"SELECT written_by FROM pghaconsole.heartbeat WHERE written_by LIKE '{writer.Tag}:%'")).StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var lost = acked.Where(a => !rows.Contains($"{writer.Tag}:{a.N}")).ToList();
        output.WriteLine($"test writer: {acked.Count} acknowledged, {writer.Failures} failed attempts, {lost.Count} lost");
        // Served throughout (both primaries above); a count the slowest CI machine reaches, not a speed figure (the stop-21
        // CI's machine acknowledged about a third of what this one does).
        Assert.True(acked.Count > 30, $"only {acked.Count} writes acknowledged");
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged rows missing on pg1, e.g. {string.Join(", ", lost.Take(5).Select(l => l.N))}");
    }

    [Fact, TestPriority(2)]
    public async Task B_a_refused_preflight_changes_nothing()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        // Asked from the standby: the preflight sees pg1 is the primary and stops before fencing anything.
        var op = await pair.RunAsync(SwitchoverOperation.Kind, new SwitchoverParameters { Confirm = pair.Cluster.Name, From = "pg2", To = "pg1" }, ct);
        Assert.Equal(OperationStatus.Failed, op.Status);
        Assert.Equal(StepStatus.Failed, op.Steps[0].Status);
        Assert.All(op.Steps.Skip(1), s => Assert.Equal(StepStatus.Pending, s.Status));
        await AssertRolesAsync("pg1", "pg2", ct);
    }
}

/// <summary>The hard paths: the standby cannot catch up (step 4 times out), a crash and a manual promotion (rejoin with
/// pg_rewind), a rebuild, and a console stopped in the middle of a switchover (interrupted, then resumed).</summary>
[CollectionDefinition(Name)]
public sealed class SwitchoverFailureCollection : ICollectionFixture<PairFixture>
{
    public const string Name = "switchover-failures";
}

[Collection(SwitchoverFailureCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class SwitchoverFailureTests(PairFixture pair, ITestOutputHelper output)
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    [Fact, TestPriority(3)]
    public async Task C_when_the_standby_cannot_receive_the_shutdown_checkpoint_the_old_primary_is_restarted_and_nothing_is_promoted()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var primaryAddress = primary == "pg1" ? "198.18.4.247" : "198.18.4.248";
        // The preflight passed (journaled as done), then the network between the nodes broke: the primary's PostgreSQL
        // port is rejected on the standby (the walsender gets a reset, the walreceiver cannot reconnect).
        var journal = pair.Get<IOperationJournal>();
        var op = await pair.CreateAsync(SwitchoverOperation.Kind, null, ct);
        await journal.SetStepStatusAsync(op.Id, 1, StepStatus.Running, null, ct);
        await journal.SetStepStatusAsync(op.Id, 1, StepStatus.Succeeded, "preflight passed before the network broke", ct);
        var rule = new[] { "INPUT", "-s", primaryAddress, "-p", "tcp", "--sport", "5432", "-j", "REJECT", "--reject-with", "tcp-reset" };
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, ["iptables", "-I", .. rule])).ExitCode);
        try
        {
            var result = await pair.RunExistingAsync(op.Id, new SwitchoverParameters { Confirm = pair.Cluster.Name, From = primary, To = standby, CatchUpTimeoutSeconds = 3 }, ct);
            output.WriteLine(await pair.LogTextAsync(op.Id, ct));
            Assert.Equal(OperationStatus.Failed, result.Status);
            var wait = result.Steps.Single(s => s.Name == "wait-for-standby");
            Assert.Equal(StepStatus.Failed, wait.Status);
            Assert.Contains("nothing was promoted, nothing was lost", wait.Message, StringComparison.Ordinal);
            Assert.All(result.Steps.Where(s => s.Ordinal > wait.Ordinal), s => Assert.Equal(StepStatus.Pending, s.Status));
            Assert.Equal("f", (await pair.SqlAsync(primary, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
            Assert.Equal("t", (await pair.SqlAsync(standby, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
        }
        finally
        {
            await pair.ExecAsync(standby, ct, ["iptables", "-D", .. rule]);
        }

        // The pair heals: the old primary writes again and the VIP comes back to it (keepalived restarted by the rollback).
        await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/data10/pgdata", "-l", "/data10/postgresql.log", "-m", "fast", "-w", "restart");
        await PairFixture.WaitUntilAsync("streaming again", () => pair.StreamingAsync(primary, standby, ct), TimeSpan.FromSeconds(60), ct);
        await PairFixture.WaitUntilAsync("the write VIP back on " + primary, async () => (await pair.ExecAsync(primary, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains("198.18.4.251/", StringComparison.Ordinal), TimeSpan.FromSeconds(30), ct);
    }

    [Fact, TestPriority(4)]
    public async Task D_after_kill_9_of_the_primary_and_a_manual_promotion_rejoin_rewinds_the_old_primary()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var old = await pair.PrimaryAsync(ct);
        var survivor = old == "pg1" ? "pg2" : "pg1";
        await pair.SqlAsync(old, "INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('before-crash')", ct);
        var pid = (await pair.ExecAsync(old, ct, "head", "-n", "1", "/data10/pgdata/postmaster.pid")).StandardOutput.Trim();
        Assert.Equal(0, (await pair.ExecAsync(old, ct, "kill", "-9", pid)).ExitCode);
        await PairFixture.WaitUntilAsync("the killed postmaster to be gone", async () => (await pair.ExecAsync(old, ct, "bash", "-c", "[ ! -d /proc/$1 ] || grep -qE '^State:[[:space:]]*Z' /proc/$1/status", "_", pid)).ExitCode == 0, TimeSpan.FromSeconds(10), ct);
        // The dead postmaster's lock files stay behind. Until its parent reaps it the postmaster is a zombie, and a PID
        // can be reused: either way PostgreSQL refuses to start ("lock file … already exists") while the process named
        // there exists. Both lock files name a live process that is not PostgreSQL (this test's own) from here on.
        var planted = await pair.ExecAsync(old, ct, "bash", "-c",
            "n=0; for f in /data10/pgdata/postmaster.pid /run/postgresql/.s.PGSQL.5432.lock; do [ -f \"$f\" ] && sed -i \"1s/.*/$1/\" \"$f\" && n=$((n+1)); done; echo $n",
            "_", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("2", planted.StandardOutput.Trim());
        Assert.Equal(0, (await pair.ExecAsync(survivor, ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/data10/pgdata", "-w", "promote")).ExitCode);
        // A write on the new timeline, so the old primary's WAL has diverged from it.
        await pair.SqlAsync(survivor, "INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('after-promotion'); CHECKPOINT", ct);

        var refused = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = survivor }, ct);
        Assert.Equal(OperationStatus.Failed, refused.Status);

        var op = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = old }, ct);
        var log = await pair.LogTextAsync(op.Id, ct);
        output.WriteLine(log);
        Assert.True(op.Status == OperationStatus.Succeeded, $"{op.Status}: {op.Error}");
        // pg_rewind's own output (stdout/stderr of the tool on the host, not the console's description of the step):
        // it reports where the timelines diverged and finishes with "Done!". A rejoin that only restarted the node
        // (no rewind) writes neither.
        var toolLines = (await pair.Get<IOperationJournal>().ReadLogAsync(op.Id, 0, 5000, ct))
            .Where(l => l.Stream != LogStream.Info && l.Host == old).Select(l => l.Line).ToList();
        Assert.Contains(toolLines, l => l.Contains("servers diverged at WAL location", StringComparison.Ordinal));
        Assert.Contains(toolLines, l => l.Contains("pg_rewind: Done!", StringComparison.Ordinal));
        Assert.Contains("removed the stale lock file /data10/pgdata/postmaster.pid", log, StringComparison.Ordinal);
        Assert.Contains("removed the stale socket lock file /run/postgresql/.s.PGSQL.5432.lock", log, StringComparison.Ordinal);
        Assert.Equal("t", (await pair.SqlAsync(old, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
        Assert.True(await pair.StreamingAsync(survivor, old, ct));
        await PairFixture.WaitUntilAsync("the new timeline's write on the rejoined node", async () => (await pair.SqlAsync(old, "SELECT count(*) FROM pghaconsole.heartbeat WHERE written_by = 'after-promotion'", ct)).StandardOutput.Trim() == "1", TimeSpan.FromSeconds(10), ct);
        await PairFixture.WaitUntilAsync("the write VIP on " + survivor, async () => (await pair.ExecAsync(survivor, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains("198.18.4.251/", StringComparison.Ordinal), TimeSpan.FromSeconds(30), ct);
    }

    [Fact, TestPriority(5)]
    public async Task E_rebuild_reclones_the_standby_only_with_the_typed_host_name()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var marker = "rebuild-" + Guid.NewGuid().ToString("N")[..8];
        await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "touch", "/data10/pgdata/" + marker);

        var refused = await pair.RunAsync(RejoinOperation.RebuildKind, new RejoinParameters { Node = standby }, ct);
        Assert.Equal(OperationStatus.Failed, refused.Status);
        Assert.Contains("type '" + standby + "'", refused.Steps[0].Message, StringComparison.Ordinal);
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, "test", "-f", "/data10/pgdata/" + marker)).ExitCode);

        var op = await pair.RunAsync(RejoinOperation.RebuildKind, new RejoinParameters { Node = standby, ConfirmHost = standby }, ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.True(op.Status == OperationStatus.Succeeded, $"{op.Status}: {op.Error}");
        Assert.NotEqual(0, (await pair.ExecAsync(standby, ct, "test", "-f", "/data10/pgdata/" + marker)).ExitCode);
        Assert.True(await pair.StreamingAsync(primary, standby, ct));
    }

    [Fact, TestPriority(5)]
    public async Task E2_a_rejoin_whose_standby_streams_but_answers_on_no_address_of_its_own_fails_at_verify()
    {
        // #13 item 3: the rejoin used to report success once the primary's pg_stat_replication said 'streaming'; a
        // node that answers no client on its own address (here: listen_addresses = 'localhost' in its
        // postgresql.auto.conf; in the bug, the peer's address copied by pg_rewind) still streams, as replication
        // connects outwards. The operation must say so, as a client sees it.
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var address = pair.Cluster.Nodes.Single(n => n.Name == standby).Address;
        const string auto = "/data10/pgdata/postgresql.auto.conf";
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "bash", "-c", $"echo \"listen_addresses = 'localhost'\" >> {auto}")).ExitCode);
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/data10/pgdata", "-m", "fast", "-w", "stop")).ExitCode);
        try
        {
            var op = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = standby }, ct);
            var log = await pair.LogTextAsync(op.Id, ct);
            output.WriteLine(log);
            Assert.Equal(OperationStatus.Failed, op.Status);
            Assert.Equal("verify", op.Steps.Single(s => s.Status == StepStatus.Failed).Name);
            Assert.True(await pair.StreamingAsync(primary, standby, ct), "the broken node should still stream (what the old check saw)");
            Assert.Contains($"{standby}: a connection to {address}:5432 failed", op.Error, StringComparison.Ordinal);
            Assert.Contains($"{standby}: PostgreSQL does not answer the probe on {address}", op.Error, StringComparison.Ordinal);
        }
        finally
        {
            await pair.ExecAsync(standby, ct, "sed", "-i", "/^listen_addresses = 'localhost'$/d", auto);
            await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/data10/pgdata", "-m", "fast", "-w", "restart");
        }

        // Repaired (and restarted): the same rejoin passes its verification.
        var again = await pair.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = standby }, ct);
        var againLog = await pair.LogTextAsync(again.Id, ct);
        Assert.True(again.Status == OperationStatus.Succeeded, $"{again.Status}: {again.Error}\n{againLog}");
        Assert.Contains($"{standby} answers on {address} as the standby streaming from {primary}, and the console's probe agrees", againLog, StringComparison.Ordinal);
    }

    [Fact, TestPriority(6)]
    public async Task F_a_switchover_interrupted_by_a_console_stop_is_shown_interrupted_keeps_its_lock_and_resumes()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var parameters = new SwitchoverParameters { Confirm = pair.Cluster.Name, From = primary, To = standby };
        var op = await pair.CreateAsync(SwitchoverOperation.Kind, parameters, ct);

        // "The console stops" right after the fence: the stopping token fires when step 3 begins.
        using var stopping = new CancellationTokenSource();
        var logs = pair.Get<OperationLogStore>();
        var watcher = Task.Run(async () =>
        {
            await foreach (var line in logs.WatchAsync(op.Id, ct))
            {
                if (line.Step == 3)
                {
                    await stopping.CancelAsync();
                    return;
                }
            }
        }, ct);
        var interrupted = await pair.RunExistingAsync(op.Id, parameters, ct, stopping.Token);
        await watcher;
        Assert.True(interrupted.Status == OperationStatus.Interrupted, $"{interrupted.Status}: {interrupted.Error}\n{await pair.LogTextAsync(op.Id, ct)}");
        Assert.Equal(op.Id, await pair.Get<IClusterLock>().GetHolderAsync(pair.Cluster.Id, ct));
        Assert.Equal(StepStatus.Succeeded, interrupted.Steps[1].Status);

        // Fenced, nothing promoted: no primary at all now, never two.
        Assert.NotEqual("f", (await pair.SqlAsync(primary, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
        Assert.Equal("t", (await pair.SqlAsync(standby, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());

        var resumed = await pair.RunExistingAsync(op.Id, new { }, ct);
        var log = await pair.LogTextAsync(op.Id, ct);
        output.WriteLine(log);
        Assert.True(resumed.Status == OperationStatus.Succeeded, $"{resumed.Status}: {resumed.Error}");
        Assert.Contains("Step 2 (fence-old-primary) was completed by an earlier run; not redone.", log, StringComparison.Ordinal);
        Assert.Null(await pair.Get<IClusterLock>().GetHolderAsync(pair.Cluster.Id, ct));
        Assert.Equal("f", (await pair.SqlAsync(standby, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
        Assert.True(await pair.StreamingAsync(standby, primary, ct));
    }
}

/// <summary>Roll back: the other way out of an interrupted switchover, while nothing was promoted.</summary>
[Collection(SwitchoverFailureCollection.Name)]
public sealed class SwitchoverRollbackTests(PairFixture pair, ITestOutputHelper output)
{
    [Fact]
    public async Task An_interrupted_switchover_rolls_back_to_the_old_primary_until_the_standby_is_promoted()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var journal = pair.Get<IOperationJournal>();
        var parameters = new SwitchoverParameters { Confirm = pair.Cluster.Name, From = primary, To = standby };
        var op = await pair.CreateAsync(SwitchoverOperation.Kind, parameters, ct);

        using var stopping = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            // The console stops at step 3 (wait-for-standby): the fence (step 2) is done, the old primary stopped with its
            // keepalived, the VIPs on the standby, whose keepalived takes the read VIP as its read instance's master.
            await foreach (var line in pair.Get<OperationLogStore>().WatchAsync(op.Id, ct))
            {
                if (line.Step == 3)
                {
                    await stopping.CancelAsync();
                    return;
                }
            }
        }, ct);
        var interrupted = await pair.RunExistingAsync(op.Id, parameters, ct, stopping.Token);
        await watcher;
        Assert.True(interrupted.Status == OperationStatus.Interrupted, $"{interrupted.Status}: {interrupted.Error}");

        // The on-call engineer rolls back a few seconds later: by then the standby's keepalived holds the read VIP as its
        // read instance's master (the old primary's keepalived stopped with the fence).
        var readState = new PgHaConsole.Core.Keepalived.KeepalivedPaths().ReadStateFile;
        var masterBy = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((await pair.ExecAsync(standby, ct, "grep", "-q", "STATE=MASTER", readState)).ExitCode != 0)
        {
            Assert.True(DateTime.UtcNow < masterBy, $"{standby}'s keepalived did not become the read VIP's master");
            await Task.Delay(250, ct);
        }

        await using var scope = pair.Services.CreateAsyncScope();
        var message = await scope.ServiceProvider.GetRequiredService<SwitchoverRollback>().RollBackAsync(op.Id, "integration-test", ct);
        output.WriteLine(message);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        var after = (await journal.GetAsync(op.Id, ct))!;
        Assert.Equal(OperationStatus.Cancelled, after.Status);
        Assert.Contains("Rolled back", after.Error, StringComparison.Ordinal);
        Assert.Null(await pair.Get<IClusterLock>().GetHolderAsync(pair.Cluster.Id, ct));
        Assert.Equal("f", (await pair.SqlAsync(primary, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());
        Assert.Equal("t", (await pair.SqlAsync(standby, "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim());

        // keepalived brings the VIPs back to the old primary, and the standby streams from it again.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await pair.ExecAsync(primary, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains("198.18.4.251/", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, "the write VIP did not come back to " + primary);
            await Task.Delay(500, ct);
        }

        // The read VIP on exactly one node (where keepalived holds it: the rollback does not take it from under the
        // standby's keepalived, which once left it on no node or raced with keepalived putting it back).
        until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var holders = 0;
            foreach (var node in new[] { primary, standby })
            {
                holders += (await pair.ExecAsync(node, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput.Contains($" {pair.Cluster.ReadVip}/", StringComparison.Ordinal) ? 1 : 0;
            }

            if (holders == 1)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < until, $"the read VIP is on {holders} nodes after the rollback");
            await Task.Delay(500, ct);
        }

        // A second rollback is refused: the operation is over.
        await Assert.ThrowsAsync<OperationRefusedException>(() => scope.ServiceProvider.GetRequiredService<SwitchoverRollback>().RollBackAsync(op.Id, "integration-test", ct));
    }
}
