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
}
