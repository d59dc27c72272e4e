using System.Globalization;
using System.Text;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Validation;
using static PgHaConsole.Core.Shell.ShellQuote;

namespace PgHaConsole.Core.Boot;

/// <summary>
/// What a node starts at boot, and the guard in front of PostgreSQL. Two ways to be "enabled at boot":
/// <list type="bullet">
/// <item>systemd hosts: <c>systemctl enable</c> of PostgreSQL's unit, keepalived and HAProxy, the LVS-DR real-server
/// unit, and a drop-in that runs the boot guard before PostgreSQL's unit starts (<see cref="RenderPostgresDropIn"/>);</item>
/// <item>hosts without systemd (PostgreSQL run by <c>pg_ctl</c>, as in the lab): executables in
/// <see cref="BootDirectory"/>, run in name order by the host's init at boot (the lab's hosts do; elsewhere one line
/// <c>run-parts /etc/pghaconsole/boot.d</c> in the init's boot script): the real server, PostgreSQL behind its guard,
/// HAProxy, keepalived, the order systemd's units follow.</item>
/// </list>
/// Every value enters a script through <c>ShellQuote.Quote</c> in a variable assignment at the top.
/// </summary>
public static class HostBootRenderer
{
    /// <summary>The boot directory of a host without systemd: the console's <c>systemctl enable</c> there.</summary>
    public const string BootDirectory = "/etc/pghaconsole/boot.d";

    /// <summary>LVS-DR: loopback VIPs, ARP settings, the read-VIP mangle mark, before anything serves.</summary>
    public const string RealServerEntry = BootDirectory + "/10-lvs-realserver";

    public const string PostgresEntry = BootDirectory + "/20-postgresql";

    public const string HaproxyEntry = BootDirectory + "/30-haproxy";

    public const string KeepalivedEntry = BootDirectory + "/40-keepalived";

    /// <summary>Where iptables filters (not firewalld, whose rules are permanent): the openings, before anything else.</summary>
    public const string FirewallEntry = BootDirectory + "/05-firewall";

    /// <summary>The script that (re)inserts the firewall openings; idempotent (<c>-C</c> before <c>-I</c>).</summary>
    public const string FirewallScriptPath = "/usr/local/sbin/pghaconsole-firewall";

    public const string FirewallUnitName = "pghaconsole-firewall.service";

    public const string FirewallUnitPath = "/etc/systemd/system/" + FirewallUnitName;

    /// <summary>How long the guard waits for the peer to answer before it gives up and fences (both hosts may be booting).</summary>
    public const int PeerWaitSeconds = 60;

    /// <summary>The drop-in directory's file for PostgreSQL's unit (systemd hosts).</summary>
    public static string PostgresDropInPath(ClusterSpec cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return "/etc/systemd/system/" + PostgresUnit(cluster) + ".d/pghaconsole-boot-guard.conf";
    }

    /// <summary>PostgreSQL's systemd unit with its suffix (<c>postgresql@15-main.service</c>).</summary>
    public static string PostgresUnit(ClusterSpec cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var unit = cluster.Postgres.SystemdUnit ?? "postgresql";
        if (!ClusterValidator.IsSystemdUnit(unit))
        {
            throw new ArgumentException("The PostgreSQL systemd unit name is not valid.", nameof(cluster));
        }

        return unit.Contains('.', StringComparison.Ordinal) ? unit : unit + ".service";
    }

    /// <summary>pg_ctl's server log: beside the data directory (the runbook's /data10/postgresql.log).</summary>
    public static string ServerLogFile(PostgresSettings pg)
    {
        ArgumentNullException.ThrowIfNull(pg);
        var dir = pg.DataDir.TrimEnd('/');
        var i = dir.LastIndexOf('/');
        return (i > 0 ? dir[..i] : "/var/lib/postgresql") + "/postgresql.log";
    }

    /// <summary>
    /// The boot guard, run before PostgreSQL starts (at boot; on systemd hosts before every start of its unit). It lets
    /// a node that stopped as the primary start as the primary again only when its peer proves no failover happened
    /// meanwhile; otherwise it runs the node's fence (marker, standby signal, no VIP), so PostgreSQL starts read-only
    /// and the console shows the node "fenced, needs rejoin". Exit 0: PostgreSQL may start (as what the data directory
    /// now says); anything else: do not start it.
    /// <para>
    /// Why this is safe, as a DBA would argue it: a timeline is created only by a promotion. When this node's peer runs
    /// on a newer timeline than this node's latest (its control file's checkpoint timeline, or a newer history file in
    /// its pg_wal: a promotion writes that first), the peer was promoted after this node last became primary: it is
    /// (or was) the primary since, and whatever this node wrote after the fork is not on it. Such a node must never
    /// accept writes again before a rejoin rewinds it, so it is fenced before PostgreSQL starts. When the peer answers
    /// on the same (or an older) timeline, it has not been promoted since: this node is still the pair's only possible
    /// primary and comes back as one (a restart of the primary with no failover keeps the pair writable). When the peer
    /// does not answer at all within <see cref="PeerWaitSeconds"/>, nothing proves it was not promoted (the console
    /// promotes exactly when the primary is unreachable), so the node fences itself as well: unavailable rather than
    /// a second writable primary; the console's failover (if the peer is a standby) or rejoin (if it is a primary)
    /// brings the pair back. A node that already carries the fence marker, or a standby signal, starts read-only anyway.
    /// </para>
    /// The peer's timeline is read with <c>IDENTIFY_SYSTEM</c> over a replication connection as the replication role
    /// (the pass file the standby uses), which a primary and a standby both answer.
    /// </summary>
    /// <param name="peerWaitSeconds">How long the peer may take to answer (tests shorten it).</param>
    public static string RenderBootGuard(ClusterSpec cluster, NodeSpec node, KeepalivedPaths? paths = null, int peerWaitSeconds = PeerWaitSeconds)
    {
        RenderGuard.EnsureValid(cluster, node);
        ArgumentOutOfRangeException.ThrowIfNegative(peerWaitSeconds);
        paths ??= new KeepalivedPaths();
        var pg = cluster.Postgres;
        var peer = cluster.Peer(node);
        var bin = pg.BinDir.TrimEnd('/');
        var conninfo = Conninfo.Build([
            new("host", peer.Address),
            new("port", pg.Port.ToString(CultureInfo.InvariantCulture)),
            new("user", pg.ReplicationUser),
            new("dbname", "replication"),
            new("replication", "true"),
            new("passfile", RecoveryConfigRenderer.DefaultPassFile(pg)),
            new("connect_timeout", "3"),
            new("application_name", "pghaconsole-boot-guard"),
        ]);

        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append("# pghaconsole boot guard: may PostgreSQL on this node start as it stopped? Generated by PgHaConsole.\n");
        sb.Append("# Runs before PostgreSQL starts at boot. A node that stopped as the primary starts as the primary again only\n");
        sb.Append("# when its peer answers on the same or an older timeline (no failover happened while it was down); when the\n");
        sb.Append("# peer runs on a newer timeline (it was promoted meanwhile) or does not answer, the node is fenced first:\n");
        sb.Append("# it starts read-only, holds no VIP and waits for the console's rejoin. Exit 0 = start PostgreSQL.\n");
        sb.Append("set -u\n\n");
        sb.Append("NODE_NAME=").Append(Quote(node.Name)).Append('\n');
        sb.Append("PEER_NAME=").Append(Quote(peer.Name)).Append('\n');
        sb.Append("PEER_CONNINFO=").Append(Quote(conninfo)).Append('\n');
        sb.Append("PG_OS_USER=").Append(Quote(pg.OsUser)).Append('\n');
        sb.Append("PG_MAJOR=").Append(Quote(pg.MajorVersion.ToString(CultureInfo.InvariantCulture))).Append('\n');
        sb.Append("PSQL=").Append(Quote(bin + "/psql")).Append('\n');
        sb.Append("PG_CONTROLDATA=").Append(Quote(bin + "/pg_controldata")).Append('\n');
        sb.Append("DATA_DIR=").Append(Quote(pg.DataDir.TrimEnd('/'))).Append('\n');
        sb.Append("WAL_DIR=").Append(Quote(pg.DataDir.TrimEnd('/') + (pg.MajorVersion >= 10 ? "/pg_wal" : "/pg_xlog"))).Append('\n');
        sb.Append("FENCE_FILE=").Append(Quote(paths.FenceFile)).Append('\n');
        sb.Append("FENCE_SCRIPT=").Append(Quote(paths.FenceScript)).Append('\n');
        sb.Append("LOG_FILE=").Append(Quote(paths.LogFile)).Append('\n');
        sb.Append("PEER_WAIT=").Append(peerWaitSeconds.ToString(CultureInfo.InvariantCulture)).Append("\n\n");
        sb.Append("log() {\n");
        sb.Append("    echo \"boot guard ($NODE_NAME): $*\"\n");
        sb.Append("    mkdir -p -- \"$(dirname -- \"$LOG_FILE\")\" && printf '%s %s boot guard: %s\\n' \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" \"$NODE_NAME\" \"$*\" >>\"$LOG_FILE\"\n");
        sb.Append("}\n\n");
        sb.Append("fence() {\n");
        sb.Append("    log \"fencing: $1\"\n");
        sb.Append("    \"$FENCE_SCRIPT\" self \"boot guard: $1\" || { log \"the fence failed: PostgreSQL is not started\"; exit 1; }\n");
        sb.Append("    exit 0\n");
        sb.Append("}\n\n");
        sb.Append("[ -f \"$DATA_DIR/PG_VERSION\" ] || { log \"no data directory: nothing to guard\"; exit 0; }\n\n");
        sb.Append("# 1. A postmaster.pid whose process is not a live PostgreSQL of this host is a dead server's (a crash, a power\n");
        sb.Append("#    cut): remove it, or PostgreSQL refuses to start when its PID now belongs to another process (and a stop\n");
        sb.Append("#    would signal that process). A live postmaster of this host is left alone: then there is nothing to guard.\n");
        sb.Append("pidfile=\"$DATA_DIR/postmaster.pid\"\n");
        sb.Append("if [ -f \"$pidfile\" ]; then\n");
        sb.Append("    p=$(head -n 1 -- \"$pidfile\" | tr -dc '0-9')\n");
        sb.Append("    if [ -n \"$p\" ] && [ -d \"/proc/$p\" ] && ! grep -qE '^State:[[:space:]]*Z' \"/proc/$p/status\" 2>/dev/null \\\n");
        sb.Append("        && case \"$(cat \"/proc/$p/comm\" 2>/dev/null)\" in postgres | postmaster) true ;; *) false ;; esac \\\n");
        sb.Append("        && [ \"$(readlink \"/proc/$p/ns/net\" 2>/dev/null)\" = \"$(readlink /proc/self/ns/net)\" ]; then\n");
        sb.Append("        log \"PostgreSQL (postmaster $p) already runs: nothing to guard\"\n");
        sb.Append("        exit 0\n");
        sb.Append("    fi\n");
        sb.Append("    # Its socket lock file (the pid file names the port, line 4, and the first socket directory, line 5) names\n");
        sb.Append("    # the same dead process and stops a start just as well where that directory outlives a boot (/tmp), or\n");
        sb.Append("    # when PostgreSQL is started by hand while its killed postmaster is still an unreaped zombie.\n");
        sb.Append("    port=$(sed -n 4p -- \"$pidfile\" | tr -dc '0-9')\n");
        sb.Append("    sockdir=$(sed -n 5p -- \"$pidfile\")\n");
        sb.Append("    rm -f -- \"$pidfile\" && log \"removed the stale $pidfile (process ${p:-?} is not a live PostgreSQL here)\"\n");
        sb.Append("    lock=\"$sockdir/.s.PGSQL.$port.lock\"\n");
        sb.Append("    case \"$sockdir\" in\n");
        sb.Append("        /*) if [ -n \"$p\" ] && [ -n \"$port\" ] && [ -f \"$lock\" ] && [ \"$(head -n 1 -- \"$lock\" | tr -dc '0-9')\" = \"$p\" ]; then\n");
        sb.Append("                rm -f -- \"$lock\" && log \"removed the stale $lock (process $p)\"\n");
        sb.Append("            fi ;;\n");
        sb.Append("    esac\n");
        sb.Append("fi\n\n");
        sb.Append("# 2. Fenced (by a failover, by itself, or at an earlier boot): it starts read-only until the console's rejoin.\n");
        sb.Append("if [ -e \"$FENCE_FILE\" ]; then\n");
        sb.Append("    fence \"already fenced ($(head -n 1 -- \"$FENCE_FILE\" | tr -dc 'A-Za-z0-9 _.,:=()-'))\"\n");
        sb.Append("fi\n\n");
        sb.Append("# 3. A standby starts as a standby: nothing to decide.\n");
        sb.Append("if [ -e \"$DATA_DIR/standby.signal\" ] || [ -e \"$DATA_DIR/recovery.signal\" ] || { [ \"$PG_MAJOR\" -le 11 ] && [ -e \"$DATA_DIR/recovery.conf\" ]; }; then\n");
        sb.Append("    log \"starts as a standby\"\n");
        sb.Append("    exit 0\n");
        sb.Append("fi\n\n");
        sb.Append("# 4. It would start as a primary. Its latest timeline: the checkpoint's, or a newer history file (a promotion\n");
        sb.Append("#    writes that before its first checkpoint).\n");
        sb.Append("control=$(cd / && LC_ALL=C runuser -u \"$PG_OS_USER\" -- \"$PG_CONTROLDATA\" -D \"$DATA_DIR\" 2>/dev/null)\n");
        sb.Append("my_tli=$(sed -n \"s/^Latest checkpoint's TimeLineID:[[:space:]]*\\([0-9]*\\).*/\\1/p\" <<<\"$control\")\n");
        sb.Append("my_sysid=$(sed -n 's/^Database system identifier:[[:space:]]*\\([0-9]*\\).*/\\1/p' <<<\"$control\")\n");
        sb.Append("[ -n \"$my_tli\" ] || fence \"pg_controldata cannot be read: cannot tell this node's timeline\"\n");
        sb.Append("for h in \"$WAL_DIR\"/*.history; do\n");
        sb.Append("    [ -f \"$h\" ] || continue\n");
        sb.Append("    t=$(basename -- \"$h\" .history)\n");
        sb.Append("    case \"$t\" in *[!0-9A-Fa-f]* | '') continue ;; esac\n");
        sb.Append("    t=$((16#$t))\n");
        sb.Append("    [ \"$t\" -gt \"$my_tli\" ] && my_tli=$t\n");
        sb.Append("done\n\n");
        sb.Append("# 5. The peer's timeline (IDENTIFY_SYSTEM: system identifier | timeline | WAL position | database).\n");
        sb.Append("deadline=$(( $(date +%s) + PEER_WAIT ))\n");
        sb.Append("row=\n");
        sb.Append("while :; do\n");
        sb.Append("    row=$(cd / && timeout 10 runuser -u \"$PG_OS_USER\" -- \"$PSQL\" -X -A -t -q -w \"$PEER_CONNINFO\" -c 'IDENTIFY_SYSTEM' 2>/dev/null | head -n 1)\n");
        sb.Append("    [ -n \"$row\" ] && break\n");
        sb.Append("    [ \"$(date +%s)\" -ge \"$deadline\" ] && break\n");
        sb.Append("    sleep 2\n");
        sb.Append("done\n");
        sb.Append("if [ -z \"$row\" ]; then\n");
        sb.Append("    fence \"$PEER_NAME did not answer for ${PEER_WAIT} s: a failover while this node was down cannot be ruled out\"\n");
        sb.Append("fi\n");
        sb.Append("IFS='|' read -r peer_sysid peer_tli _ <<<\"$row\"\n");
        sb.Append("case \"$peer_tli\" in '' | *[!0-9]*) fence \"$PEER_NAME answered something unexpected ($row)\" ;; esac\n");
        sb.Append("if [ \"$peer_sysid\" != \"$my_sysid\" ]; then\n");
        sb.Append("    log \"$PEER_NAME is another database system ($peer_sysid, this node $my_sysid): it cannot have taken over; starts as it stopped (primary)\"\n");
        sb.Append("    exit 0\n");
        sb.Append("fi\n");
        sb.Append("if [ \"$peer_tli\" -gt \"$my_tli\" ]; then\n");
        sb.Append("    fence \"$PEER_NAME runs on timeline $peer_tli, newer than this node's $my_tli: it was promoted while this node was down\"\n");
        sb.Append("fi\n");
        sb.Append("log \"$PEER_NAME runs on timeline $peer_tli (this node $my_tli): no failover happened; starts as it stopped (primary)\"\n");
        sb.Append("exit 0\n");
        return sb.ToString();
    }

    /// <summary>systemd hosts: the drop-in that runs the boot guard (as root: <c>+</c>) before PostgreSQL's unit starts.</summary>
    public static string RenderPostgresDropIn(ClusterSpec cluster, KeepalivedPaths? paths = null)
    {
        RenderGuard.EnsureValid(cluster);
        paths ??= new KeepalivedPaths();
        KeepalivedConfigRenderer.CheckPath(paths.BootGuardScript, nameof(paths.BootGuardScript));
        var after = cluster.Balancer == BalancerMode.LvsDr ? "network-online.target " + LvsRenderer.RealServerUnitName : "network-online.target";
        return "# " + PostgresDropInPath(cluster) + " - generated by PgHaConsole for cluster " + OneLine(cluster.Name) + "\n"
            + "# The boot guard decides, before PostgreSQL starts, whether this node may come back as it stopped (see the script).\n"
            + "[Unit]\n"
            + "Wants=network-online.target\n"
            + "After=" + after + "\n"
            + "\n"
            + "[Service]\n"
            + "ExecStartPre=+" + paths.BootGuardScript + "\n";
    }

    /// <summary>systemd hosts: keepalived's drop-in that starts it again when it dies (Debian's unit does not restart it).</summary>
    public const string KeepalivedRestartDropInPath = "/etc/systemd/system/keepalived.service.d/pghaconsole-restart.conf";

    /// <summary>
    /// systemd hosts: keepalived started again 1 s after it died (a crash, a <c>kill -9</c>), not after a stop
    /// (<c>systemctl stop</c>, as the console's fence does): a dead keepalived on the primary takes the write VIP with it,
    /// and nothing else brings it back. HAProxy's unit restarts it already (<c>Restart=always</c> in Debian's).
    /// </summary>
    public static string RenderKeepalivedRestartDropIn(ClusterSpec cluster)
    {
        RenderGuard.EnsureValid(cluster);
        return "# " + KeepalivedRestartDropInPath + " - generated by PgHaConsole for cluster " + OneLine(cluster.Name) + "\n"
            + "# keepalived holds the VIPs: when it dies, systemd starts it again (a stop through systemctl is not a failure).\n"
            + "[Service]\n"
            + "Restart=on-failure\n"
            + "RestartSec=1\n";
    }

    /// <summary>Hosts without systemd: PostgreSQL at boot, behind the guard (<see cref="PostgresEntry"/>).</summary>
    public static string RenderPostgresEntry(ClusterSpec cluster, KeepalivedPaths? paths = null)
    {
        RenderGuard.EnsureValid(cluster);
        paths ??= new KeepalivedPaths();
        KeepalivedConfigRenderer.CheckPath(paths.BootGuardScript, nameof(paths.BootGuardScript));
        var pg = cluster.Postgres;
        var sb = Header("PostgreSQL, behind the boot guard");
        sb.Append("GUARD=").Append(Quote(paths.BootGuardScript)).Append('\n');
        sb.Append("PG_OS_USER=").Append(Quote(pg.OsUser)).Append('\n');
        sb.Append("PG_CTL=").Append(Quote(pg.BinDir.TrimEnd('/') + "/pg_ctl")).Append('\n');
        sb.Append("DATA_DIR=").Append(Quote(pg.DataDir.TrimEnd('/'))).Append('\n');
        sb.Append("SERVER_LOG=").Append(Quote(ServerLogFile(pg))).Append("\n\n");
        sb.Append("\"$GUARD\" || { echo \"the boot guard refused: PostgreSQL is not started\" >&2; exit 1; }\n");
        sb.Append("# -w: the units after it (HAProxy, keepalived) start once it answers, or after crash recovery's bound.\n");
        sb.Append("cd / && exec runuser -u \"$PG_OS_USER\" -- \"$PG_CTL\" -D \"$DATA_DIR\" -l \"$SERVER_LOG\" -w -t 120 start\n");
        return sb.ToString();
    }

    /// <summary>Hosts without systemd: HAProxy at boot (its non-local binds come from /etc/sysctl.d, applied by the init).</summary>
    public static string RenderHaproxyEntry(string configFile, string pidFile)
    {
        KeepalivedConfigRenderer.CheckPath(configFile, nameof(configFile));
        KeepalivedConfigRenderer.CheckPath(pidFile, nameof(pidFile));
        var sb = Header("HAProxy, the read balancer");
        sb.Append("CONFIG=").Append(Quote(configFile)).Append('\n');
        sb.Append("PID_FILE=").Append(Quote(pidFile)).Append("\n\n");
        sb.Append("mkdir -p /run/haproxy\n");
        sb.Append("exec haproxy -f \"$CONFIG\" -D -p \"$PID_FILE\" </dev/null >/dev/null 2>&1\n");
        return sb.ToString();
    }

    /// <summary>Hosts without systemd: keepalived at boot (its checks keep a fenced or not-yet-started node off the VIPs).</summary>
    public static string RenderKeepalivedEntry(string configFile, string pidFile)
    {
        KeepalivedConfigRenderer.CheckPath(configFile, nameof(configFile));
        KeepalivedConfigRenderer.CheckPath(pidFile, nameof(pidFile));
        var sb = Header("keepalived, the VIPs");
        sb.Append("CONFIG=").Append(Quote(configFile)).Append('\n');
        sb.Append("PID_FILE=").Append(Quote(pidFile)).Append("\n\n");
        sb.Append("exec keepalived -f \"$CONFIG\" -p \"$PID_FILE\" </dev/null >/dev/null 2>&1\n");
        return sb.ToString();
    }

    /// <summary>Hosts without systemd, LVS-DR: the real server (loopback VIPs, ARP settings, mangle mark) first.</summary>
    public static string RenderRealServerEntry()
    {
        var sb = Header("the LVS-DR real server: VIPs on lo, ARP settings, the read-VIP mangle mark");
        sb.Append("exec ").Append(Quote(LvsRenderer.RealServerScriptPath)).Append(" start\n");
        return sb.ToString();
    }

    /// <summary>
    /// The firewall openings of the setup's step 2 as a script: each rule (an iptables argv after the chain, e.g.
    /// <c>INPUT -p tcp --dport 5432 … -j ACCEPT</c>) is checked with <c>-C</c> and inserted at the top of its chain only
    /// when missing, so running it at every boot, or twice, changes nothing more. iptables rules live in the kernel and
    /// a reboot clears them: this restores them (systemd unit <see cref="FirewallUnitName"/>, or <see cref="FirewallEntry"/>).
    /// </summary>
    public static string RenderFirewallScript(IReadOnlyList<IReadOnlyList<string>> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var sb = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append("# pghaconsole firewall: PostgreSQL's port and VRRP from the peer, restored at boot. Generated by PgHaConsole.\n")
            .Append("set -u\n")
            .Append("rc=0\n");
        foreach (var rule in rules)
        {
            if (rule.Count < 2 || rule.Any(a => a.Length == 0 || a.Contains('\n', StringComparison.Ordinal)))
            {
                throw new ArgumentException("A firewall rule is a chain and its arguments, each one line.", nameof(rules));
            }

            var chain = Quote(rule[0]);
            var args = string.Join(' ', rule.Skip(1).Select(Quote));
            sb.Append("iptables -w -C ").Append(chain).Append(' ').Append(args).Append(" 2>/dev/null || iptables -w -I ").Append(chain).Append(" 1 ").Append(args).Append(" || rc=1\n");
        }

        sb.Append("exit $rc\n");
        return sb.ToString();
    }

    /// <summary>systemd hosts: the firewall script at boot, after any saved rule set is loaded and before the services.</summary>
    public static string RenderFirewallUnit(ClusterSpec cluster)
    {
        RenderGuard.EnsureValid(cluster);
        return "# " + FirewallUnitName + " - generated by PgHaConsole for cluster " + OneLine(cluster.Name) + "\n"
            + "[Unit]\n"
            + "Description=PgHaConsole firewall openings (PostgreSQL's port, VRRP from the peer)\n"
            + "After=netfilter-persistent.service iptables.service network-pre.target\n"
            + "Before=keepalived.service " + PostgresUnit(cluster) + "\n"
            + "\n"
            + "[Service]\n"
            + "Type=oneshot\n"
            + "RemainAfterExit=yes\n"
            + "ExecStart=" + FirewallScriptPath + "\n"
            + "\n"
            + "[Install]\n"
            + "WantedBy=multi-user.target\n";
    }

    /// <summary>Hosts without systemd: the firewall openings first.</summary>
    public static string RenderFirewallEntry()
    {
        var sb = Header("the firewall openings (PostgreSQL's port, VRRP from the peer)");
        sb.Append("exec ").Append(Quote(FirewallScriptPath)).Append('\n');
        return sb.ToString();
    }

    private static StringBuilder Header(string what) =>
        new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append("# Enabled at boot by PgHaConsole: ").Append(what).Append(".\n")
            .Append("# The host's init runs the files of ").Append(BootDirectory).Append(" in name order at every boot.\n")
            .Append("set -u\n\n");

    private static string OneLine(string s) => new(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
}
