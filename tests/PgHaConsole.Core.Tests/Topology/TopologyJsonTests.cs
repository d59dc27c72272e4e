using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using PgHaConsole.Core.Tests.Parsing;

namespace PgHaConsole.Core.Tests.Topology;

public sealed class TopologyJsonTests
{
    [Fact]
    public void A_full_picture_reads_back_as_it_was_written()
    {
        var proxies = HaproxyStatParser.GroupByProxy(HaproxyStatParser.Parse(Fixture.Read("haproxy/show-stat-2.6.txt")).Value!);
        var ipvs = IpvsadmParser.Parse(Fixture.Read("ipvsadm/dr-list.txt")).Value!;
        var connections = IpvsConnectionParser.Parse(Fixture.Read("ipvsadm/lnc-fullnat.txt")).Value;
        var primary = TopologySamples.Primary() with
        {
            Uptime = TimeSpan.FromMinutes(42),
            Slots = [new SlotState("pg2", "physical", true, 4096)],
            Balancer = new BalancerNodeState { Haproxy = proxies, Ipvs = ipvs, Connections = connections, MangleRules = ["-A PREROUTING -d 198.18.4.252/32 -j MARK --set-mark 1"] },
            HaproxyRunning = true,
            Keepalived = new KeepalivedNodeState(true, VrrpState.Master, 100, DateTimeOffset.UnixEpoch.AddSeconds(5), "since boot"),
        };
        var standby = TopologySamples.Standby(receiver: "catchup", received: "0/3000200", replayed: "0/3000148", delay: 1.5) with
        {
            Errors = ["keepalived state file unreadable"],
            Fenced = null,
            LagBytes = 184,
            LagSeconds = 1.5,
        };
        var picture = TopologySamples.Assemble(primary, standby) with
        {
            TriggeredAt = DateTimeOffset.UnixEpoch.AddMilliseconds(1234),
            ProbeStartedAt = DateTimeOffset.UnixEpoch.AddMilliseconds(1000),
        };
        Assert.NotEmpty(picture.Alarms);
        Assert.NotEmpty(proxies);

        var json = TopologyJson.Serialize(picture);
        var read = TopologyJson.Deserialize(json);

        Assert.NotNull(read);
        Assert.Equal(json, TopologyJson.Serialize(read));
        Assert.Equal(picture.ObservedAt, read.ObservedAt);
        Assert.Equal(picture.ChangeTime, read.ChangeTime);
        Assert.Equal(picture.Alarms, read.Alarms);
        Assert.Equal(Lsn.Parse("0/3000200"), read.Nodes[1].WalReceiver!.ReceivedLsn);
        Assert.Equal(picture.Nodes[0].Balancer!.Haproxy!.Count, read.Nodes[0].Balancer!.Haproxy!.Count);
        Assert.Equal("pg1", read.Primary?.Name);
    }

    [Fact]
    public void Text_that_is_not_a_picture_reads_as_none()
    {
        Assert.Null(TopologyJson.Deserialize("{\"clusterId\": 12}"));
        Assert.Null(TopologyJson.Deserialize("not json"));
    }
}
