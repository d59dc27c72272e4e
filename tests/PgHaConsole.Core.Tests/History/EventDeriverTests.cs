using PgHaConsole.Core.History;
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
}
