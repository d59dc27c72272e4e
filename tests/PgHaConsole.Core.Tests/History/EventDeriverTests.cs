using PgHaConsole.Core.History;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.History;

public sealed class EventDeriverTests
{
    [Fact]
    public void First_picture_gives_no_events() =>
        Assert.Empty(EventDeriver.Derive(null, Pictures.Cluster(Pictures.T0)));

    [Fact]
    public void Same_state_gives_no_events() =>
        Assert.Empty(EventDeriver.Derive(Pictures.Cluster(Pictures.T0), Pictures.Cluster(Pictures.T0.AddSeconds(15))));

    [Fact]
    public void Switchover_gives_role_timeline_and_vip_events()
    {
        var before = Pictures.Cluster(Pictures.T0);
        var newPrimary = Pictures.Primary("pg2") with { Timeline = 2 };
        var oldPrimary = Pictures.Standby("pg1") with { Timeline = 2 };
        var after = Pictures.Cluster(Pictures.T0.AddSeconds(15), oldPrimary, newPrimary);

        var events = EventDeriver.Derive(before, after);

        Assert.Contains(events, e => e.Kind == HealthEventKinds.RoleChanged && e.Node == "pg1" && e.Message == "pg1: primary → standby");
        Assert.Contains(events, e => e.Kind == HealthEventKinds.RoleChanged && e.Node == "pg2" && e.Message == "pg2: standby → primary");
        Assert.Contains(events, e => e.Kind == HealthEventKinds.TimelineChanged && e.Node == "pg2" && e.Message == "pg2: timeline 1 → 2");
        Assert.Contains(events, e => e.Kind == HealthEventKinds.WriteVipMoved && e.Message == "Write VIP: pg1 → pg2");
        Assert.Contains(events, e => e.Kind == HealthEventKinds.ReadVipMoved && e.Message == "Read VIP: pg1 → pg2");
        Assert.All(events, e => Assert.Equal(after.ObservedAt.ToUnixTimeMilliseconds(), e.AtMs));
        Assert.All(events, e => Assert.Equal(Pictures.ClusterId, e.ClusterId));
    }

    [Fact]
    public void Standby_that_stops_streaming_and_resumes()
    {
        var streaming = Pictures.Cluster(Pictures.T0, Pictures.Primary(), Pictures.Standby());
        var stopped = Pictures.Cluster(Pictures.T0.AddSeconds(15), Pictures.Primary(), Pictures.Standby(receiver: null));
        var again = Pictures.Cluster(Pictures.T0.AddSeconds(30), Pictures.Primary(), Pictures.Standby());

        var down = Assert.Single(EventDeriver.Derive(streaming, stopped));
        Assert.Equal((HealthEventKinds.ReplicationChanged, "pg2", HealthEventSeverity.Warning), (down.Kind, down.Node, down.Severity));
        Assert.Equal("pg2 stopped streaming (WAL receiver: none)", down.Message);
        var up = Assert.Single(EventDeriver.Derive(stopped, again));
        Assert.Equal("pg2 is streaming again", up.Message);
    }

    [Fact]
    public void Alarms_raised_and_cleared_by_key()
    {
        var split = Pictures.Alarm(AlarmCodes.SplitBrainPrimaries, null);
        var hostPg2 = Pictures.Alarm(AlarmCodes.HostUnreachable, "pg2");
        var hostPg1 = Pictures.Alarm(AlarmCodes.HostUnreachable, "pg1");
        var before = Pictures.Cluster(Pictures.T0) with { Alarms = [split, hostPg2] };
        var after = Pictures.Cluster(Pictures.T0.AddSeconds(15)) with { Alarms = [hostPg2, hostPg1] };

        var events = EventDeriver.Derive(before, after);

        Assert.Equal(2, events.Count);
        var raised = Assert.Single(events, e => e.Kind == HealthEventKinds.AlarmRaised);
        Assert.Equal("host-unreachable@pg1", raised.AlarmKey);
        Assert.Equal(HealthEventSeverity.Critical, raised.Severity);
        var cleared = Assert.Single(events, e => e.Kind == HealthEventKinds.AlarmCleared);
        Assert.Equal("split-brain-primaries", cleared.AlarmKey);
        Assert.Equal("Cleared: Title of split-brain-primaries", cleared.Message);
    }

    [Fact]
    public void Host_lost_and_back()
    {
        var before = Pictures.Cluster(Pictures.T0);
        var lost = Pictures.Cluster(Pictures.T0.AddSeconds(15), Pictures.Primary(),
            Pictures.Standby() with { SshReachable = false, PgReachable = false, Role = NodeRole.Down, WalReceiver = null, Timeline = null });

        var events = EventDeriver.Derive(before, lost);

        Assert.Contains(events, e => e.Kind == HealthEventKinds.ReachabilityChanged && e.Message == "pg2 became unreachable");
        Assert.Contains(events, e => e.Kind == HealthEventKinds.RoleChanged && e.Message == "pg2: standby → down" && e.Severity == HealthEventSeverity.Critical);
        Assert.DoesNotContain(events, e => e.Kind == HealthEventKinds.TimelineChanged);
    }

    [Fact]
    public void A_change_reported_live_is_dated_by_the_report_not_by_the_end_of_the_probe()
    {
        var before = Pictures.Cluster(Pictures.T0);
        var reported = Pictures.T0.AddSeconds(3.2);
        var after = Pictures.Cluster(Pictures.T0.AddSeconds(3.5), Pictures.Standby("pg1"), Pictures.Primary("pg2") with { HoldsWriteVip = true }) with
        {
            TriggeredAt = reported,
            ProbeStartedAt = Pictures.T0.AddSeconds(3.25),
        };

        var events = EventDeriver.Derive(before, after);

        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Equal(reported.ToUnixTimeMilliseconds(), e.AtMs));

        // Seen by the poll only: dated by the start of the probe that saw it.
        var polled = after with { TriggeredAt = null };
        Assert.All(EventDeriver.Derive(before, polled), e => Assert.Equal(Pictures.T0.AddSeconds(3.25).ToUnixTimeMilliseconds(), e.AtMs));
    }

    [Fact]
    public void Keepalived_transitions_are_events_and_an_unreadable_state_is_not()
    {
        static ClusterTopology With(VrrpState state, int second) => Pictures.Cluster(Pictures.T0.AddSeconds(second),
            Pictures.Primary() with { Keepalived = new KeepalivedNodeState(true, state, 100, null, null) }, Pictures.Standby());

        var events = EventDeriver.Derive(With(VrrpState.Backup, 0), With(VrrpState.Master, 1));
        var e = Assert.Single(events);
        Assert.Equal((HealthEventKinds.KeepalivedChanged, "pg1", "pg1: keepalived BACKUP → MASTER"), (e.Kind, e.Node, e.Message));
        Assert.Equal(HealthEventSeverity.Warning, Assert.Single(EventDeriver.Derive(With(VrrpState.Master, 0), With(VrrpState.Fault, 1))).Severity);
        Assert.Empty(EventDeriver.Derive(With(VrrpState.Master, 0), With(VrrpState.Unknown, 1)));
    }

    [Fact]
    public void An_unreadable_moment_between_two_roles_does_not_hide_the_change()
    {
        var standby = Pictures.Cluster(Pictures.T0, Pictures.Primary("pg1"), Pictures.Standby("pg2"));
        var unknown = Pictures.Cluster(Pictures.T0.AddSeconds(0.3), Pictures.Primary("pg1"), Pictures.Standby("pg2") with { Role = NodeRole.Unknown, Timeline = null });
        var primary = Pictures.Cluster(Pictures.T0.AddSeconds(0.6), Pictures.Standby("pg1"), Pictures.Primary("pg2") with { Timeline = 2 });

        Assert.DoesNotContain(EventDeriver.Derive(standby, unknown), e => e.Node == "pg2");
        var basis = EventDeriver.CarryForward(standby, unknown);
        var events = EventDeriver.Derive(basis, primary);

        Assert.Contains(events, e => e.Message == "pg2: standby → primary");
        Assert.Contains(events, e => e.Message == "pg2: timeline 1 → 2");
        Assert.Same(primary, EventDeriver.CarryForward(null, primary));
    }
}
