using System.Net;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Topology;

/// <summary>
/// Turns what was observed on each node into one cluster picture: the VIP holders, the lag of each standby
/// (seen from the primary when it reports the standby, else from the standby itself) and the alarms.
/// </summary>
public static class TopologyAssembler
{
    public static ClusterTopology Assemble(
        ClusterSpec cluster,
        IReadOnlyList<NodeState> nodes,
        DateTimeOffset observedAt,
        AlarmThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(nodes);

        var primaries = nodes.Where(n => n.Role == NodeRole.Primary).ToArray();
        var primary = primaries.Length == 1 ? primaries[0] : null;
        var withLag = nodes.Select(n => n.Role == NodeRole.Standby ? WithLag(n, primary) : n with { LagBytes = null, LagSeconds = null }).ToArray();

        var topology = new ClusterTopology
        {
            ClusterId = cluster.Id,
            ClusterName = cluster.Name,
            ObservedAt = observedAt,
            Nodes = withLag,
            WriteVipHolder = SingleHolder(withLag, n => n.HoldsWriteVip),
            ReadVipHolder = SingleHolder(withLag, n => n.HoldsReadVip),
        };
        return topology with { Alarms = AlarmEvaluator.Evaluate(cluster, topology, thresholds ?? AlarmThresholds.Default) };
    }

    /// <summary>
    /// <paramref name="latest"/> with <paramref name="nodeName"/> shown as not answering the console, the rest as last
    /// observed (alarms evaluated again): what the console knows the moment a host's live channel falls silent, before
    /// a probe has waited out its timeout. The node looks exactly as a probe that timed out on both halves reports it
    /// (no role, nothing held: the console cannot see it); <paramref name="latest"/> itself when the node is already so
    /// or unknown.
    /// </summary>
    public static ClusterTopology WithUnanswered(
        ClusterSpec cluster,
        ClusterTopology latest,
        string nodeName,
        string reason,
        DateTimeOffset observedAt,
        AlarmThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(latest);
        var node = latest.Nodes.FirstOrDefault(n => string.Equals(n.Name, nodeName, StringComparison.Ordinal));
        if (node is null || (!node.SshReachable && !node.PgReachable))
        {
            return latest;
        }

        var unanswered = new NodeState
        {
            NodeId = node.NodeId,
            Name = node.Name,
            Address = node.Address,
            Role = NodeRole.Down,
            Errors = [reason],
        };
        var nodes = latest.Nodes.Select(n => ReferenceEquals(n, node) ? unanswered : n).ToArray();
        return Assemble(cluster, nodes, observedAt, thresholds) with { TriggeredAt = observedAt };
    }

    /// <summary>
    /// The primary's <c>pg_stat_replication</c> row for <paramref name="standby"/>: by application_name (the
    /// console sets it to the node name in primary_conninfo), else by client address.
    /// </summary>
    public static ReplicationRow? FindReplicationRow(NodeState primary, NodeState standby)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(standby);
        return primary.Replication.FirstOrDefault(r => string.Equals(r.ApplicationName, standby.Name, StringComparison.OrdinalIgnoreCase))
            ?? primary.Replication.FirstOrDefault(r => SameAddress(r.ClientAddress, standby.Address));
    }

    private static NodeState WithLag(NodeState standby, NodeState? primary)
    {
        var row = primary is null ? null : FindReplicationRow(primary, standby);
        if (row is not null)
        {
            // Replayed up to the primary's current position: caught up, 0 s. replay_lag is then NULL, or (seen on
            // the lab) the last measured delay, which the walsender keeps showing while WAL trickles in (a 6 s
            // reconnect stays "6 s" until it is cleared): that is history, not lag, and must not trip the threshold.
            double? seconds = row.LagBytes is 0 ? 0 : row.ReplayLag?.TotalSeconds ?? standby.WalReceiver?.ReplayDelaySeconds;
            return standby with { LagBytes = row.LagBytes, LagSeconds = seconds };
        }

        // Not reported by the primary (not streaming, or no primary reachable): measure against the primary's
        // current position when there is one, else what the standby received but has not replayed.
        long? bytes = primary?.CurrentLsn is { } current && standby.ReplayedLsn is { } replayed
            ? Math.Max(0, current - replayed)
            : ReplicationLag.StandbyPendingBytes(standby.ReceivedLsn ?? standby.WalReceiver?.ReceivedLsn, standby.ReplayedLsn);
        return standby with { LagBytes = bytes, LagSeconds = standby.WalReceiver?.ReplayDelaySeconds };
    }

    private static string? SingleHolder(IReadOnlyList<NodeState> nodes, Func<NodeState, bool> holds)
    {
        var holders = nodes.Where(holds).ToArray();
        return holders.Length == 1 ? holders[0].Name : null;
    }

    private static bool SameAddress(string? a, string b)
    {
        if (a is null)
        {
            return false;
        }

        // client_addr may come back as "198.18.4.248" or "::ffff:198.18.4.248", with or without a "/32".
        var slash = a.IndexOf('/', StringComparison.Ordinal);
        var text = slash > 0 ? a[..slash] : a;
        return IPAddress.TryParse(text, out var ipA) && IPAddress.TryParse(b, out var ipB)
            && (ipA.IsIPv4MappedToIPv6 ? ipA.MapToIPv4() : ipA).Equals(ipB.IsIPv4MappedToIPv6 ? ipB.MapToIPv4() : ipB);
    }
}
