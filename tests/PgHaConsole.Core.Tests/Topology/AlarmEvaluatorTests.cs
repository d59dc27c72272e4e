using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using static PgHaConsole.Core.Tests.Topology.TopologySamples;

namespace PgHaConsole.Core.Tests.Topology;

public sealed class AlarmEvaluatorTests
{
    private static string[] Codes(ClusterTopology t) => t.Alarms.Select(a => a.Code).ToArray();

    [Fact]
    public void Healthy_pair_has_no_alarm()
    {
        var t = Assemble(Primary(), Standby());
        Assert.Empty(t.Alarms);
        Assert.Equal("pg1", t.WriteVipHolder);
        Assert.Equal("pg1", t.ReadVipHolder);
    }

    [Fact]
    public void Two_primaries_are_split_brain()
    {
        var t = Assemble(Primary(), Standby() with { Role = NodeRole.Primary, WalReceiver = null });
        var alarm = Assert.Single(t.Alarms, a => a.Code == AlarmCodes.SplitBrainPrimaries);
        Assert.Equal(AlarmSeverity.Critical, alarm.Severity);
        Assert.Contains("Stop PostgreSQL on the node that should not be primary", alarm.Action, StringComparison.Ordinal);
        Assert.DoesNotContain(AlarmCodes.NoPrimary, Codes(t));
    }

    [Fact]
    public void Write_vip_on_both_hosts_is_split_brain_and_has_no_single_holder()
    {
        var t = Assemble(Primary(), Standby() with { HoldsWriteVip = true });
        Assert.Contains(AlarmCodes.SplitBrainVip, Codes(t));
        Assert.Null(t.WriteVipHolder);
    }

    [Fact]
    public void Write_vip_on_the_standby_is_an_alarm()
    {
        var t = Assemble(Primary() with { HoldsWriteVip = false }, Standby() with { HoldsWriteVip = true });
        var alarm = Assert.Single(t.Alarms);
        Assert.Equal(AlarmCodes.WriteVipNotOnPrimary, alarm.Code);
        Assert.Equal("pg2", alarm.Node);
        Assert.Equal("pg2", t.WriteVipHolder);
    }

    [Fact]
    public void Write_vip_on_nobody_is_an_alarm_only_when_every_host_was_read()
    {
        var nobody = Assemble(Primary() with { HoldsWriteVip = false }, Standby());
        Assert.Contains(AlarmCodes.WriteVipNotOnPrimary, Codes(nobody));

        var unknown = Assemble(Primary() with { HoldsWriteVip = false, SshReachable = false }, Standby());
        Assert.DoesNotContain(AlarmCodes.WriteVipNotOnPrimary, Codes(unknown));
        Assert.Contains(AlarmCodes.HostUnreachable, Codes(unknown));
    }

    [Fact]
    public void No_primary_is_an_alarm()
    {
        var t = Assemble(Primary() with { Role = NodeRole.Down, PgReachable = false, HoldsWriteVip = false }, Standby());
        Assert.Contains(AlarmCodes.NoPrimary, Codes(t));
        Assert.Contains(AlarmCodes.PostgresDown, Codes(t));
        Assert.DoesNotContain(AlarmCodes.HostUnreachable, Codes(t));
    }

    [Fact]
    public void Standby_without_a_replication_row_is_not_streaming()
    {
        var t = Assemble(Primary(r => r.Include = false), Standby());
        var alarm = Assert.Single(t.Alarms);
        Assert.Equal(AlarmCodes.StandbyNotStreaming, alarm.Code);
        Assert.Contains("no pg_stat_replication row", alarm.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Standby_whose_receiver_is_waiting_is_not_streaming()
    {
        var t = Assemble(Primary(), Standby(receiver: "waiting"));
        Assert.Equal([AlarmCodes.StandbyNotStreaming], Codes(t));
    }

    [Fact]
    public void Lag_over_bytes_threshold_raises_and_under_does_not()
    {
        var over = Assemble(Primary(r => r.Row = r.Row with { LagBytes = 100L * 1024 * 1024, ReplayLag = TimeSpan.FromSeconds(2) }), Standby());
        var alarm = Assert.Single(over.Alarms);
        Assert.Equal(AlarmCodes.LagOverThreshold, alarm.Code);
        Assert.Contains("100 MB", alarm.Title, StringComparison.Ordinal);

        var under = Assemble(Primary(r => r.Row = r.Row with { LagBytes = 1024, ReplayLag = TimeSpan.FromSeconds(0.4) }), Standby());
        Assert.Empty(under.Alarms);
    }

    [Fact]
    public void Lag_over_seconds_threshold_raises()
    {
        var t = Assemble(Primary(r => r.Row = r.Row with { LagBytes = 4096, ReplayLag = TimeSpan.FromSeconds(45) }), Standby());
        Assert.Equal([AlarmCodes.LagOverThreshold], Codes(t));
    }

    [Fact]
    public void Host_unreachable_and_host_key_mismatch()
    {
        var t = Assemble(
            Primary(),
            Standby() with { SshReachable = false, HostKeyMismatch = true, Keepalived = null });
        Assert.Contains(AlarmCodes.HostKeyMismatch, Codes(t));
        Assert.DoesNotContain(AlarmCodes.HostUnreachable, Codes(t));

        var down = Assemble(
            Primary(),
            Standby() with { SshReachable = false, PgReachable = false, Role = NodeRole.Down, WalReceiver = null, Errors = ["Cannot reach pg2: no route to host."] });
        var alarm = Assert.Single(down.Alarms, a => a.Code == AlarmCodes.HostUnreachable);
        Assert.Equal("pg2: host unreachable", alarm.Title);
        Assert.Contains("no route to host", alarm.Explanation, StringComparison.Ordinal);
        Assert.DoesNotContain(AlarmCodes.PostgresDown, Codes(down));
    }

    [Fact]
    public void Keepalived_not_running_or_in_fault()
    {
        var stopped = Assemble(Primary(), Standby() with { Keepalived = new KeepalivedNodeState(false, VrrpState.Stop, 90, null, null) });
        Assert.Equal([AlarmCodes.KeepalivedDown], Codes(stopped));
        var fault = Assemble(Primary() with { Keepalived = new KeepalivedNodeState(true, VrrpState.Fault, 100, null, null) }, Standby());
        Assert.Equal([AlarmCodes.KeepalivedDown], Codes(fault));
        Assert.Equal("pg1", fault.Alarms[0].Node);
    }

    [Fact]
    public void Keepalived_in_fault_on_a_standby_is_its_designed_state()
    {
        // The check script fails on a node in recovery, so a healthy standby's instance sits in FAULT (seen on the lab).
        var healthy = Assemble(Primary(), Standby() with { Keepalived = new KeepalivedNodeState(true, VrrpState.Fault, 90, null, null) });
        Assert.Empty(healthy.Alarms);
    }

    [Fact]
    public void Critical_alarms_come_first()
    {
        var t = Assemble(
            Primary(r => r.Row = r.Row with { LagBytes = 1L << 40 }),
            Standby() with { HoldsWriteVip = true, Keepalived = new KeepalivedNodeState(false, VrrpState.Stop, null, null, null) });
        Assert.Equal(AlarmSeverity.Critical, t.Alarms[0].Severity);
        Assert.Equal(AlarmSeverity.Warning, t.Alarms[^1].Severity);
    }

    [Fact]
    public void A_fenced_node_says_it_needs_a_rejoin()
    {
        var t = Assemble(Primary(r => r.Include = false), Standby() with { Role = NodeRole.Down, PgReachable = false, WalReceiver = null, Fenced = "FENCED_AT=1 BY=self NODE=pg2 REASON=x" });
        var alarm = Assert.Single(t.Alarms, a => a.Code == AlarmCodes.NodeFenced);
        Assert.Equal("pg2", alarm.Node);
        Assert.Contains("Rejoin pg2", alarm.Action, StringComparison.Ordinal);
        Assert.DoesNotContain(Assemble(Primary(), Standby()).Alarms, a => a.Code == AlarmCodes.NodeFenced);
    }

    [Fact]
    public void A_dead_haproxy_is_critical_on_the_vip_holder_and_a_warning_elsewhere()
    {
        var onHolder = Assemble(Primary() with { HaproxyRunning = false }, Standby() with { HaproxyRunning = true });
        var a = Assert.Single(onHolder.Alarms, x => x.Code == AlarmCodes.HaproxyDown);
        Assert.Equal(AlarmSeverity.Critical, a.Severity);
        Assert.Equal("pg1", a.Node);

        var elsewhere = Assemble(Primary() with { HaproxyRunning = true }, Standby() with { HaproxyRunning = false });
        Assert.Equal(AlarmSeverity.Warning, Assert.Single(elsewhere.Alarms, x => x.Code == AlarmCodes.HaproxyDown).Severity);

        // Not observed (null) is not "down".
        Assert.DoesNotContain(Assemble(Primary(), Standby()).Alarms, x => x.Code == AlarmCodes.HaproxyDown);
    }
}
