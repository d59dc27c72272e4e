using Npgsql;
using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.IntegrationTests.Infrastructure;
using PgHaConsole.IntegrationTests.Switchover;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Rotate;

/// <summary>
/// The rotate-secret operation on the wizard's pair (shared with the switchover tests: one lab, one setup). Checked
/// with the test's own hands: the role's SCRAM secret on the server, the files on the hosts, the walsender's pid, a
/// write through the write VIP replicated to the standby, the VIPs on each host, and the console's own probe.
/// </summary>
[Collection(SwitchoverCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class RotateSecretLabTests(PairFixture pair, ITestOutputHelper output)
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    private async Task<ClusterEnvironment> EnvAsync(CancellationToken ct) => (await pair.Get<ClusterEnvironmentFactory>().CreateAsync(pair.Cluster.Id, ct))!;

    private async Task<string> SqlAsync(string host, string sql, CancellationToken ct)
    {
        var result = await pair.SqlAsync(host, sql, ct);
        Assert.True(result.ExitCode == 0, $"{host}: {sql}: {result.StandardError}");
        return result.StandardOutput.Trim();
    }

    /// <summary>The wizard's pair and where its replication secret lives: the roles, the role, the pass file, the console's password.</summary>
    private async Task<(string Primary, string Standby, string Role, string PassFile, string OldPassword)> ReplicationSecretAsync(CancellationToken ct)
    {
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        return (primary, primary == "pg1" ? "pg2" : "pg1", pair.Cluster.Postgres.ReplicationUser,
            RecoveryConfigRenderer.DefaultPassFile(pair.Cluster.Postgres), (await EnvAsync(ct)).Secrets.ReplicationPassword!);
    }

    private async Task<OperationRecord> RotateAsync(string secret, CancellationToken ct)
    {
        var op = await pair.RunAsync(RotateOperation.Kind, new RotateSecretParameters { Secret = secret, Confirm = pair.Cluster.Name }, ct);
        var log = await pair.LogTextAsync(op.Id, ct);
        output.WriteLine(log);
        Assert.True(op.Status == OperationStatus.Succeeded, $"rotate {secret} ended {op.Status}: {op.Error}");
        return op;
    }

    private const string PgCtl = "/usr/lib/postgresql/15/bin/pg_ctl";

    [Fact, TestPriority(9)]
    public async Task R0_without_a_streaming_standby_the_rotation_is_refused_before_anything_changes()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var standby = primary == "pg1" ? "pg2" : "pg1";
        var role = pair.Cluster.Postgres.ReplicationUser;
        var secretBefore = await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct);
        var secretsBefore = (await EnvAsync(ct)).Secrets;

        // Kept short: the primary fences itself after 10 s without its standby while a console connection is open.
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", PgCtl, "-D", "/data10/pgdata", "-m", "fast", "-w", "stop")).ExitCode);
        try
        {
            // The gate the API calls before starting anything: 409 with the reason.
            var refused = await Assert.ThrowsAsync<OperationRefusedException>(() => pair.Get<RotateGate>().CheckAsync(pair.Cluster.Id, Core.Rotate.RotatableSecret.Replication, ct));
            Assert.Equal(409, refused.StatusCode);
            Assert.Contains("no running standby", refused.Message, StringComparison.Ordinal);

            // The operation's own preflight refuses too (when the pair changed after the gate): nothing else runs.
            var op = await pair.RunAsync(RotateOperation.Kind, new RotateSecretParameters { Secret = "replication", Confirm = pair.Cluster.Name }, ct);
            Assert.Equal(OperationStatus.Failed, op.Status);
            Assert.Equal(StepStatus.Failed, op.Steps[0].Status);
            Assert.All(op.Steps.Skip(1), step => Assert.Equal(StepStatus.Pending, step.Status));
        }
        finally
        {
            Assert.Equal(0, (await pair.ExecAsync(standby, ct, "runuser", "-u", "postgres", "--", PgCtl, "-D", "/data10/pgdata", "-l", "/data10/postgresql.log", "-w", "start")).ExitCode);
        }

        Assert.Equal(secretBefore, await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct));
        Assert.Equal(secretsBefore, (await EnvAsync(ct)).Secrets);
        await PairFixture.WaitUntilAsync($"{standby} streaming again", () => pair.StreamingAsync(primary, standby, ct), TimeSpan.FromSeconds(30), ct, output);
    }

    [Fact, TestPriority(10)]
    public async Task R1_rotating_the_replication_password_changes_the_role_and_the_pass_files_and_the_standby_streams_again_with_it()
    {
        var ct = Timeout();
        var (primary, standby, role, passFile, oldPassword) = await ReplicationSecretAsync(ct);
        var secretBefore = await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct);
        var walsenderBefore = await SqlAsync(primary, $"SELECT pid FROM pg_stat_replication WHERE application_name = '{standby}'", ct);
        Assert.True(ScramSecret.Matches(secretBefore, oldPassword));

        var op = await RotateAsync("replication", ct);

        // The store: the new password is the console's, nothing pending; it is never in the log.
        var env = await EnvAsync(ct);
        var newPassword = env.Secrets.ReplicationPassword!;
        Assert.NotEqual(oldPassword, newPassword);
        Assert.Null(env.Secrets.PendingReplicationPassword);
        var log = await pair.LogTextAsync(op.Id, ct);
        Assert.DoesNotContain(newPassword, log, StringComparison.Ordinal);
        Assert.DoesNotContain(oldPassword, log, StringComparison.Ordinal);

        // The role's SCRAM secret changed, on the primary and (replicated) on the standby.
        var secretAfter = await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct);
        Assert.NotEqual(secretBefore, secretAfter);
        Assert.True(ScramSecret.Matches(secretAfter, newPassword));
        Assert.False(ScramSecret.Matches(secretAfter, oldPassword));
        Assert.Equal(secretAfter, await SqlAsync(standby, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct));

        // Both pass files hold the new password for the peer, and no longer the old one.
        foreach (var host in new[] { "pg1", "pg2" })
        {
            var text = (await pair.ExecAsync(host, ct, "cat", passFile)).StandardOutput;
            var peer = pair.Cluster.Nodes.First(n => n.Name != host).Address;
            Assert.Equal(newPassword, HostSecretsReader.PgPassPassword(text, peer, pair.Cluster.Postgres.Port, "replication", role));
            Assert.DoesNotContain(oldPassword, text, StringComparison.Ordinal);
        }

        // The standby streams on a new connection (its old walsender was terminated), authenticated with the new password.
        var walsenderAfter = await SqlAsync(primary, $"SELECT pid FROM pg_stat_replication WHERE application_name = '{standby}' AND state = 'streaming'", ct);
        Assert.NotEqual("", walsenderAfter);
        Assert.NotEqual(walsenderBefore, walsenderAfter);
        Assert.Equal("streaming", await SqlAsync(standby, "SELECT status FROM pg_stat_wal_receiver", ct));

        // A write through the write VIP lands on the primary and replicates to the standby.
        var tag = "rotate-" + Guid.NewGuid().ToString("N")[..8];
        var cs = NodeConnections.Monitor(pair.Cluster, pair.Cluster.WriteVip, env.Secrets.MonitorPassword, "rotate-test", timeout: 5, commandTimeout: 5);
        await using (var conn = new NpgsqlConnection(cs.ConnectionString))
        {
            await conn.OpenAsync(ct);
            await using var insert = new NpgsqlCommand($"INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('{tag}')", conn);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync(ct));
        }

        await PairFixture.WaitUntilAsync("the write through the write VIP on the standby",
            async () => await SqlAsync(standby, $"SELECT count(*) FROM pghaconsole.heartbeat WHERE written_by = '{tag}'", ct) == "1", TimeSpan.FromSeconds(10), ct, output);

        // The console's own probe sees a healthy pair.
        await AssertProbeSeesHealthyPairAsync(env, primary, ct);
    }

    [Fact, TestPriority(11)]
    public async Task R2_rotating_the_vrrp_password_changes_both_keepalived_configurations_and_leaves_one_holder_per_vip()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var oldPassword = (await EnvAsync(ct)).Secrets.VrrpPassword!;

        var op = await RotateAsync("vrrp", ct);
        var env = await EnvAsync(ct);
        var newPassword = env.Secrets.VrrpPassword!;
        Assert.NotEqual(oldPassword, newPassword);
        Assert.Null(env.Secrets.PendingVrrpPassword);
        var log = await pair.LogTextAsync(op.Id, ct);
        Assert.Contains("auth_pass window", log, StringComparison.Ordinal);
        Assert.DoesNotContain(newPassword, log, StringComparison.Ordinal);

        foreach (var host in new[] { "pg1", "pg2" })
        {
            var conf = (await pair.ExecAsync(host, ct, "cat", "/etc/keepalived/keepalived.conf")).StandardOutput;
            Assert.Equal([newPassword], HostSecretsReader.KeepalivedAuthPasses(conf));
        }

        // Watched by the test itself for longer than keepalived's master-down interval: one holder per VIP, the write
        // VIP on the primary (two MASTERs ignoring each other's adverts would both hold them by then).
        for (var look = 0; look < 8; look++)
        {
            var held = new Dictionary<string, string>();
            foreach (var host in new[] { "pg1", "pg2" })
            {
                held[host] = (await pair.ExecAsync(host, ct, "ip", "-o", "addr", "show", "dev", "mgt")).StandardOutput;
            }

            Assert.Equal([primary], held.Where(h => h.Value.Contains(pair.Cluster.WriteVip + "/", StringComparison.Ordinal)).Select(h => h.Key));
            Assert.Single(held, h => h.Value.Contains(pair.Cluster.ReadVip + "/", StringComparison.Ordinal));
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        }

        await AssertProbeSeesHealthyPairAsync(env, primary, ct);
    }

    [Fact, TestPriority(12)]
    public async Task R3_rotating_the_monitoring_password_changes_the_role_and_the_console_logs_in_with_the_new_one_only()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var primary = await pair.PrimaryAsync(ct);
        var role = pair.Cluster.Postgres.MonitorUser;
        var oldPassword = (await EnvAsync(ct)).Secrets.MonitorPassword!;

        await RotateAsync("monitoring", ct);
        var env = await EnvAsync(ct);
        var newPassword = env.Secrets.MonitorPassword!;
        Assert.NotEqual(oldPassword, newPassword);
        Assert.Null(env.Secrets.PendingMonitorPassword);
        var secret = await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct);
        Assert.True(ScramSecret.Matches(secret, newPassword));

        // Through the write VIP, as the console and its probe connect: the new password gets in, the old one no longer.
        async Task<Exception?> LoginAsync(string password)
        {
            try
            {
                await using var conn = new NpgsqlConnection(NodeConnections.Monitor(pair.Cluster, pair.Cluster.WriteVip, password, "rotate-test", timeout: 5, commandTimeout: 5).ConnectionString);
                await conn.OpenAsync(ct);
                return null;
            }
            catch (PostgresException ex)
            {
                return ex;
            }
        }

        Assert.Null(await LoginAsync(newPassword));
        Assert.Equal("28P01", Assert.IsType<PostgresException>(await LoginAsync(oldPassword)).SqlState);
        await AssertProbeSeesHealthyPairAsync(env, primary, ct);
    }

    [Fact, TestPriority(13)]
    public async Task R4_a_failure_half_way_keeps_the_pair_streaming_says_which_place_holds_which_secret_and_a_resume_finishes()
    {
        var ct = Timeout();
        var (primary, standby, role, passFile, oldPassword) = await ReplicationSecretAsync(ct);

        // The standby's pass file cannot be replaced (a mount point: the write's rename fails with EBUSY) — after the
        // role already has the new password.
        Assert.Equal(0, (await pair.ExecAsync(standby, ct, "mount", "--bind", passFile, passFile)).ExitCode);
        OperationRecord op;
        try
        {
            op = await pair.RunAsync(RotateOperation.Kind, new RotateSecretParameters { Secret = "replication", Confirm = pair.Cluster.Name }, ct);
            output.WriteLine(await pair.LogTextAsync(op.Id, ct));
            Assert.Equal(OperationStatus.Failed, op.Status);
            Assert.Equal(StepStatus.Failed, op.Steps[2].Status);
            var files = string.Concat(pair.Cluster.Nodes.Select(n => $"{n.Name}:{passFile}: OLD secret; "));
            Assert.Contains(
                $"Where the replication secret is now: role {role} on {primary}: NEW secret; {files}the console's store: OLD secret",
                op.Error, StringComparison.Ordinal);

            // The store still has the old password as the current one and the new one as pending; the role has the new
            // one; the standby keeps streaming on the connection it opened with the old one.
            var secrets = (await EnvAsync(ct)).Secrets;
            Assert.Equal(oldPassword, secrets.ReplicationPassword);
            Assert.NotNull(secrets.PendingReplicationPassword);
            Assert.True(ScramSecret.Matches(await SqlAsync(primary, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", ct), secrets.PendingReplicationPassword));
            Assert.True(await pair.StreamingAsync(primary, standby, ct));
            Assert.DoesNotContain(secrets.PendingReplicationPassword, op.Error!, StringComparison.Ordinal);
        }
        finally
        {
            await pair.ExecAsync(standby, ct, "umount", passFile);
        }

        // Repaired, the same operation resumes at the failed step and finishes with the pending password.
        var pending = (await EnvAsync(ct)).Secrets.PendingReplicationPassword;
        var resumed = await pair.RunExistingAsync(op.Id, null, ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.True(resumed.Status == OperationStatus.Succeeded, $"resume ended {resumed.Status}: {resumed.Error}");
        var after = (await EnvAsync(ct)).Secrets;
        Assert.Equal(pending, after.ReplicationPassword);
        Assert.Null(after.PendingReplicationPassword);
        Assert.True(await pair.StreamingAsync(primary, standby, ct));
    }

    private async Task AssertProbeSeesHealthyPairAsync(ClusterEnvironment env, string primary, CancellationToken ct)
    {
        var primaryNode = pair.Cluster.Nodes.First(n => n.Name == primary);
        var standbyNode = pair.Cluster.Peer(primaryNode);
        var p = await env.Prober.ProbeAsync(env.ProbeTarget, primaryNode, ct);
        var s = await env.Prober.ProbeAsync(env.ProbeTarget, standbyNode, ct);
        Assert.Empty(RoleExpectation.Disagreements(p, NodeRole.Primary, null));
        Assert.Empty(RoleExpectation.Disagreements(s, NodeRole.Standby, primaryNode.Address));
        Assert.True(p.HoldsWriteVip && !s.HoldsWriteVip, "the console's probe: the write VIP on the primary only");
        Assert.True(p.HoldsReadVip ^ s.HoldsReadVip, "the console's probe: the read VIP on exactly one node");
    }
}
