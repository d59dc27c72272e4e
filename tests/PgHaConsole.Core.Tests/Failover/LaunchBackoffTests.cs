using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Tests.Topology;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Failover;

/// <summary>
/// Found by the failover benchmark (2026-12-01): after a failover to pg2 and pg1's rejoin, pg2's death waited out the
/// first launch's 60 s backoff — 40 s without writes in synchronous mode. One launch per loss, not per minute.
/// </summary>
public sealed class LaunchBackoffTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T10:06:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static ClusterTopology HealthyPair() => TopologySamples.Assemble(TopologySamples.Primary(), TopologySamples.Standby());

    private static ClusterTopology PrimaryDown() => TopologySamples.Assemble(
        TopologySamples.Primary() with { PgReachable = false, Role = NodeRole.Down, CurrentLsn = null, Replication = [], PostmasterRunning = false },
        TopologySamples.Standby(receiver: "waiting"));

    [Fact]
    public void A_new_primary_lost_after_a_healthy_picture_fails_over_at_once_whatever_the_last_launch()
    {
        var launch = new FailoverLaunch("pg1", T0);

        // The failover and the rejoin: a single primary answers again, which ends the earlier incident.
        var afterHealthy = LaunchBackoff.AfterPicture(launch, HealthyPair());
        Assert.Null(afterHealthy);
        Assert.True(LaunchBackoff.MayLaunch(afterHealthy, "pg2", T0.AddSeconds(25), LaunchBackoff.Default));
    }

    [Fact]
    public void Another_node_lost_is_another_incident()
    {
        Assert.True(LaunchBackoff.MayLaunch(new FailoverLaunch("pg1", T0), "pg2", T0.AddSeconds(5), LaunchBackoff.Default));
    }

    [Fact]
    public void The_same_loss_is_not_launched_again_within_the_backoff()
    {
        var launch = new FailoverLaunch("pg1", T0);
        var stillDown = LaunchBackoff.AfterPicture(launch, PrimaryDown());
        Assert.Same(launch, stillDown);
        Assert.False(LaunchBackoff.MayLaunch(stillDown, "pg1", T0.AddSeconds(30), LaunchBackoff.Default));
        Assert.True(LaunchBackoff.MayLaunch(stillDown, "pg1", T0.AddSeconds(60), LaunchBackoff.Default));
        Assert.True(LaunchBackoff.MayLaunch(null, "pg1", T0, LaunchBackoff.Default));
    }
}
