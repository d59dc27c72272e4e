using System.Globalization;
using MudBlazor;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Web.ViewModels;

/// <summary>One node box of the diagram.</summary>
public sealed record DiagramNode(string Name, string Address, string Role, string Fill, double X, bool WriteVip, bool ReadVip);

/// <summary>The diagram: two node boxes, the replication arrow (primary → standby) and its label.</summary>
public sealed record DiagramModel(IReadOnlyList<DiagramNode> Nodes, bool ArrowLeftToRight, bool HasArrow, string ArrowLabel, string ArrowColor);

/// <summary>Everything the topology panels print, decided here (pure) so the components stay thin.</summary>
public static class TopologyViewModel
{
    public const double DiagramWidth = 640;
    public const double NodeWidth = 190;

    /// <summary>The data-role attribute and the label: primary, standby, down, unknown.</summary>
    public static string RoleText(NodeRole role) => role switch
    {
        NodeRole.Primary => "primary",
        NodeRole.Standby => "standby",
        NodeRole.Down => "down",
        _ => "unknown",
    };

    public static string RoleFill(NodeRole role) => role switch
    {
        NodeRole.Primary => "#2e7d32",
        NodeRole.Standby => "#1565c0",
        NodeRole.Down => "#c62828",
        _ => "#757575",
    };

    public static Color RoleColor(NodeRole role) => role switch
    {
        NodeRole.Primary => Color.Success,
        NodeRole.Standby => Color.Info,
        NodeRole.Down => Color.Error,
        _ => Color.Default,
    };

    public static Severity AlarmSeverityOf(Alarm alarm) =>
        alarm.Severity == AlarmSeverity.Critical ? Severity.Error : Severity.Warning;

    /// <summary>The standby's lag as the arrow and the node card say it: "caught up" or "12 kB, 0.4 s".</summary>
    public static string NodeLag(NodeState node) => TopologyFormat.Lag(node.LagBytes, node.LagSeconds);

    /// <summary>A pg_stat_replication lag column: NULL while idle and caught up reads "caught up", never blank.</summary>
    public static string LagColumn(TimeSpan? lag, ReplicationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (lag is { } l)
        {
            return TopologyFormat.Seconds(l.TotalSeconds);
        }

        return row.CaughtUp || row.LagBytes is null ? "caught up" : "not reported";
    }

    public static string LagBytesColumn(long? bytes) => bytes is 0 ? "0 B (caught up)" : TopologyFormat.Bytes(bytes);

    public static string LsnText(Lsn? lsn) => lsn?.ToString() ?? "–";

    public static string Uptime(TimeSpan? uptime) => uptime is { } u ? TopologyFormat.Seconds(u.TotalSeconds) : "–";

    public static string Connections(NodeState node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Connections is { } c && node.MaxConnections is { } m
            ? string.Create(CultureInfo.InvariantCulture, $"{c} / {m}")
            : "–";
    }

    public static string YesNo(bool? value, string yes = "yes", string no = "no") => value switch
    {
        true => yes,
        false => no,
        null => "–",
    };

    public static string ObservedAt(DateTimeOffset at) => at.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    public static string VrrpText(KeepalivedNodeState? k) => k switch
    {
        null => "not read",
        { Running: false } => "not running",
        _ => k.State.ToString().ToUpperInvariant(),
    };

    public static Color HaproxyColor(HaproxyStatus status) => status switch
    {
        HaproxyStatus.Up or HaproxyStatus.Open => Color.Success,
        HaproxyStatus.Down or HaproxyStatus.Stopped => Color.Error,
        HaproxyStatus.Maintenance or HaproxyStatus.Drain => Color.Warning,
        _ => Color.Default,
    };

    public static string Counter(IpvsCounter? counter) => counter?.ToString() ?? "–";

    /// <summary>"TCP 198.18.4.252:5432" or "FWM 3".</summary>
    public static string ServiceName(IpvsVirtualService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.Key;
    }

    public static string Forwarding(IpvsRealServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.Forwarding switch
        {
            IpvsForwarding.DirectRouting => "DR (Route)",
            IpvsForwarding.Nat => "NAT (Masq)",
            IpvsForwarding.Tunnel => "TUN (Tunnel)",
            IpvsForwarding.Local => "Local",
            _ => server.ForwardingText ?? "–",
        };
    }

    /// <summary>Lays out the two nodes: the primary on the left when there is one, the arrow from it to the standby.</summary>
    public static DiagramModel Diagram(ClusterTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var nodes = topology.Nodes.ToList();
        var primary = topology.Primary;
        if (primary is not null && nodes.Count == 2 && nodes[1].NodeId == primary.NodeId)
        {
            nodes.Reverse();
        }

        var boxes = nodes.Select((n, i) => new DiagramNode(
            n.Name, n.Address, RoleText(n.Role), RoleFill(n.Role),
            i == 0 ? 20 : DiagramWidth - NodeWidth - 20,
            n.HoldsWriteVip, n.HoldsReadVip)).ToArray();

        var standby = nodes.FirstOrDefault(n => n.Role == NodeRole.Standby);
        if (primary is null || standby is null)
        {
            var label = topology.Nodes.Count(n => n.Role == NodeRole.Primary) > 1 ? "split brain: no replication" : "no replication";
            return new DiagramModel(boxes, true, false, label, "#c62828");
        }

        var streaming = TopologyAssembler.FindReplicationRow(primary, standby) is { State: "streaming" };
        var text = streaming ? NodeLag(standby) : "not streaming · " + NodeLag(standby);
        var over = topology.Alarms.Any(a => a.Code == AlarmCodes.LagOverThreshold && a.Node == standby.Name);
        return new DiagramModel(boxes, true, true, text, !streaming ? "#c62828" : over ? "#ef6c00" : "#2e7d32");
    }
}
