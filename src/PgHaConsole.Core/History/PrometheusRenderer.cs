using System.Globalization;
using System.Text;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.History;

/// <summary>
/// The latest pictures in the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per metric
/// family, then its samples; label values escaped (backslash, double quote, newline). Pure.
/// </summary>
public static class PrometheusRenderer
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly NodeRole[] Roles = [NodeRole.Primary, NodeRole.Standby, NodeRole.Down, NodeRole.Unknown];

    public static string Render(IEnumerable<ClusterTopology> pictures, int firingAlerts = 0)
    {
        ArgumentNullException.ThrowIfNull(pictures);
        var list = pictures.OrderBy(p => p.ClusterName, StringComparer.Ordinal).ToList();
        var sb = new StringBuilder();

        Family(sb, "pghaconsole_node_up", "gauge", "1 when the node's PostgreSQL answers, else 0.");
        foreach (var (p, n) in Nodes(list))
        {
            Sample(sb, "pghaconsole_node_up", [("cluster", p.ClusterName), ("node", n.Name)], n.PgReachable ? 1 : 0);
        }

        Family(sb, "pghaconsole_node_reachable", "gauge", "1 when the node's host answers over SSH, else 0.");
        foreach (var (p, n) in Nodes(list))
        {
            Sample(sb, "pghaconsole_node_reachable", [("cluster", p.ClusterName), ("node", n.Name)], n.SshReachable ? 1 : 0);
        }

        Family(sb, "pghaconsole_node_role", "gauge", "1 for the node's current role (primary, standby, down, unknown), 0 for the others.");
        foreach (var (p, n) in Nodes(list))
        {
            foreach (var role in Roles)
            {
                Sample(sb, "pghaconsole_node_role", [("cluster", p.ClusterName), ("node", n.Name), ("role", EventDeriver.Describe(role))], n.Role == role ? 1 : 0);
            }
        }

        Family(sb, "pghaconsole_node_timeline", "gauge", "PostgreSQL timeline of the node.");
        foreach (var (p, n) in Nodes(list).Where(x => x.Node.Timeline is not null))
        {
            Sample(sb, "pghaconsole_node_timeline", [("cluster", p.ClusterName), ("node", n.Name)], n.Timeline!.Value);
        }

        Family(sb, "pghaconsole_replication_lag_bytes", "gauge", "Bytes the standby has yet to replay.");
        foreach (var (p, n) in Nodes(list).Where(x => x.Node.LagBytes is not null))
        {
            Sample(sb, "pghaconsole_replication_lag_bytes", [("cluster", p.ClusterName), ("node", n.Name)], n.LagBytes!.Value);
        }

        Family(sb, "pghaconsole_replication_lag_seconds", "gauge", "Replay lag of the standby, seconds.");
        foreach (var (p, n) in Nodes(list).Where(x => x.Node.LagSeconds is not null))
        {
            Sample(sb, "pghaconsole_replication_lag_seconds", [("cluster", p.ClusterName), ("node", n.Name)], n.LagSeconds!.Value);
        }

        Family(sb, "pghaconsole_connections", "gauge", "Client connections to the node's PostgreSQL.");
        foreach (var (p, n) in Nodes(list).Where(x => x.Node.Connections is not null))
        {
            Sample(sb, "pghaconsole_connections", [("cluster", p.ClusterName), ("node", n.Name)], n.Connections!.Value);
        }

        Family(sb, "pghaconsole_slot_retained_wal_bytes", "gauge", "WAL retained by the node's replication slots, bytes.");
        foreach (var (p, n) in Nodes(list))
        {
            var retained = HealthSample.From(p.ClusterId, n, 0).SlotRetainedBytes;
            if (retained is not null)
            {
                Sample(sb, "pghaconsole_slot_retained_wal_bytes", [("cluster", p.ClusterName), ("node", n.Name)], retained.Value);
            }
        }

        Family(sb, "pghaconsole_vip_holder", "gauge", "1 when the node holds the VIP (write or read), else 0.");
        foreach (var (p, n) in Nodes(list))
        {
            Sample(sb, "pghaconsole_vip_holder", [("cluster", p.ClusterName), ("vip", "write"), ("node", n.Name)], n.HoldsWriteVip ? 1 : 0);
            Sample(sb, "pghaconsole_vip_holder", [("cluster", p.ClusterName), ("vip", "read"), ("node", n.Name)], n.HoldsReadVip ? 1 : 0);
        }

        Family(sb, "pghaconsole_alarm", "gauge", "1 for each alarm currently raised.");
        foreach (var p in list)
        {
            foreach (var alarm in p.Alarms.DistinctBy(a => a.Key))
            {
                Sample(sb, "pghaconsole_alarm",
                    [("cluster", p.ClusterName), ("code", alarm.Code), ("node", alarm.Node ?? ""), ("severity", alarm.Severity == AlarmSeverity.Critical ? "critical" : "warning")], 1);
            }
        }

        Family(sb, "pghaconsole_alerts_firing", "gauge", "Alert rules currently firing.");
        Sample(sb, "pghaconsole_alerts_firing", [], firingAlerts);

        Family(sb, "pghaconsole_observed_timestamp_seconds", "gauge", "When the cluster was last observed, Unix seconds.");
        foreach (var p in list)
        {
            Sample(sb, "pghaconsole_observed_timestamp_seconds", [("cluster", p.ClusterName)], p.ObservedAt.ToUnixTimeMilliseconds() / 1000.0);
        }

        return sb.ToString();
    }

    /// <summary>Escapes a label value: backslash, double quote and line feed, as the exposition format requires.</summary>
    public static string EscapeLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>HELP text escapes only backslash and line feed.</summary>
    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static IEnumerable<(ClusterTopology Picture, NodeState Node)> Nodes(IEnumerable<ClusterTopology> pictures) =>
        pictures.SelectMany(p => p.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => (p, n)));

    private static void Family(StringBuilder sb, string name, string type, string help)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static void Sample(StringBuilder sb, string name, IReadOnlyList<(string Name, string Value)> labels, double value)
    {
        sb.Append(name);
        if (labels.Count > 0)
        {
            sb.Append('{');
            for (var i = 0; i < labels.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                sb.Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
            }

            sb.Append('}');
        }

        sb.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    private static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
