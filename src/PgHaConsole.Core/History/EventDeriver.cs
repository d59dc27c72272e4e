using System.Globalization;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.History;

/// <summary>
/// Compares a cluster's new picture with the previous one and says what changed: role, timeline, VIP holders,
/// replication (streaming or not), reachability, alarms raised and cleared. Pure.
/// </summary>
public static class EventDeriver
{
    public static IReadOnlyList<HealthEvent> Derive(ClusterTopology? previous, ClusterTopology current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var events = new List<HealthEvent>();
        if (previous is null)
        {
            // Nothing to compare with (first picture since start): say nothing rather than invent changes.
            return events;
        }

        // The change's own time: the host's live report that triggered the probe when there was one (see ChangeTime).
        var at = current.ChangeTime.ToUnixTimeMilliseconds();
        HealthEvent E(string kind, string? node, HealthEventSeverity severity, string message, string? alarmKey = null) => new()
        {
            ClusterId = current.ClusterId,
            AtMs = at,
            Kind = kind,
            Node = node,
            Severity = severity,
            Message = message,
            AlarmKey = alarmKey,
        };

        foreach (var node in current.Nodes)
        {
            var before = previous.Nodes.FirstOrDefault(n => n.Name == node.Name);
            if (before is null)
            {
                continue;
            }

            if (before.SshReachable != node.SshReachable)
            {
                events.Add(node.SshReachable
                    ? E(HealthEventKinds.ReachabilityChanged, node.Name, HealthEventSeverity.Info, $"{node.Name} is reachable again")
                    : E(HealthEventKinds.ReachabilityChanged, node.Name, HealthEventSeverity.Critical, $"{node.Name} became unreachable"));
            }

            // A node that merely cannot be read says nothing about its role: only compare observed roles.
            if (before.Role != node.Role && node.Role != NodeRole.Unknown && before.Role != NodeRole.Unknown)
            {
                var severity = node.Role == NodeRole.Down ? HealthEventSeverity.Critical
                    : node.Role == NodeRole.Primary ? HealthEventSeverity.Warning : HealthEventSeverity.Info;
                events.Add(E(HealthEventKinds.RoleChanged, node.Name, severity, $"{node.Name}: {Describe(before.Role)} → {Describe(node.Role)}"));
            }

            if (before.Timeline is { } t0 && node.Timeline is { } t1 && t0 != t1)
            {
                events.Add(E(HealthEventKinds.TimelineChanged, node.Name, HealthEventSeverity.Warning,
                    string.Create(CultureInfo.InvariantCulture, $"{node.Name}: timeline {t0} → {t1}")));
            }

            // keepalived's state as its notify script wrote it (MASTER, BACKUP, FAULT, STOP); unknown says nothing.
            if (before.Keepalived is { } k0 && node.Keepalived is { } k1 && k0.State != k1.State
                && k0.State != VrrpState.Unknown && k1.State != VrrpState.Unknown)
            {
                events.Add(E(HealthEventKinds.KeepalivedChanged, node.Name,
                    k1.State is VrrpState.Fault or VrrpState.Stop ? HealthEventSeverity.Warning : HealthEventSeverity.Info,
                    $"{node.Name}: keepalived {Describe(k0.State)} → {Describe(k1.State)}"));
            }

            if (node.Role == NodeRole.Standby && before.Role == NodeRole.Standby)
            {
                var wasStreaming = IsStreaming(before);
                var isStreaming = IsStreaming(node);
                if (wasStreaming != isStreaming)
                {
                    events.Add(isStreaming
                        ? E(HealthEventKinds.ReplicationChanged, node.Name, HealthEventSeverity.Info, $"{node.Name} is streaming again")
                        : E(HealthEventKinds.ReplicationChanged, node.Name, HealthEventSeverity.Warning,
                            $"{node.Name} stopped streaming (WAL receiver: {node.WalReceiver?.Status ?? "none"})"));
                }
            }
        }

        if (!string.Equals(previous.WriteVipHolder, current.WriteVipHolder, StringComparison.Ordinal))
        {
            events.Add(E(HealthEventKinds.WriteVipMoved, current.WriteVipHolder, current.WriteVipHolder is null ? HealthEventSeverity.Critical : HealthEventSeverity.Warning,
                $"Write VIP: {previous.WriteVipHolder ?? "nobody"} → {current.WriteVipHolder ?? "nobody"}"));
        }

        if (!string.Equals(previous.ReadVipHolder, current.ReadVipHolder, StringComparison.Ordinal))
        {
            events.Add(E(HealthEventKinds.ReadVipMoved, current.ReadVipHolder, HealthEventSeverity.Info,
                $"Read VIP: {previous.ReadVipHolder ?? "nobody"} → {current.ReadVipHolder ?? "nobody"}"));
        }

        var keysBefore = previous.Alarms.Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        var keysNow = current.Alarms.Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var alarm in current.Alarms.Where(a => !keysBefore.Contains(a.Key)).DistinctBy(a => a.Key))
        {
            events.Add(E(HealthEventKinds.AlarmRaised, alarm.Node,
                alarm.Severity == AlarmSeverity.Critical ? HealthEventSeverity.Critical : HealthEventSeverity.Warning,
                "Alarm: " + alarm.Title, alarm.Key));
        }

        foreach (var alarm in previous.Alarms.Where(a => !keysNow.Contains(a.Key)).DistinctBy(a => a.Key))
        {
            events.Add(E(HealthEventKinds.AlarmCleared, alarm.Node, HealthEventSeverity.Info, "Cleared: " + alarm.Title, alarm.Key));
        }

        return events;
    }

    /// <summary>
    /// The picture to compare the next one with: <paramref name="current"/>, except that a node whose role could not
    /// be read (unknown) keeps its last known role, and a node whose timeline is not known right now (stopped, a standby
    /// whose WAL receiver is reconnecting) keeps its last known timeline. Probing often (on every live report) sees
    /// such in-between states; without this, "standby → unknown → primary" would record no role change at all.
    /// </summary>
    public static ClusterTopology CarryForward(ClusterTopology? previous, ClusterTopology current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (previous is null)
        {
            return current;
        }

        var nodes = current.Nodes.Select(node =>
        {
            var before = previous.Nodes.FirstOrDefault(n => n.Name == node.Name);
            if (before is null)
            {
                return node;
            }

            return node with
            {
                Role = node.Role == NodeRole.Unknown ? before.Role : node.Role,
                Timeline = node.Timeline ?? before.Timeline,
            };
        }).ToArray();
        return current with { Nodes = nodes };
    }

    /// <summary>A standby streams when its WAL receiver says so.</summary>
    public static bool IsStreaming(NodeState node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return string.Equals(node.WalReceiver?.Status, "streaming", StringComparison.OrdinalIgnoreCase);
    }

    public static string Describe(VrrpState state) => state.ToString().ToUpperInvariant();

    public static string Describe(NodeRole role) => role switch
    {
        NodeRole.Primary => "primary",
        NodeRole.Standby => "standby",
        NodeRole.Down => "down",
        _ => "unknown",
    };
}
