using System.Globalization;
using System.Text;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Validation;
using static PgHaConsole.Core.Shell.ShellQuote;

namespace PgHaConsole.Core.Lvs;

/// <summary>
/// LVS-DR pieces outside keepalived.conf: the mangle rule that breaks the director-to-director loop, and the
/// real-server loopback/ARP settings (runbook part III steps 7-8).
/// </summary>
public static class LvsRenderer
{
    public const string RealServerScriptPath = "/usr/local/sbin/pghaconsole-realserver";

    /// <summary>The firewall mark of a node's read service: 1 for the first node, 2 for the second (the runbook's 0x1/0x2).</summary>
    public static int FwMark(ClusterSpec cluster, NodeSpec node)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(node);
        return node.Id == cluster.Node1.Id ? 1 : node.Id == cluster.Node2.Id ? 2
            : throw new ArgumentException($"Node {node.Name} is not part of cluster {cluster.Name}.", nameof(node));
    }

    /// <summary>
    /// The rule specification (after the chain name): read-VIP packets for the PostgreSQL port that did NOT come from
    /// the peer's MAC get this node's mark. Packets the peer director already forwarded here are left unmarked, so
    /// this director delivers them locally instead of balancing them back (the loop the runbook describes).
    /// </summary>
    public static IReadOnlyList<string> MangleRuleSpec(ClusterSpec cluster, NodeSpec node, string peerMac)
    {
        RenderGuard.EnsureValid(cluster, node);
        var mac = NormalizeMac(peerMac);
        var mark = "0x" + FwMark(cluster, node).ToString("x", CultureInfo.InvariantCulture);
        return
        [
            "-d", cluster.ReadVip + "/32",
            "-p", "tcp", "-m", "tcp", "--dport", cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture),
            "-m", "mac", "!", "--mac-source", mac,
            "-j", "MARK", "--set-mark", mark,
        ];
    }

    /// <summary><c>iptables -t mangle -C PREROUTING …</c>: exit 0 when the rule is already there (run before inserting).</summary>
    public static IReadOnlyList<string> MangleCheckArgs(ClusterSpec cluster, NodeSpec node, string peerMac) =>
        ["iptables", "-w", "-t", "mangle", "-C", "PREROUTING", .. MangleRuleSpec(cluster, node, peerMac)];

    /// <summary><c>iptables -t mangle -I PREROUTING …</c>.</summary>
    public static IReadOnlyList<string> MangleInsertArgs(ClusterSpec cluster, NodeSpec node, string peerMac) =>
        ["iptables", "-w", "-t", "mangle", "-I", "PREROUTING", .. MangleRuleSpec(cluster, node, peerMac)];

    /// <summary><c>iptables -t mangle -D PREROUTING …</c>.</summary>
    public static IReadOnlyList<string> MangleDeleteArgs(ClusterSpec cluster, NodeSpec node, string peerMac) =>
        ["iptables", "-w", "-t", "mangle", "-D", "PREROUTING", .. MangleRuleSpec(cluster, node, peerMac)];

    /// <summary>A MAC address as six lowercase hex pairs separated by ':'; throws on anything else.</summary>
    public static string NormalizeMac(string mac)
    {
        ArgumentNullException.ThrowIfNull(mac);
        var parts = mac.Trim().Replace('-', ':').Split(':');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !p.All(char.IsAsciiHexDigit)))
        {
            throw new ArgumentException("A MAC address is six hexadecimal pairs, e.g. 00:0c:29:4d:b3:39.", nameof(mac));
        }

        return string.Join(':', parts).ToLowerInvariant();
    }

    /// <summary>The systemd unit that restores everything the real-server script sets up at every boot.</summary>
    public const string RealServerUnitPath = "/etc/systemd/system/pghaconsole-realserver.service";

    public const string RealServerUnitName = "pghaconsole-realserver.service";

    /// <summary>
    /// <c>pghaconsole-realserver {start|stop|status}</c> for <paramref name="node"/>: both VIPs on <c>lo</c> as /32 (so
    /// this host accepts packets a director forwards to it without answering ARP for them), <c>arp_ignore=1</c> /
    /// <c>arp_announce=2</c> on <c>lo</c> and <c>all</c>, and the mangle rule that marks read-VIP packets not coming
    /// from the peer's MAC (<see cref="MangleRuleSpec"/>). Idempotent; status exits 0 when all of it is in place, 3
    /// otherwise (LSB "not running"). One script for all three, so the one boot unit
    /// (<see cref="RenderRealServerUnit"/>) restores all three. The runbook's version swapped the VIP names and tested
    /// an unset variable (seed defect 7).
    /// </summary>
    public static string RenderRealServerScript(ClusterSpec cluster, NodeSpec node, string peerMac)
    {
        RenderGuard.EnsureValid(cluster, node);
        var rule = string.Join(' ', MangleRuleSpec(cluster, node, peerMac).Select(Quote));
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        sb.Append("# pghaconsole-realserver - LVS-DR real-server settings of ").Append(OneLine(node.Name)).Append(" for cluster ").Append(OneLine(cluster.Name)).Append(". Generated by PgHaConsole.\n");
        sb.Append("set -u\n\n");
        sb.Append("WRITE_VIP=").Append(Quote(cluster.WriteVip)).Append('\n');
        sb.Append("READ_VIP=").Append(Quote(cluster.ReadVip)).Append('\n');
        sb.Append('\n');
        sb.Append("has_vip() {\n");
        sb.Append("    ip -o -4 addr show dev lo | grep -qF \" $1/32 \"\n");
        sb.Append("}\n\n");
        sb.Append("set_arp() {\n");
        sb.Append("    sysctl -q -w \"net.ipv4.conf.lo.arp_ignore=$1\" \"net.ipv4.conf.all.arp_ignore=$1\" \\\n");
        sb.Append("        \"net.ipv4.conf.lo.arp_announce=$2\" \"net.ipv4.conf.all.arp_announce=$2\"\n");
        sb.Append("}\n\n");
        sb.Append("# Read-VIP packets that did not come from the peer director get this node's firewall mark.\n");
        sb.Append("mangle() {\n");
        sb.Append("    iptables -w -t mangle \"$1\" PREROUTING ").Append(rule).Append('\n');
        sb.Append("}\n\n");
        sb.Append("case \"${1:-}\" in\n");
        sb.Append("start)\n");
        sb.Append("    # ARP first, so the host never answers ARP for a VIP it is about to hold on lo.\n");
        sb.Append("    set_arp 1 2 || exit 1\n");
        sb.Append("    has_vip \"$WRITE_VIP\" || ip addr add \"$WRITE_VIP/32\" dev lo label lo:0 || exit 1\n");
        sb.Append("    has_vip \"$READ_VIP\" || ip addr add \"$READ_VIP/32\" dev lo label lo:1 || exit 1\n");
        sb.Append("    mangle -C 2>/dev/null || mangle -I || exit 1\n");
        sb.Append("    echo \"LVS-DR real server started (write VIP $WRITE_VIP, read VIP $READ_VIP on lo; read-VIP mark set).\"\n");
        sb.Append("    ;;\n");
        sb.Append("stop)\n");
        sb.Append("    while mangle -C 2>/dev/null; do mangle -D || exit 1; done\n");
        sb.Append("    ! has_vip \"$WRITE_VIP\" || ip addr del \"$WRITE_VIP/32\" dev lo || exit 1\n");
        sb.Append("    ! has_vip \"$READ_VIP\" || ip addr del \"$READ_VIP/32\" dev lo || exit 1\n");
        sb.Append("    # Back to the kernel defaults.\n");
        sb.Append("    set_arp 0 0 || exit 1\n");
        sb.Append("    echo \"LVS-DR real server stopped.\"\n");
        sb.Append("    ;;\n");
        sb.Append("status)\n");
        sb.Append("    if has_vip \"$WRITE_VIP\" && has_vip \"$READ_VIP\" && mangle -C 2>/dev/null; then\n");
        sb.Append("        echo \"LVS-DR real server is running (write VIP $WRITE_VIP, read VIP $READ_VIP on lo; read-VIP mark set).\"\n");
        sb.Append("        exit 0\n");
        sb.Append("    fi\n");
        sb.Append("    echo \"LVS-DR real server is stopped or incomplete.\"\n");
        sb.Append("    exit 3\n");
        sb.Append("    ;;\n");
        sb.Append("*)\n");
        sb.Append("    echo \"Usage: $0 {start|stop|status}\" >&2\n");
        sb.Append("    exit 2\n");
        sb.Append("    ;;\n");
        sb.Append("esac\n");
        sb.Append("exit 0\n");
        return sb.ToString();
    }

    /// <summary>
    /// The boot unit: runs the real-server script's <c>start</c> once the network is up and before keepalived and
    /// PostgreSQL, so a restarted host is a real server again (loopback VIPs, ARP settings, mangle mark) before it
    /// directs or serves anything.
    /// </summary>
    public static string RenderRealServerUnit(ClusterSpec cluster)
    {
        RenderGuard.EnsureValid(cluster);
        return "# " + RealServerUnitName + " - generated by PgHaConsole for cluster " + OneLine(cluster.Name) + "\n"
            + "[Unit]\n"
            + "Description=PgHaConsole LVS-DR real server (VIPs on lo, ARP settings, read-VIP mangle mark)\n"
            + "Wants=network-online.target\n"
            + "After=network-online.target\n"
            + "Before=keepalived.service " + Boot.HostBootRenderer.PostgresUnit(cluster) + "\n"
            + "\n"
            + "[Service]\n"
            + "Type=oneshot\n"
            + "RemainAfterExit=yes\n"
            + "ExecStart=" + RealServerScriptPath + " start\n"
            + "ExecStop=" + RealServerScriptPath + " stop\n"
            + "\n"
            + "[Install]\n"
            + "WantedBy=multi-user.target\n";
    }

    private static string OneLine(string s) => new(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
}
