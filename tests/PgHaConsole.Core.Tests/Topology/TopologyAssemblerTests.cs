using System.Text.Json;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using static PgHaConsole.Core.Tests.Topology.TopologySamples;

namespace PgHaConsole.Core.Tests.Topology;

public sealed class TopologyAssemblerTests
{
    [Fact]
    public void Idle_caught_up_standby_with_null_replay_lag_is_caught_up_not_lagging()
    {
        // replay_lag is NULL on an idle primary; the standby's last replayed transaction is hours old.
        var t = Assemble(Primary(r => r.Row = r.Row with { ReplayLag = null, WriteLag = null, FlushLag = null }), Standby());
        var standby = t.Nodes.Single(n => n.Name == "pg2");
        Assert.Equal(0, standby.LagBytes);
        Assert.Equal(0, standby.LagSeconds);
        Assert.Equal("caught up", TopologyFormat.Lag(standby.LagBytes, standby.LagSeconds));
        Assert.Empty(t.Alarms);
    }

    [Fact]
    public void Caught_up_standby_with_a_stale_replay_lag_is_caught_up()
    {
        // Seen on the lab: after a 6 s network cut the walsender kept showing replay_lag 6.4 s with replay = current.
        var t = Assemble(Primary(r => r.Row = r.Row with { LagBytes = 0, ReplayLag = TimeSpan.FromSeconds(45) }), Standby());
        var standby = t.Nodes.Single(n => n.Name == "pg2");
        Assert.Equal(0, standby.LagSeconds);
        Assert.Equal("caught up", TopologyFormat.Lag(standby.LagBytes, standby.LagSeconds));
        Assert.Empty(t.Alarms);
    }

    [Fact]
    public void Idle_primary_guard_on_the_standby_side()
    {
        var lastReplay = DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var now = lastReplay.AddHours(3);
        var same = Lsn.Parse("0/5000060");
        Assert.Equal(0, ReplicationLag.StandbyDelaySeconds(same, same, lastReplay, now));
        Assert.Equal(3 * 3600, ReplicationLag.StandbyDelaySeconds(Lsn.Parse("0/5000100"), same, lastReplay, now));
        Assert.Null(ReplicationLag.StandbyDelaySeconds(Lsn.Parse("0/5000100"), same, null, now));
        Assert.Equal(160, ReplicationLag.StandbyPendingBytes(Lsn.Parse("0/5000100"), same));
    }

    [Fact]
    public void Row_is_matched_by_client_address_when_application_name_differs()
    {
        var t = Assemble(
            Primary(r => r.Row = r.Row with { ApplicationName = "walreceiver", ClientAddress = "::ffff:198.18.4.248", LagBytes = 12 * 1024, ReplayLag = TimeSpan.FromSeconds(0.4) }),
            Standby());
        var standby = t.Nodes.Single(n => n.Name == "pg2");
        Assert.Equal(12 * 1024, standby.LagBytes);
        Assert.Equal(0.4, standby.LagSeconds);
        Assert.Equal("12 kB, 0.4 s", TopologyFormat.Lag(standby.LagBytes, standby.LagSeconds));
        Assert.Null(t.Nodes.Single(n => n.Name == "pg1").LagBytes);
    }

    [Fact]
    public void Without_a_row_lag_is_measured_against_the_primary_position()
    {
        var t = Assemble(Primary(r => r.Include = false), Standby(receiver: "waiting", received: "0/2000000", replayed: "0/2000000", delay: 0));
        Assert.Equal(0x1000148, t.Nodes.Single(n => n.Name == "pg2").LagBytes);
    }

    [Fact]
    public void Without_a_primary_lag_is_received_minus_replayed()
    {
        var t = Assemble(
            Primary() with { Role = NodeRole.Down, PgReachable = false, CurrentLsn = null, Replication = [] },
            Standby(received: "0/3000200", replayed: "0/3000100", delay: 1.5));
        var standby = t.Nodes.Single(n => n.Name == "pg2");
        Assert.Equal(0x100, standby.LagBytes);
        Assert.Equal(1.5, standby.LagSeconds);
    }

    [Fact]
    public void Lsn_serializes_as_its_text()
    {
        var t = Assemble(Primary(), Standby());
        var json = JsonSerializer.Serialize(t, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        Assert.Contains("\"currentLsn\":\"0/3000148\"", json, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<Lsn?>("\"16/B374D848\"");
        Assert.Equal(Lsn.Parse("16/B374D848"), back);
    }

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(12288L, "12 kB")]
    [InlineData(1536L, "1.5 kB")]
    [InlineData(67108864L, "64 MB")]
    public void Bytes_read_like_pg_size_pretty(long bytes, string text) => Assert.Equal(text, TopologyFormat.Bytes(bytes));

    [Fact]
    public void A_silent_host_is_shown_as_not_answering_with_the_other_node_as_last_seen()
    {
        var latest = Assemble(Primary(), Standby());
        var at = DateTimeOffset.UnixEpoch.AddSeconds(5);
        var t = TopologyAssembler.WithUnanswered(Cluster, latest, "pg1", "no line for 1.2 s", at, AlarmThresholds.Default);

        var pg1 = t.Nodes.Single(n => n.Name == "pg1");
        Assert.Equal((false, false, NodeRole.Down, false), (pg1.SshReachable, pg1.PgReachable, pg1.Role, pg1.HoldsWriteVip));
        Assert.Equal(["no line for 1.2 s"], pg1.Errors);
        var (before, after) = (latest.Nodes.Single(n => n.Name == "pg2"), t.Nodes.Single(n => n.Name == "pg2"));
        Assert.Equal((before.Role, before.SshReachable, before.PgReachable, before.Keepalived, before.ReplayedLsn), (after.Role, after.SshReachable, after.PgReachable, after.Keepalived, after.ReplayedLsn));
        Assert.Equal((at, at), (t.ObservedAt, t.TriggeredAt!.Value));
        Assert.Null(t.WriteVipHolder);
        Assert.Contains(t.Alarms, a => a.Code == AlarmCodes.HostUnreachable && a.Node == "pg1");
        Assert.DoesNotContain(latest.Alarms, a => a.Code == AlarmCodes.HostUnreachable);

        // Already not answering, or not a node of the picture: nothing new to show.
        Assert.Same(t, TopologyAssembler.WithUnanswered(Cluster, t, "pg1", "again", at.AddSeconds(1)));
        Assert.Same(latest, TopologyAssembler.WithUnanswered(Cluster, latest, "pg9", "unknown", at));
    }
}
