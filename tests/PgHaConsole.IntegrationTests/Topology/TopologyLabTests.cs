using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Topology;

/// <summary>A <see cref="PairFixture"/> with the topology prober registered (not started: the tests probe on demand).</summary>
public sealed class TopologyPairFixture : PairFixture
{
    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddPgHaConsoleTopology();
        services.Configure<TopologyOptions>(o =>
        {
            o.Enabled = false;
            o.ProbeTimeout = TimeSpan.FromSeconds(3);
        });
    }
}

[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<TopologyPairFixture>
{
    public const string Name = "topology";
}

/// <summary>
/// The prober against the real pair: a healthy picture after the wizard, then one fault at a time (each undone
/// before the next), each raising its alarm and clearing it when undone. The split brain comes last.
/// </summary>
[Collection(TopologyCollection.Name)]
[TestCaseOrderer("PgHaConsole.IntegrationTests.Infrastructure.DeclarationOrderer", "PgHaConsole.IntegrationTests")]
public sealed class TopologyLabTests(TopologyPairFixture pair, ITestOutputHelper output)
{
    // As the web app serializes API answers (HostingExtensions: web defaults plus enums as their names).
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private const string PgCtl = "/usr/lib/postgresql/15/bin/pg_ctl";
    private const string DataDir = "/data10/pgdata";

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    private ITopologyMonitor Monitor => pair.Get<ITopologyMonitor>();

    private static string Describe(ClusterTopology? t) => t is null
        ? "(no picture)"
        : string.Join("; ", t.Nodes.Select(n =>
              $"{n.Name}: role={n.Role} ssh={n.SshReachable} pg={n.PgReachable} tl={n.Timeline} lag={n.LagBytes}/{n.LagSeconds} w={n.HoldsWriteVip} r={n.HoldsReadVip} ka={n.Keepalived?.Running}/{n.Keepalived?.State} receiver={n.WalReceiver?.Status} errors=[{string.Join(" | ", n.Errors)}]"))
          + $" | write={t.WriteVipHolder} read={t.ReadVipHolder} alarms=[{string.Join(", ", t.Alarms.Select(a => a.Key))}]";

    /// <summary>Probes until <paramref name="until"/> holds or <paramref name="within"/> passes; fails with the last picture.</summary>
    private async Task<ClusterTopology> WaitForAsync(string what, Func<ClusterTopology, bool> until, TimeSpan within, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        ClusterTopology? last = null;
        while (true)
        {
            last = await Monitor.ProbeNowAsync(pair.Cluster.Id, ct);
            output.WriteLine($"  {what} +{watch.Elapsed.TotalSeconds:0.0} s: alarms [{string.Join(", ", last?.Alarms.Select(a => a.Key) ?? [])}]");
            if (last is not null && until(last))
            {
                output.WriteLine($"{what}: after {watch.Elapsed.TotalSeconds:0.0} s: {Describe(last)}");
                return last;
            }

            if (watch.Elapsed > within)
            {
                Assert.Fail($"{what}: not seen within {within.TotalSeconds:0} s. Last picture: {Describe(last)}");
            }

            await Task.Delay(500, ct);
        }
    }

    private static bool Has(ClusterTopology t, string code, string? node = null) =>
        t.Alarms.Any(a => a.Code == code && (node is null || a.Node == node));

    private static bool Healthy(ClusterTopology t) =>
        t.Alarms.Count == 0
        && t.Nodes.Single(n => n.Name == "pg1").Role == NodeRole.Primary
        && t.Nodes.Single(n => n.Name == "pg2").Role == NodeRole.Standby
        && t.WriteVipHolder == "pg1";

    private Task<ClusterTopology> WaitHealthyAsync(string what, TimeSpan within, CancellationToken ct) => WaitForAsync(what, Healthy, within, ct);

    private async Task<string> RunAsync(string host, CancellationToken ct, params string[] argv)
    {
        var r = await pair.ExecAsync(host, ct, argv);
        output.WriteLine($"[{host}] {string.Join(' ', argv)} → {r.ExitCode} {r.StandardOutput.Trim()} {r.StandardError.Trim()}");
        return r.StandardOutput;
    }

    private Task<string> PgCtlAsync(string host, string action, CancellationToken ct) =>
        RunAsync(host, ct, "runuser", "-u", "postgres", "--", "bash", "-c",
            action == "start"
                ? $"{PgCtl} -D {DataDir} -l /data10/postgresql.log -w start </dev/null >/dev/null 2>&1; echo $?"
                : $"{PgCtl} -D {DataDir} -w -m fast {action} </dev/null 2>&1; echo $?");

    [Fact, TestPriority(1)]
    public async Task A_after_setup_the_picture_is_healthy_and_serializes_as_the_api_shape()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        var t = await WaitHealthyAsync("healthy after setup", TimeSpan.FromSeconds(20), ct);

        var pg1 = t.Nodes.Single(n => n.Name == "pg1");
        var pg2 = t.Nodes.Single(n => n.Name == "pg2");
        Assert.True(pg1.SshReachable && pg1.PgReachable && pg2.SshReachable && pg2.PgReachable);
        Assert.Equal(1, pg1.Timeline);
        Assert.Equal(1, pg2.Timeline);
        Assert.StartsWith("15.", pg1.Version, StringComparison.Ordinal);
        Assert.NotNull(pg1.CurrentLsn);
        Assert.Equal("streaming", pg2.WalReceiver?.Status);
        Assert.NotNull(pg2.LagBytes); // a number for a streaming standby (its value is checked below: 0 once caught up)
        Assert.Equal("pg1", t.WriteVipHolder);
        Assert.Equal("pg1", t.ReadVipHolder);
        Assert.Equal(VrrpState.Master, pg1.Keepalived?.State);
        Assert.True(pg1.Keepalived?.Running);
        Assert.True(pg2.Keepalived?.Running);
        Assert.NotEqual(VrrpState.Master, pg2.Keepalived?.State);
        Assert.Null(pg1.LagBytes);
        var row = Assert.Single(pg1.Replication);
        Assert.Equal("pg2", row.ApplicationName);
        Assert.Equal("streaming", row.State);
        Assert.NotNull(pg1.Balancer?.Haproxy);

        // An idle pair is caught up: lag reaches 0 B (the wizard's last writes replayed).
        var caughtUp = await WaitForAsync("caught up", x => TopologyFormat.Lag(x.Nodes.Single(n => n.Name == "pg2").LagBytes, x.Nodes.Single(n => n.Name == "pg2").LagSeconds) == "caught up", TimeSpan.FromSeconds(15), ct);
        Assert.Equal(0, caughtUp.Nodes.Single(n => n.Name == "pg2").LagBytes);

        // The shape GET /api/clusters/{id}/topology answers (web defaults: camelCase properties, enums by name).
        var json = JsonSerializer.Serialize(t, Web);
        output.WriteLine(json);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("pg1", root.GetProperty("writeVipHolder").GetString());
        Assert.Equal("pg1", root.GetProperty("readVipHolder").GetString());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("alarms").ValueKind);
        Assert.Equal(0, root.GetProperty("alarms").GetArrayLength());
        var nodes = root.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal("pg1,pg2", string.Join(",", nodes.Select(n => n.GetProperty("name").GetString())));
        Assert.Equal("Primary,Standby", string.Join(",", nodes.Select(n => n.GetProperty("role").GetString())));
        Assert.All(nodes, n => Assert.Equal(1, n.GetProperty("timeline").GetInt32()));
        Assert.Equal(JsonValueKind.Null, nodes[0].GetProperty("lagBytes").ValueKind);
        Assert.True(nodes[1].GetProperty("lagBytes").GetInt64() >= 0);
        Assert.DoesNotContain((await pair.Get<PgHaConsole.Infrastructure.Store.IClusterRepository>().GetClusterSecretsAsync(pair.Cluster.Id, ct))!.MonitorPassword!, json, StringComparison.Ordinal);
    }

    [Fact, TestPriority(2)]
    public async Task B_postgres_stopped_on_the_standby_raises_postgres_down_and_clears_when_started()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        await WaitHealthyAsync("healthy before", TimeSpan.FromSeconds(20), ct);

        await PgCtlAsync("pg2", "stop", ct);
        var down = await WaitForAsync("pg2 down", t => Has(t, AlarmCodes.PostgresDown, "pg2"), TimeSpan.FromSeconds(10), ct);
        var pg2 = down.Nodes.Single(n => n.Name == "pg2");
        Assert.Equal(NodeRole.Down, pg2.Role);
        Assert.False(pg2.PgReachable);
        Assert.True(pg2.SshReachable);
        Assert.Equal(NodeRole.Primary, down.Nodes.Single(n => n.Name == "pg1").Role);
        Assert.DoesNotContain(down.Alarms, a => a.Code is AlarmCodes.HostUnreachable or AlarmCodes.NoPrimary or AlarmCodes.WriteVipNotOnPrimary);

        await PgCtlAsync("pg2", "start", ct);
        await WaitHealthyAsync("pg2 started again", TimeSpan.FromSeconds(30), ct);
    }

    [Fact, TestPriority(3)]
    public async Task C_keepalived_stopped_on_the_vip_holder_raises_write_vip_alarm_and_clears_when_restarted()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        await WaitHealthyAsync("healthy before", TimeSpan.FromSeconds(20), ct);

        await RunAsync("pg1", ct, "bash", "-c", "kill \"$(cat /run/keepalived.pid)\"");
        var fault = await WaitForAsync("write VIP lost", t => Has(t, AlarmCodes.WriteVipNotOnPrimary), TimeSpan.FromSeconds(10), ct);
        Assert.NotEqual("pg1", fault.WriteVipHolder);
        Assert.NotEqual("pg2", fault.WriteVipHolder); // pg2 is a standby: its check script keeps it from taking the VIP
        var stopped = await WaitForAsync("keepalived-down on pg1", t => Has(t, AlarmCodes.KeepalivedDown, "pg1"), TimeSpan.FromSeconds(10), ct);
        Assert.False(stopped.Nodes.Single(n => n.Name == "pg1").Keepalived?.Running);

        await RunAsync("pg1", ct, "bash", "-c", "keepalived -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid </dev/null >/dev/null 2>&1; echo $?");
        var healthy = await WaitHealthyAsync("keepalived restarted on pg1", TimeSpan.FromSeconds(20), ct);
        Assert.Equal(VrrpState.Master, healthy.Nodes.Single(n => n.Name == "pg1").Keepalived?.State);
    }

    [Fact, TestPriority(4)]
    public async Task D_standby_network_down_raises_host_unreachable_and_clears_when_up()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        await WaitHealthyAsync("healthy before", TimeSpan.FromSeconds(20), ct);

        try
        {
            await RunAsync("pg2", ct, "ip", "link", "set", "mgt", "down");
            var cut = await WaitForAsync("pg2 unreachable", t => Has(t, AlarmCodes.HostUnreachable, "pg2"), TimeSpan.FromSeconds(10), ct);
            var pg2 = cut.Nodes.Single(n => n.Name == "pg2");
            Assert.False(pg2.SshReachable);
            Assert.False(pg2.PgReachable);
            Assert.Equal(NodeRole.Primary, cut.Nodes.Single(n => n.Name == "pg1").Role);
            Assert.Equal("pg1", cut.WriteVipHolder);
            Assert.DoesNotContain(cut.Alarms, a => a.Code is AlarmCodes.PostgresDown or AlarmCodes.WriteVipNotOnPrimary);
        }
        finally
        {
            await RunAsync("pg2", CancellationToken.None, "ip", "link", "set", "mgt", "up");
        }

        // The standby's WAL receiver retries every few seconds (wal_retrieve_retry_interval): allow for it.
        await WaitHealthyAsync("pg2 reachable again", TimeSpan.FromSeconds(40), ct);
    }

    [Fact, TestPriority(5)]
    public async Task E_a_standby_promoted_by_hand_raises_split_brain()
    {
        var ct = Timeout();
        await pair.EnsureSetUpAsync(ct);
        await WaitHealthyAsync("healthy before", TimeSpan.FromSeconds(20), ct);

        // Last test: the fixture resets the lab afterwards.
        await PgCtlAsync("pg2", "promote", ct);
        var split = await WaitForAsync("split brain", t => Has(t, AlarmCodes.SplitBrainPrimaries), TimeSpan.FromSeconds(10), ct);
        Assert.All(split.Nodes, n => Assert.Equal(NodeRole.Primary, n.Role));
        Assert.Equal(AlarmCodes.SplitBrainPrimaries, split.Alarms[0].Code);
        Assert.Equal(AlarmSeverity.Critical, split.Alarms[0].Severity);
        // The promoted node's timeline moves on at once (read from its current WAL file name).
        Assert.Equal(2, split.Nodes.Single(n => n.Name == "pg2").Timeline);
        Assert.Equal(1, split.Nodes.Single(n => n.Name == "pg1").Timeline);

        // And it clears: with the promoted node stopped only one primary is left (its own "down" alarm stays).
        await PgCtlAsync("pg2", "stop", ct);
        var cleared = await WaitForAsync("split brain cleared",
            t => !Has(t, AlarmCodes.SplitBrainPrimaries) && t.Nodes.Single(n => n.Name == "pg2").Role != NodeRole.Primary, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(NodeRole.Primary, cleared.Nodes.Single(n => n.Name == "pg1").Role);
        Assert.NotEmpty(cleared.Alarms);
    }
}
