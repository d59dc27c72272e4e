using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using static PgHaConsole.Core.Tests.Topology.TopologySamples;

namespace PgHaConsole.Core.Tests.Topology;

/// <summary>The read VIP's pool on the director that holds it, read from its real ipvsadm tables.</summary>
public sealed class LvsAlarmTests
{
    private static readonly ClusterSpec Lvs = Cluster with { Balancer = BalancerMode.LvsDr };

    private const string Header = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

    private static BalancerNodeState Director(string fwm1Servers, string connections = "") =>
        HostProbeScript.ParseLvs(
            Header + "TCP  198.18.4.251:5432 rr\n  -> 198.18.4.247:5432            Local   1      0          0\nFWM  1 rr\n" + fwm1Servers,
            string.Empty, string.Empty, "-P PREROUTING ACCEPT\n", connections);

    private static ClusterTopology Assemble(BalancerNodeState director) =>
        TopologyAssembler.Assemble(Lvs, [Primary() with { Balancer = director }, Standby()], DateTimeOffset.UnixEpoch, AlarmThresholds.Default);

    [Fact]
    public void Both_real_servers_in_the_pool_raise_nothing()
    {
        var t = Assemble(Director("  -> 198.18.4.247:5432            Local   1      0          0\n  -> 198.18.4.248:5432            Route   1      2          0\n"));
        Assert.DoesNotContain(t.Alarms, a => a.Code.StartsWith("lvs-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_real_server_keepalived_removed_is_missing()
    {
        var t = Assemble(Director("  -> 198.18.4.247:5432            Local   1      0          0\n"));
        var alarm = Assert.Single(t.Alarms, a => a.Code == AlarmCodes.LvsRealServerMissing);
        Assert.Equal("pg2", alarm.Node);
        Assert.Contains("FWM 1 does not list 198.18.4.248", alarm.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_weight_of_zero_is_quiesced()
    {
        var t = Assemble(Director("  -> 198.18.4.247:5432            Local   1      0          0\n  -> 198.18.4.248:5432            Route   0      0          3\n"));
        var alarm = Assert.Single(t.Alarms, a => a.Code == AlarmCodes.LvsRealServerQuiesced);
        Assert.Equal("pg2", alarm.Node);
    }

    [Fact]
    public void No_read_service_at_all_names_both_nodes()
    {
        var director = HostProbeScript.ParseLvs(Header, string.Empty, string.Empty, string.Empty);
        var t = Assemble(director);
        Assert.Equal(2, t.Alarms.Count(a => a.Code == AlarmCodes.LvsRealServerMissing));
    }

    [Fact]
    public void Haproxy_clusters_and_unavailable_ipvs_raise_no_lvs_alarm()
    {
        var unavailable = HostProbeScript.ParseLvs("Can't initialize ipvs: Protocol not available\n", string.Empty, string.Empty, string.Empty);
        var t = Assemble(unavailable);
        Assert.DoesNotContain(t.Alarms, a => a.Code.StartsWith("lvs-", StringComparison.Ordinal));

        var haproxy = TopologyAssembler.Assemble(Cluster, [Primary() with { Balancer = Director(string.Empty) }, Standby()], DateTimeOffset.UnixEpoch, AlarmThresholds.Default);
        Assert.DoesNotContain(haproxy.Alarms, a => a.Code.StartsWith("lvs-", StringComparison.Ordinal));
    }

    [Fact]
    public void The_connection_table_is_kept_per_director()
    {
        var director = Director(
            "  -> 198.18.4.247:5432            Local   1      0          0\n",
            "IPVS connection entries\npro expire state       source             virtual            destination\nTCP 14:59  ESTABLISHED 198.18.5.1:40022   198.18.4.252:5432  198.18.4.248:5432\n");
        var entry = Assert.Single(director.Connections!.Entries);
        Assert.Equal("198.18.4.248:5432", entry.Destination.Text);
    }
}
