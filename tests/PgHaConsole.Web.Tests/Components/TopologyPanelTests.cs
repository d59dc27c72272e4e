using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using PgHaConsole.Web.Components.Controls.Topology;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>bUnit: each topology panel renders a realistic picture of the lab pair.</summary>
public sealed class TopologyPanelTests
{
    private static readonly ClusterSpec Cluster = new()
    {
        Name = "lab",
        Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.247" },
        Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.248" },
        WriteVip = "198.18.4.251",
        ReadVip = "198.18.4.252",
    };

    private static BunitContext NewContext()
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Render<MudPopoverProvider>();
        return ctx;
    }

    private static NodeState Pg1(ReplicationRow? row = null) => new()
    {
        NodeId = Cluster.Node1.Id,
        Name = "pg1",
        Address = "198.18.4.247",
        SshReachable = true,
        PgReachable = true,
        Role = NodeRole.Primary,
        Version = "15.8",
        Timeline = 2,
        CurrentLsn = Lsn.Parse("0/3000148"),
        Connections = 7,
        MaxConnections = 100,
        RewindReady = true,
        HoldsWriteVip = true,
        Keepalived = new KeepalivedNodeState(true, VrrpState.Master, 100, DateTimeOffset.UnixEpoch, "instance VI_PG"),
        Replication = [row ?? new ReplicationRow
        {
            ApplicationName = "pg2",
            ClientAddress = "198.18.4.248",
            State = "streaming",
            SyncState = "async",
            SentLsn = Lsn.Parse("0/3000148"),
            WriteLsn = Lsn.Parse("0/3000148"),
            FlushLsn = Lsn.Parse("0/3000148"),
            ReplayLsn = Lsn.Parse("0/3000148"),
            LagBytes = 0,
        }],
        Slots = [new SlotState("pg2", "physical", true, 16384)],
    };

    private static NodeState Pg2() => new()
    {
        NodeId = Cluster.Node2.Id,
        Name = "pg2",
        Address = "198.18.4.248",
        SshReachable = true,
        PgReachable = true,
        Role = NodeRole.Standby,
        Version = "15.8",
        Timeline = 2,
        ReceivedLsn = Lsn.Parse("0/3000148"),
        ReplayedLsn = Lsn.Parse("0/3000148"),
        HoldsReadVip = true,
        WalReceiver = new WalReceiverState { Status = "streaming", SenderHost = "198.18.4.247", SenderPort = 5432, ReplayDelaySeconds = 0 },
        Keepalived = new KeepalivedNodeState(true, VrrpState.Backup, 90, DateTimeOffset.UnixEpoch, null),
    };

    private static ClusterTopology Picture(params NodeState[] nodes) =>
        TopologyAssembler.Assemble(Cluster, nodes.Length == 0 ? [Pg1(), Pg2()] : nodes, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Split_brain_alarm_is_shown_with_explanation_and_action()
    {
        await using var ctx = NewContext();
        var t = Picture(Pg1(), Pg2() with { Role = NodeRole.Primary, WalReceiver = null, HoldsWriteVip = true });
        var cut = ctx.Render<TopologyAlarms>(p => p.Add(x => x.Alarms, t.Alarms));
        var alarms = cut.FindAll("[data-testid=alarm]");
        Assert.Contains(alarms, a => a.GetAttribute("data-alarm-code") == AlarmCodes.SplitBrainPrimaries);
        Assert.Contains(alarms, a => a.GetAttribute("data-alarm-code") == AlarmCodes.SplitBrainVip);
        Assert.Contains("Split brain", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("rejoin it from the Operations page", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_alarm_says_so()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<TopologyAlarms>(p => p.Add(x => x.Alarms, Picture().Alarms));
        Assert.Empty(cut.FindAll("[data-testid=alarm]"));
        Assert.NotNull(cut.Find("[data-testid=no-alarms]"));
    }

    [Fact]
    public async Task Replication_table_shows_caught_up_for_null_lag()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<ReplicationPanel>(p => p.Add(x => x.Topology, Picture()));
        Assert.Equal("caught up", cut.Find("[data-testid=replication-replay-lag]").TextContent.Trim());
        Assert.Equal("caught up", cut.Find("[data-testid=replication-write-lag]").TextContent.Trim());
        Assert.Equal("streaming", cut.Find("[data-testid=replication-state]").TextContent.Trim());
        Assert.Equal("caught up", cut.Find("[data-testid=wal-receiver-delay]").TextContent.Trim());
        Assert.Contains("16 kB", cut.Find("[data-testid=slots-table]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replication_table_shows_seconds_when_lagging()
    {
        await using var ctx = NewContext();
        var row = Pg1().Replication[0] with { LagBytes = 12 * 1024, ReplayLag = TimeSpan.FromSeconds(0.4) };
        var cut = ctx.Render<ReplicationPanel>(p => p.Add(x => x.Topology, Picture(Pg1(row), Pg2())));
        Assert.Equal("0.4 s", cut.Find("[data-testid=replication-replay-lag]").TextContent.Trim());
        Assert.Equal("12 kB", cut.Find("[data-testid=replication-lag-bytes]").TextContent.Trim());
    }

    [Fact]
    public async Task Diagram_draws_vip_badges_on_their_holders_and_labels_the_arrow()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<TopologyDiagram>(p => p.Add(x => x.Topology, Picture()));
        Assert.NotNull(cut.Find("[data-testid=topology-diagram]"));
        Assert.NotNull(cut.Find("[data-testid=diagram-node-pg1] [data-testid=vip-badge-write-pg1]"));
        Assert.NotNull(cut.Find("[data-testid=diagram-node-pg2] [data-testid=vip-badge-read-pg2]"));
        Assert.Empty(cut.FindAll("[data-testid=vip-badge-write-pg2]"));
        Assert.Equal("primary", cut.Find("[data-testid=diagram-node-pg1]").GetAttribute("data-role"));
        Assert.Equal("caught up", cut.Find("[data-testid=replication-label]").TextContent.Trim());
    }

    [Fact]
    public async Task Node_card_shows_role_and_details()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<NodeCard>(p => p.Add(x => x.Node, Picture().Nodes[1]));
        var card = cut.Find("[data-testid=node-card-pg2]");
        Assert.Equal("standby", card.GetAttribute("data-role"));
        Assert.Equal("caught up", cut.Find("[data-testid=node-lag]").TextContent.Trim());
        Assert.Equal("2", cut.Find("[data-testid=node-timeline]").TextContent.Trim());

        var down = ctx.Render<NodeCard>(p => p.Add(x => x.Node, Pg1() with { Role = NodeRole.Down, PgReachable = false, Errors = ["PostgreSQL on 198.18.4.247:5432 does not answer: Connection refused"] }));
        Assert.Equal("down", down.Find("[data-testid=node-card-pg1]").GetAttribute("data-role"));
        Assert.Contains("Connection refused", down.Find("[data-testid=node-error]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keepalived_panel_shows_state_and_priority()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<KeepalivedPanel>(p => p.Add(x => x.Topology, Picture()));
        Assert.Equal("MASTER", cut.Find("[data-testid=keepalived-pg1] [data-testid=keepalived-state]").TextContent.Trim());
        Assert.Contains("90", cut.Find("[data-testid=keepalived-pg2]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Balancer_panel_says_ipvs_is_not_available()
    {
        await using var ctx = NewContext();
        var unavailable = new BalancerNodeState { Unavailable = "IPVS not available on this host: Can't initialize ipvs: Protocol not available" };
        var t = Picture(Pg1() with { Balancer = unavailable }, Pg2() with { Balancer = unavailable });
        var cut = ctx.Render<BalancerPanel>(p => p.Add(x => x.Topology, t).Add(x => x.Mode, BalancerMode.LvsDr));
        var messages = cut.FindAll("[data-testid=balancer-unavailable]");
        Assert.Equal(2, messages.Count);
        Assert.Contains("IPVS not available on this host", messages[0].TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Balancer_panel_shows_ipvs_tables_and_mangle_rules()
    {
        await using var ctx = NewContext();
        var listing = """
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
            TCP  198.18.4.252:5432 rr
              -> 198.18.4.247:5432            Route   1      2          0
              -> 198.18.4.248:5432            Route   1      3          1
            """;
        var table = IpvsadmParser.Parse(listing).Value!;
        var b = new BalancerNodeState { Ipvs = table, MangleRules = ["-A PREROUTING -d 198.18.4.252/32 -p tcp -m tcp --dport 5432 -j MARK --set-xmark 0x3/0xffffffff"] };
        var cut = ctx.Render<BalancerPanel>(p => p.Add(x => x.Topology, Picture(Pg1() with { Balancer = b }, Pg2())).Add(x => x.Mode, BalancerMode.LvsDr));
        Assert.Contains("TCP 198.18.4.252:5432", cut.Find("[data-testid=ipvs-services]").TextContent, StringComparison.Ordinal);
        var servers = cut.Find("[data-testid=ipvs-real-servers]").TextContent;
        Assert.Contains("198.18.4.248:5432", servers, StringComparison.Ordinal);
        Assert.Contains("DR (Route)", servers, StringComparison.Ordinal);
        Assert.Contains("--set-xmark 0x3", cut.Find("[data-testid=mangle-rules]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Balancer_panel_shows_haproxy_server_states()
    {
        await using var ctx = NewContext();
        var csv = """
            # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,
            pg_read,FRONTEND,,,0,1,4000,3,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,
            pg_read,pg1,0,0,0,1,,2,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,100,0,,1,2,1,,2,,2,0,,1,L4OK,
            pg_read,pg2,0,0,0,1,,1,0,0,,0,,0,0,0,0,DOWN,1,1,0,1,1,5,5,,1,2,2,,1,,2,0,,1,L4CON,
            pg_read,BACKEND,0,0,0,1,400,3,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,100,0,,1,2,0,,3,,1,0,,1,,
            """;
        var proxies = HaproxyStatParser.GroupByProxy(HaproxyStatParser.Parse(csv).Value!);
        var b = new BalancerNodeState { Haproxy = proxies };
        var cut = ctx.Render<BalancerPanel>(p => p.Add(x => x.Topology, Picture(Pg1() with { Balancer = b }, Pg2())).Add(x => x.Mode, BalancerMode.Haproxy));
        Assert.Equal("UP", cut.Find("[data-testid=haproxy-server-pg_read-pg1]").TextContent.Trim());
        Assert.Equal("DOWN", cut.Find("[data-testid=haproxy-server-pg_read-pg2]").TextContent.Trim());
        Assert.Equal("UP", cut.Find("[data-testid=haproxy-backend-status]").TextContent.Trim());
        Assert.Contains("Not read", cut.Find("[data-testid=balancer-pg2]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void View_model_lag_column_never_blank()
    {
        var row = new ReplicationRow { ApplicationName = "pg2", State = "streaming", LagBytes = 0 };
        Assert.Equal("caught up", TopologyViewModel.LagColumn(null, row));
        Assert.Equal("not reported", TopologyViewModel.LagColumn(null, row with { LagBytes = 5000 }));
        Assert.Equal("1.2 s", TopologyViewModel.LagColumn(TimeSpan.FromSeconds(1.2), row));
        var diagram = TopologyViewModel.Diagram(Picture(Pg2(), Pg1()));
        Assert.Equal("pg1", diagram.Nodes[0].Name); // the primary is drawn on the left
    }
}
