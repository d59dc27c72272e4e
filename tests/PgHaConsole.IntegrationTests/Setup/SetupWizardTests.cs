using System.Diagnostics;
using Npgsql;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Setup;

[CollectionDefinition(Name)]
public sealed class SetupCollection : ICollectionFixture<PairFixture>
{
    public const string Name = "setup";
}

/// <summary>
/// The wizard end to end against the lab, from the state <c>lab up</c> leaves: a verified pair in one run, then a
/// second run that changes nothing. Ordered: the second test depends on the first.
/// </summary>
[Collection(SetupCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class SetupWizardTests(PairFixture pair, ITestOutputHelper output)
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    [Fact, TestPriority(1)]
    public async Task A_setup_from_the_lab_start_builds_a_verified_pair()
    {
        var ct = Timeout();

        // The application's client network, stored with the cluster as the wizard does (the run reads it from there).
        // 198.18.4.0/28 holds the lab bridge's address (198.18.4.1, where this test connects from) and no node address.
        await pair.Get<IClusterRepository>().SetClientCidrsAsync(pair.Cluster.Id, [ClientNetwork], ct);

        var watch = Stopwatch.StartNew();
        var op = await pair.RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
        watch.Stop();
        var log = await pair.LogTextAsync(op.Id, ct);
        output.WriteLine(log);
        foreach (var s in op.Steps)
        {
            output.WriteLine($"step {s.Ordinal} {s.Name}: {s.Status} in {(s.FinishedAt - s.StartedAt)?.TotalSeconds:0.00} s");
        }

        Assert.True(op.Status == OperationStatus.Succeeded, $"setup ended {op.Status}: {op.Error}");
        Assert.All(op.Steps, s => Assert.True(s.Status is StepStatus.Succeeded or StepStatus.Skipped, $"{s.Name}: {s.Status}"));
        // From the runbook's starting state every step but preflight and firewall (no firewall in the lab) had work to do.
        Assert.All(op.Steps.Where(s => s.Name is not ("preflight" or "firewall")), s => Assert.Equal(StepStatus.Succeeded, s.Status));
        output.WriteLine($"wizard time: {watch.Elapsed.TotalSeconds:0.0} s");

        // The pair, seen independently of the wizard: pg2 replays what pg1 commits; the VIPs on pg1.
        var secrets = (await pair.Get<IClusterRepository>().GetClusterSecretsAsync(pair.Cluster.Id, ct))!;
        Assert.NotNull(secrets.ReplicationPassword);
        Assert.NotNull(secrets.MonitorPassword);
        Assert.NotNull(secrets.VrrpPassword);
        Assert.DoesNotContain(secrets.ReplicationPassword!, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.MonitorPassword!, log, StringComparison.Ordinal);
        Assert.DoesNotContain(secrets.VrrpPassword!, log, StringComparison.Ordinal);

        var recovery = await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_is_in_recovery()");
        Assert.Equal("t", recovery.StandardOutput.Trim());
        var vips = await pair.ExecAsync("pg1", ct, "ip", "-o", "addr", "show", "dev", "mgt");
        Assert.Contains("198.18.4.251/", vips.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("198.18.4.252/", vips.StandardOutput, StringComparison.Ordinal);
        var pg2Vips = await pair.ExecAsync("pg2", ct, "ip", "-o", "addr", "show", "dev", "mgt");
        Assert.DoesNotContain("198.18.4.251/", pg2Vips.StandardOutput, StringComparison.Ordinal);

        // A row written through the write VIP is readable on the standby.
        var marker = "it-" + Guid.NewGuid().ToString("N");
        var cs = NodeConnections.Monitor(pair.Cluster, pair.Cluster.WriteVip, secrets.MonitorPassword, "it-setup", timeout: 5, commandTimeout: 30).ConnectionString;
        await using (var conn = new NpgsqlConnection(cs))
        {
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES (@m)", conn);
            cmd.Parameters.AddWithValue("m", marker);
            await cmd.ExecuteNonQueryAsync(ct);
        }

        var seen = false;
        for (var i = 0; i < 40 && !seen; i++)
        {
            var r = await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", $"SELECT count(*) FROM pghaconsole.heartbeat WHERE written_by = '{marker}'");
            seen = r.StandardOutput.Trim() == "1";
            if (!seen)
            {
                await Task.Delay(100, ct);
            }
        }

        Assert.True(seen, "a row committed through the write VIP never reached the standby");

        // Reads through the read VIP reach both nodes, seen by the test's own fresh connections (not step 11's word).
        // HAProxy's round robin alternates, but a node may still be warming up in its health checks: allow 15 s.
        var answeredBy = new HashSet<string>(StringComparer.Ordinal);
        var readCs = NodeConnections.Monitor(pair.Cluster, pair.Cluster.ReadVip, secrets.MonitorPassword, "it-setup-read", timeout: 5, commandTimeout: 10).ConnectionString;
        var until = DateTime.UtcNow.AddSeconds(15);
        while (answeredBy.Count < 2 && DateTime.UtcNow < until)
        {
            await using var conn = new NpgsqlConnection(readCs + ";Pooling=false");
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT host(inet_server_addr())", conn);
            answeredBy.Add((string)(await cmd.ExecuteScalarAsync(ct))!);
        }

        Assert.Equal(["198.18.4.247", "198.18.4.248"], answeredBy.Order(StringComparer.Ordinal).ToArray());

        await An_application_user_from_the_client_network_gets_in_through_both_vips_and_directly(ct);
    }

    private const string ClientNetwork = "198.18.4.0/28";

    /// <summary>
    /// An application role of the test's own (the lab's pg_hba.conf only knows its sample user <c>app</c>, for the
    /// whole lab network), connecting from the lab bridge's address 198.18.4.1: through the write VIP and the read VIP
    /// (HAProxy: PostgreSQL sees the node addresses) and straight to the standby's address (PostgreSQL sees 198.18.4.1).
    /// Without the wizard's lines each of these is "no pg_hba.conf entry".
    /// </summary>
    private async Task An_application_user_from_the_client_network_gets_in_through_both_vips_and_directly(CancellationToken ct)
    {
        var password = "it-" + Guid.NewGuid().ToString("N");
        var create = await pair.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtv", "ON_ERROR_STOP=1",
            "-c", $"CREATE ROLE it_client LOGIN PASSWORD '{password}'", "-c", "CREATE DATABASE it_clientdb OWNER it_client");
        Assert.True(create.ExitCode == 0, create.StandardError);

        // The read VIP balances over the standby too: wait until it has replayed the new database (asynchronous
        // replication; a read right after the CREATE DATABASE could reach pg2 before it, "database does not exist").
        var replayedUntil = DateTime.UtcNow.AddSeconds(30);
        while ((await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT 1 FROM pg_database WHERE datname = 'it_clientdb'")).StandardOutput.Trim() != "1")
        {
            Assert.True(DateTime.UtcNow < replayedUntil, "pg2 did not replay CREATE DATABASE it_clientdb within 30 s");
            await Task.Delay(200, ct);
        }

        string App(string host) => new NpgsqlConnectionStringBuilder
        {
            Host = host, Port = pair.Cluster.Postgres.Port, Database = "it_clientdb", Username = "it_client", Password = password,
            Timeout = 5, CommandTimeout = 10, Pooling = false, ApplicationName = "it-client",
        }.ConnectionString;

        async Task<(string Server, string Client, bool Standby)> AskAsync(string host)
        {
            await using var conn = new NpgsqlConnection(App(host));
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT host(inet_server_addr()), host(inet_client_addr()), pg_is_in_recovery()", conn);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            Assert.True(await r.ReadAsync(ct));
            return (r.GetString(0), r.GetString(1), r.GetBoolean(2));
        }

        // Writes through the write VIP: HAProxy beside the primary connects from pg1's own address.
        var write = await AskAsync(pair.Cluster.WriteVip);
        output.WriteLine($"write VIP: server {write.Server}, PostgreSQL saw {write.Client}");
        Assert.Equal(("198.18.4.247", "198.18.4.247", false), write);
        await using (var conn = new NpgsqlConnection(App(pair.Cluster.WriteVip)))
        {
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("CREATE TABLE it_rows (id int); INSERT INTO it_rows VALUES (1)", conn);
            await cmd.ExecuteNonQueryAsync(ct);
        }

        // Reads through the read VIP reach both nodes, as the application.
        var readers = new HashSet<string>(StringComparer.Ordinal);
        var until = DateTime.UtcNow.AddSeconds(15);
        while (readers.Count < 2 && DateTime.UtcNow < until)
        {
            var read = await AskAsync(pair.Cluster.ReadVip);
            readers.Add(read.Server);
            Assert.Contains(read.Client, new[] { "198.18.4.247", "198.18.4.248" }); // HAProxy's source: a node address
        }

        Assert.Equal(["198.18.4.247", "198.18.4.248"], readers.Order(StringComparer.Ordinal).ToArray());

        // Straight to the standby: PostgreSQL sees the client's own address, admitted by the client network's line.
        var direct = await AskAsync(pair.Cluster.Node2.Address);
        Assert.Equal(("198.18.4.248", "198.18.4.1", true), direct);
    }

    [Fact, TestPriority(2)]
    public async Task B_a_second_run_changes_nothing_every_step_reports_it_was_already_done()
    {
        var ct = Timeout();
        var pg1Conf = await pair.ExecAsync("pg1", ct, "md5sum", "/data10/pgdata/postgresql.conf", "/data10/pgdata/pg_hba.conf", "/etc/keepalived/keepalived.conf", "/etc/haproxy/haproxy.cfg");
        var pg1Start = await pair.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_postmaster_start_time()");
        var op = await pair.RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.True(op.Status == OperationStatus.Succeeded,
            $"the second run ended {op.Status}: {op.Error}; steps: {string.Join("; ", op.Steps.Select(s => $"{s.Name} {s.Status}: {s.Message}"))}");
        Assert.All(op.Steps, s => Assert.True(s.Status == StepStatus.Skipped, $"{s.Name} was {s.Status}: {s.Message}"));
        Assert.Equal(pg1Conf.StandardOutput, (await pair.ExecAsync("pg1", ct, "md5sum", "/data10/pgdata/postgresql.conf", "/data10/pgdata/pg_hba.conf", "/etc/keepalived/keepalived.conf", "/etc/haproxy/haproxy.cfg")).StandardOutput);
        Assert.Equal(pg1Start.StandardOutput, (await pair.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_postmaster_start_time()")).StandardOutput);
    }
}
