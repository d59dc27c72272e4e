using PgHaConsole.Core.Topology;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>
/// The latest observed picture of every managed cluster, kept fresh by the prober. Pages, the API, the history
/// recorder and the alert rules read it here; nobody else opens connections to the nodes for monitoring.
/// </summary>
public interface ITopologyMonitor
{
    /// <summary>The last picture of the cluster, or null before its first probe (or when the cluster is unknown).</summary>
    ClusterTopology? GetLatest(Guid clusterId);

    /// <summary>Every cluster's last picture.</summary>
    IReadOnlyList<ClusterTopology> GetAll();

    /// <summary>
    /// The current picture (when there is one) and then every new one as it is observed, until cancelled. A slow
    /// reader only loses intermediate pictures, never the latest.
    /// </summary>
    IAsyncEnumerable<ClusterTopology> WatchAsync(Guid clusterId, CancellationToken cancellationToken);

    /// <summary>Probes the cluster now (outside the polling rhythm) and returns the fresh picture.</summary>
    Task<ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken);

    /// <summary>
    /// Every picture of every cluster, in the order they are taken, from now until cancelled (none skipped: the
    /// event timeline is derived from them).
    /// </summary>
    IAsyncEnumerable<ClusterTopology> WatchAllAsync(CancellationToken cancellationToken) => NoPictures(cancellationToken);

    /// <summary>
    /// Something changed on the cluster at <paramref name="signalledAt"/> (a host's live report, an operation's own
    /// step): probe it as soon as possible, without waiting, and date what the probe finds by that moment.
    /// </summary>
    void RequestProbe(Guid clusterId, DateTimeOffset signalledAt)
    {
    }

    private static async IAsyncEnumerable<ClusterTopology> NoPictures([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        yield break;
    }
}
