using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.IntegrationTests.History;

/// <summary>A hand-written <see cref="ITopologyMonitor"/> that returns the pictures a test sets.</summary>
internal sealed class FakeTopologyMonitor : ITopologyMonitor
{
    private readonly Dictionary<Guid, ClusterTopology> _pictures = [];

    public void Set(ClusterTopology picture) => _pictures[picture.ClusterId] = picture;

    public ClusterTopology? GetLatest(Guid clusterId) => _pictures.GetValueOrDefault(clusterId);

    public IReadOnlyList<ClusterTopology> GetAll() => _pictures.Values.ToList();

    public async IAsyncEnumerable<ClusterTopology> WatchAsync(Guid clusterId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (GetLatest(clusterId) is { } p)
        {
            yield return p;
        }
    }

    public Task<ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken) => Task.FromResult(GetLatest(clusterId));
}

internal static class TestPictures
{
    public static NodeState Node(string name, NodeRole role, long? lagBytes = null, double? lagSeconds = null, int connections = 5, bool writeVip = false, string? receiver = "streaming") => new()
    {
        NodeId = Guid.NewGuid(),
        Name = name,
        Address = name == "pg1" ? "198.18.4.247" : "198.18.4.248",
        SshReachable = true,
        PgReachable = role != NodeRole.Down,
        Role = role,
        Timeline = 1,
        LagBytes = lagBytes,
        LagSeconds = lagSeconds,
        Connections = connections,
        MaxConnections = 100,
        HoldsWriteVip = writeVip,
        HoldsReadVip = writeVip,
        WalReceiver = role == NodeRole.Standby ? new WalReceiverState { Status = receiver } : null,
    };

    public static ClusterTopology Healthy(Guid clusterId, DateTimeOffset at, long lagBytes = 0, double lagSeconds = 0, string primary = "pg1") => new()
    {
        ClusterId = clusterId,
        ClusterName = "pg-main",
        ObservedAt = at,
        Nodes =
        [
            Node("pg1", primary == "pg1" ? NodeRole.Primary : NodeRole.Standby, primary == "pg1" ? null : lagBytes, primary == "pg1" ? null : lagSeconds, writeVip: primary == "pg1"),
            Node("pg2", primary == "pg2" ? NodeRole.Primary : NodeRole.Standby, primary == "pg2" ? null : lagBytes, primary == "pg2" ? null : lagSeconds, writeVip: primary == "pg2"),
        ],
        WriteVipHolder = primary,
        ReadVipHolder = primary,
    };
}
