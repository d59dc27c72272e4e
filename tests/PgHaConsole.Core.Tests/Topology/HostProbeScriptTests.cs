using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Tests.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Topology;

public sealed class HostProbeScriptTests
{
    private const string IpJson = """
        [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"operstate":"UNKNOWN","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"},{"family":"inet","local":"198.18.4.252","prefixlen":32,"scope":"global","label":"lo"}]},
         {"ifindex":2,"ifname":"mgt","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","addr_info":[{"family":"inet","local":"198.18.4.247","prefixlen":24,"scope":"global","label":"mgt"},{"family":"inet","local":"198.18.4.251","prefixlen":24,"scope":"global","secondary":true,"label":"mgt"}]}]
        """;

    private static string Output(string balancerSection) => $"""

        @@pgha:ipaddr
        {IpJson}

        @@pgha:kastate
        STATE=MASTER INSTANCE=VI_PG PRIORITY=100 AT=1795701212 NODE=pg1

        @@pgha:karunning
        yes
        {balancerSection}
        @@pgha:end
        """;

    [Fact]
    public void Vips_on_a_real_interface_count_but_the_read_vip_on_lo_does_not()
    {
        var cluster = TopologySamples.Cluster with { Balancer = BalancerMode.Haproxy };
        var o = HostProbeScript.Parse(Output("@@pgha:haproxy\n" + HostProbeScript.NoSocat), cluster);
        Assert.True(o.HoldsWriteVip);
        Assert.False(o.HoldsReadVip);
        Assert.Equal(VrrpState.Master, o.Keepalived!.State);
        Assert.Equal(100, o.Keepalived.Priority);
        Assert.True(o.Keepalived.Running);
        Assert.Contains("socat is not installed", o.Balancer!.Unavailable, StringComparison.Ordinal);
        Assert.Empty(o.Errors);
    }

    [Fact]
    public void Ipvs_missing_is_said_plainly_with_the_mangle_rules_kept()
    {
        var cluster = TopologySamples.Cluster with { Balancer = BalancerMode.LvsDr };
        var notAvailable = Fixture.Read("ipvsadm/not-available.txt");
        var o = HostProbeScript.Parse(Output($"""
            @@pgha:ipvs
            {notAvailable}
            @@pgha:ipvsstats
            {notAvailable}
            @@pgha:ipvsrate
            {notAvailable}
            @@pgha:mangle
            -P PREROUTING ACCEPT
            -A PREROUTING -d 198.18.4.252/32 -p tcp -m tcp --dport 5432 -j MARK --set-xmark 0x3/0xffffffff
            """), cluster);
        Assert.StartsWith("IPVS not available on this host: ", o.Balancer!.Unavailable, StringComparison.Ordinal);
        Assert.Contains("Protocol not available", o.Balancer.Unavailable, StringComparison.Ordinal);
        Assert.Equal(2, o.Balancer.MangleRules.Count);
    }

    [Fact]
    public void Ipvs_tables_are_merged()
    {
        var cluster = TopologySamples.Cluster with { Balancer = BalancerMode.LvsDr };
        var o = HostProbeScript.Parse(Output($"""
            @@pgha:ipvs
            {Fixture.Read("ipvsadm/dr-list.txt")}
            @@pgha:ipvsstats
            {Fixture.Read("ipvsadm/dr-stats-suffix.txt")}
            @@pgha:ipvsrate
            {Fixture.Read("ipvsadm/dr-rate.txt")}
            @@pgha:mangle
            """), cluster);
        Assert.Null(o.Balancer!.Unavailable);
        Assert.True(o.Balancer.Ipvs!.IsAvailable);
        Assert.NotEmpty(o.Balancer.Ipvs.Services);
    }

    [Fact]
    public void Haproxy_stat_csv_is_grouped_and_keepalived_absent_is_reported()
    {
        var cluster = TopologySamples.Cluster with { Balancer = BalancerMode.Haproxy };
        var csv = """
            # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,
            pg_read,FRONTEND,,,0,1,4000,3,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,
            pg_read,pg1,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,100,0,,1,2,1,,2,,2,0,,1,L4OK,
            pg_read,pg2,0,0,0,1,,1,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,5,5,,1,2,2,,1,,2,0,,1,L4CON,
            pg_read,BACKEND,0,0,0,1,400,3,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,100,0,,1,2,0,,3,,1,0,,1,,
            """;
        var text = Output("@@pgha:haproxy\n" + csv).Replace("yes\n", "no\n", StringComparison.Ordinal);
        var o = HostProbeScript.Parse(text, cluster);
        var proxy = Assert.Single(o.Balancer!.Haproxy!);
        Assert.Equal(2, proxy.Servers.Count);
        Assert.Equal(HaproxyStatus.Down, proxy.Servers[1].Status);
        Assert.False(o.Keepalived!.Running);
        Assert.Equal(VrrpState.Stop, o.Keepalived.State);
    }

    [Fact]
    public void Cut_short_output_and_missing_state_file_are_reported_not_thrown()
    {
        var o = HostProbeScript.Parse("\n@@pgha:ipaddr\nnot json\n@@pgha:kastate\ncat: /run/keepalived/pghaconsole.state: No such file or directory\n", TopologySamples.Cluster);
        Assert.False(o.HoldsWriteVip);
        Assert.Equal(2, o.Errors.Count);
        Assert.Contains("no state file", o.Keepalived!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Script_takes_values_only_as_positional_arguments()
    {
        Assert.DoesNotContain("198.18", HostProbeScript.Script, StringComparison.Ordinal);
        var c = TopologySamples.Cluster with { Balancer = BalancerMode.LvsDr };
        Assert.Equal(["lvs", "/run/keepalived/pghaconsole.state", "/run/haproxy/admin.sock", "/etc/keepalived/pghaconsole-fenced", "/data10/pgdata", c.Node2.Address, "5432", "/run/haproxy.pid", "/run/keepalived.pid"],
            HostProbeScript.Arguments(c, c.Node1, new PgHaConsole.Core.Keepalived.KeepalivedPaths(), "/run/haproxy/admin.sock"));
    }

    [Fact]
    public void Fence_postmaster_peer_port_and_haproxy_sections_are_read()
    {
        var o = HostProbeScript.Parse(
            "@@pgha:karunning\nyes\n@@pgha:fence\nFENCED_AT=1 BY=self NODE=pg1 REASON=x\n@@pgha:postmaster\nno\n@@pgha:peerport\nclosed\n@@pgha:harunning\nno\n@@pgha:end\n",
            TopologySamples.Cluster);
        Assert.Equal("FENCED_AT=1 BY=self NODE=pg1 REASON=x", o.Fenced);
        Assert.False(o.PostmasterRunning);
        Assert.False(o.PeerPortOpen);
        Assert.False(o.HaproxyRunning);

        var healthy = HostProbeScript.Parse("@@pgha:fence\n@@pgha:postmaster\nyes\n@@pgha:peerport\nopen\n@@pgha:harunning\nyes\n@@pgha:end\n", TopologySamples.Cluster);
        Assert.Null(healthy.Fenced);
        Assert.True(healthy.PostmasterRunning);
        Assert.True(healthy.PeerPortOpen);
        Assert.True(healthy.HaproxyRunning);

        // Not observed (an older probe's output) is not "down".
        var old = HostProbeScript.Parse("@@pgha:end\n", TopologySamples.Cluster);
        Assert.Null(old.PostmasterRunning);
        Assert.Null(old.HaproxyRunning);
    }
}
