using System.Globalization;
using System.Text;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Validation;
using static PgHaConsole.Core.Shell.ShellQuote;

namespace PgHaConsole.Core.Lvs;

/// <summary>Where the real-server health check keepalived runs lives on a host.</summary>
public sealed record LvsCheckPaths
{
    public string CheckScript { get; init; } = "/etc/keepalived/pghaconsole-realserver-check.sh";

    /// <summary>The monitoring role's password for the check (a libpq password file, mode 0600, root).</summary>
    public string PassFile { get; init; } = "/etc/keepalived/pghaconsole-realserver-check.pgpass";

    /// <summary>psql to use; null means <c>&lt;BinDir&gt;/psql</c>.</summary>
    public string? Psql { get; init; }
}

/// <summary>
/// The LVS-DR part of keepalived.conf (the <c>virtual_server</c> blocks, appended after the VRRP instance) and the
/// real-server health check they run. A real server stays in the pool only while it answers <c>SELECT 1</c> as the
/// monitoring role within a few seconds: a bare <c>TCP_CHECK</c> kept a hung or refusing PostgreSQL in the pool,
/// because the kernel completes the TCP handshake for a listening socket whatever the server behind it does.
/// </summary>
public static class LvsVirtualServerRenderer
{
    /// <summary>Seconds between checks at the default pace; a refusing server leaves the pool after about delay_loop + misc_timeout.</summary>
    public const int DelayLoopSeconds = 3;

    /// <summary>delay_loop for the pair's pace: <see cref="DelayLoopSeconds"/>, or twice the VIP checks' interval when that is longer.</summary>
    public static int DelayLoop(VrrpSettings vrrp) => Math.Max(DelayLoopSeconds, 2 * KeepalivedConfigRenderer.CheckInterval(vrrp));

    /// <summary>keepalived kills the check after this many seconds and counts it as failed (at the default pace).</summary>
    public const int CheckTimeoutSeconds = 5;

    /// <summary>
    /// misc_timeout for the pair's pace: <see cref="CheckTimeoutSeconds"/>, or as long as the VIP checks' own bound when
    /// that is longer (a host too slow for a psql every second, like the UML lab's guest, must not see its real servers
    /// flap out of the pool because one check took 5 s); the check's psql bounds itself 2 s earlier.
    /// </summary>
    public static int CheckTimeout(VrrpSettings vrrp) => Math.Max(CheckTimeoutSeconds, Failover.SelfFence.CheckQuerySecondsFor(vrrp) + 2);

    /// <summary>The virtual servers of <paramref name="node"/>'s keepalived, starting with a blank line.</summary>
    public static string Render(ClusterSpec cluster, NodeSpec node, LvsCheckPaths? paths = null)
    {
        RenderGuard.EnsureValid(cluster, node);
        paths ??= new LvsCheckPaths();
        KeepalivedConfigRenderer.CheckPath(paths.CheckScript, nameof(paths.CheckScript));
        var port = cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();

        // Write VIP: forwarded to this node only. The VIP is held only where the vrrp_script saw a live primary, so
        // "this node" is a primary answering queries whenever traffic arrives here: a second check of the same server
        // would only add load (and, where forks are expensive, time-outs that take the write service away).
        sb.Append("\n! Write VIP: LVS-DR to the local primary only (the vrrp_script already checks it)\n");
        sb.Append("virtual_server ").Append(cluster.WriteVip).Append(' ').Append(port).Append(" {\n");
        AppendServiceOptions(sb, cluster.Vrrp);
        sb.Append("    protocol TCP\n");
        sb.Append("    real_server ").Append(node.Address).Append(' ').Append(port).Append(" {\n");
        sb.Append("        weight 1\n");
        sb.Append("    }\n");
        sb.Append("}\n");

        // Read VIP: matched by the firewall mark the mangle rule sets (pghaconsole-realserver), balanced over both
        // nodes. A fwmark service takes no protocol and its real servers no port (keepalived -t warns otherwise).
        sb.Append("\n! Read VIP: fwmark set in mangle PREROUTING, round robin over both nodes\n");
        sb.Append("virtual_server fwmark ").Append(LvsRenderer.FwMark(cluster, node).ToString(CultureInfo.InvariantCulture)).Append(" {\n");
        AppendServiceOptions(sb, cluster.Vrrp);
        foreach (var n in cluster.Nodes)
        {
            AppendRealServer(sb, n.Address, port, paths, CheckTimeout(cluster.Vrrp));
        }

        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>
    /// <c>pghaconsole-realserver-check.sh ADDRESS PORT</c>: exit 0 only when PostgreSQL at ADDRESS:PORT answered
    /// <c>SELECT 1</c> as the monitoring role (password from <see cref="LvsCheckPaths.PassFile"/>).
    /// </summary>
    public static string RenderCheckScript(ClusterSpec cluster, LvsCheckPaths? paths = null)
    {
        RenderGuard.EnsureValid(cluster);
        paths ??= new LvsCheckPaths();
        var pg = cluster.Postgres;
        var psql = paths.Psql ?? pg.BinDir.TrimEnd('/') + "/psql";
        KeepalivedConfigRenderer.CheckPath(psql, nameof(paths.Psql));
        KeepalivedConfigRenderer.CheckPath(paths.PassFile, nameof(paths.PassFile));
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        sb.Append("# pghaconsole-realserver-check - keepalived MISC_CHECK of one LVS-DR real server. Generated by PgHaConsole.\n");
        sb.Append("# Usage: pghaconsole-realserver-check.sh ADDRESS PORT. Exit 0 only when PostgreSQL there answers a query.\n");
        sb.Append("set -u\n\n");
        sb.Append("PSQL=").Append(Quote(psql)).Append('\n');
        sb.Append("MONITOR_USER=").Append(Quote(pg.MonitorUser)).Append('\n');
        sb.Append("PGPASSFILE=").Append(Quote(paths.PassFile)).Append('\n');
        sb.Append("export PGPASSFILE\n\n");
        sb.Append("[ $# -eq 2 ] || { echo \"usage: $0 ADDRESS PORT\" >&2; exit 2; }\n");
        sb.Append("# -w: never prompt; connect_timeout and statement_timeout bound a hung server without one more process (keepalived\n");
        sb.Append("# runs this for each real server every few seconds; misc_timeout kills whatever still hangs); no GSS/SSL round trips.\n");
        var bound = CheckTimeout(cluster.Vrrp) - 2;
        sb.Append("out=$(\"$PSQL\" -X -q -A -t -w -d \"host=$1 port=$2 dbname=postgres user=$MONITOR_USER connect_timeout=")
            .Append(bound.ToString(CultureInfo.InvariantCulture))
            .Append(" sslmode=disable gssencmode=disable application_name=pghaconsole-realserver-check options='-c statement_timeout=")
            .Append((bound * 1000).ToString(CultureInfo.InvariantCulture)).Append("'\" -c 'SELECT 1' 2>/dev/null) || exit 1\n");
        sb.Append("[ \"$out\" = 1 ]\n");
        return sb.ToString();
    }

    /// <summary>The check's password file: the monitoring role on any host at the PostgreSQL port, database postgres.</summary>
    public static string RenderCheckPassFile(ClusterSpec cluster, string monitorPassword)
    {
        RenderGuard.EnsureValid(cluster);
        ArgumentNullException.ThrowIfNull(monitorPassword);
        return PgPass.Line("*", cluster.Postgres.Port, "postgres", cluster.Postgres.MonitorUser, monitorPassword) + "\n";
    }

    private static void AppendServiceOptions(StringBuilder sb, VrrpSettings vrrp)
    {
        sb.Append("    delay_loop ").Append(DelayLoop(vrrp).ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    lb_algo rr\n");
        sb.Append("    lb_kind DR\n");
    }

    private static void AppendRealServer(StringBuilder sb, string address, string port, LvsCheckPaths paths, int timeout)
    {
        // A fwmark service's real servers take no port (keepalived -t warns otherwise); the check names it.
        sb.Append("    real_server ").Append(address).Append(" {\n");
        sb.Append("        weight 1\n");
        sb.Append("        MISC_CHECK {\n");
        sb.Append("            misc_path \"").Append(paths.CheckScript).Append(' ').Append(address).Append(' ').Append(port).Append("\"\n");
        sb.Append("            misc_timeout ").Append(timeout.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("        }\n");
        sb.Append("    }\n");
    }
}
