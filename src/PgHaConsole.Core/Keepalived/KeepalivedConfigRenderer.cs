using System.Globalization;
using System.Text;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Keepalived;

/// <summary>Where the generated keepalived files live on a host, and what the scripts use.</summary>
public sealed record KeepalivedPaths
{
    public string ConfigFile { get; init; } = "/etc/keepalived/keepalived.conf";

    /// <summary>The write VIP's <c>vrrp_script</c>: a running primary, not fenced; it also self-fences an isolated primary.</summary>
    public string CheckScript { get; init; } = "/etc/keepalived/pghaconsole-check-primary.sh";

    /// <summary>The read VIP's <c>vrrp_script</c>: PostgreSQL answers in any role and the node is not fenced.</summary>
    public string ReadCheckScript { get; init; } = "/etc/keepalived/pghaconsole-check-read.sh";

    /// <summary>HAProxy mode: the local HAProxy runs (tracked by both instances: the VIPs lead to it).</summary>
    public string HaproxyCheckScript { get; init; } = "/etc/keepalived/pghaconsole-check-haproxy.sh";

    /// <summary>The one fence of a node, run by the console (failover) and by the write check (self-fence).</summary>
    public string FenceScript { get; init; } = "/etc/keepalived/pghaconsole-fence.sh";

    public string NotifyScript { get; init; } = "/etc/keepalived/pghaconsole-notify.sh";

    /// <summary>Runs before PostgreSQL starts at boot: a node failed over while it was down is fenced first (<see cref="Boot.HostBootRenderer.RenderBootGuard"/>).</summary>
    public string BootGuardScript { get; init; } = "/etc/keepalived/pghaconsole-boot-guard.sh";

    /// <summary>
    /// Present while the node is fenced ("needs rejoin"): both checks fail, so it never holds a VIP again until the
    /// console's rejoin has made it a standby and removed the file. Beside the configuration: it must survive a reboot.
    /// </summary>
    public string FenceFile { get; init; } = "/etc/keepalived/pghaconsole-fenced";

    /// <summary>Where the write check keeps when it last saw the standby and the console (tmpfs: the clocks restart at boot).</summary>
    public string SeenDirectory { get; init; } = "/run/pghaconsole";

    /// <summary>
    /// Written by the notify script on every transition of the write instance, read by the console: one line in the format of
    /// <see cref="Parsing.KeepalivedStateParser.StateFileFormat"/> (plus <c>NODE=</c>), e.g.
    /// <c>STATE=MASTER INSTANCE=VI_WRITE PRIORITY=100 AT=1795701212 NODE=pg1</c>.
    /// </summary>
    public string StateFile { get; init; } = "/run/keepalived/pghaconsole.state";

    /// <summary>The same for the read instance.</summary>
    public string ReadStateFile { get; init; } = "/run/keepalived/pghaconsole-read.state";

    /// <summary>One line per transition, with a timestamp.</summary>
    public string LogFile { get; init; } = "/var/log/pghaconsole-keepalived.log";

    /// <summary>HAProxy's configuration: tracked only once the console generated it (the balancer step comes after keepalived's).</summary>
    public string HaproxyConfigFile { get; init; } = "/etc/haproxy/haproxy.cfg";

    /// <summary>HAProxy's pid file (as the read balancer step starts it).</summary>
    public string HaproxyPidFile { get; init; } = "/run/haproxy.pid";

    /// <summary>keepalived's main pid file (the Debian default, and what the console passes when it starts keepalived itself).</summary>
    public const string DefaultKeepalivedPidFile = "/run/keepalived.pid";

    /// <summary>keepalived's main pid file: its process dying is keepalived down (its VRRP child only winds down after it).</summary>
    public string KeepalivedPidFile { get; init; } = DefaultKeepalivedPidFile;

    /// <summary>Unix socket directory of the local PostgreSQL; null lets psql use its compiled-in default.</summary>
    public string? PgSocketDir { get; init; } = "/var/run/postgresql";

    /// <summary>psql to use; null means <c>&lt;BinDir&gt;/psql</c>.</summary>
    public string? Psql { get; init; }

    /// <summary>The LVS-DR real-server check (LVS-DR mode only).</summary>
    public LvsCheckPaths Lvs { get; init; } = new();

    /// <summary>pg_ctl to use; null means <c>&lt;BinDir&gt;/pg_ctl</c>.</summary>
    public string? PgCtl { get; init; }
}

/// <summary>
/// keepalived 2.2 configuration, generated from the cluster model for one node: one <c>vrrp_instance</c> per VIP (the
/// write VIP on the unfenced primary only, the read VIP on any node whose PostgreSQL answers), each with its checks
/// (<see cref="KeepalivedScriptRenderer"/>; HAProxy tracked by both in HAProxy mode). Everything it
/// emits passes <c>keepalived -t</c> without warnings (seed defects 1 and 2): every block has its braces,
/// <c>retry</c> rather than <c>nb_get_retry</c>, no protocol on fwmark services and no port on their real servers.
/// </summary>
public static class KeepalivedConfigRenderer
{
    /// <summary>The write VIP's instance: held only by a running, unfenced primary.</summary>
    public const string InstanceName = "VI_WRITE";

    /// <summary>The read VIP's instance: held by any node whose PostgreSQL answers, whatever its role.</summary>
    public const string ReadInstanceName = "VI_READ";

    public const string CheckScriptName = "chk_pg_primary";

    public const string ReadCheckScriptName = "chk_pg_read";

    public const string HaproxyCheckScriptName = "chk_haproxy";

    /// <summary>The shortest check interval (seconds): the one of the default advert_int of 1 s.</summary>
    public const int CheckIntervalSeconds = 1;

    /// <summary>
    /// How often (seconds) keepalived runs the VIP checks: every advert_int, in whole seconds, at least
    /// <see cref="CheckIntervalSeconds"/>; two failures in a row (fall 2) release the VIP. advert_int is the pair's
    /// pace: a host too slow or too loaded to run a psql every second (the UML lab's guest) gets a longer one.
    /// </summary>
    public static int CheckInterval(VrrpSettings vrrp)
    {
        ArgumentNullException.ThrowIfNull(vrrp);
        return Math.Max(CheckIntervalSeconds, (int)decimal.Ceiling(vrrp.AdvertIntSeconds));
    }

    /// <summary>The read instance's virtual_router_id: the next one after the write instance's (the previous one for 255).</summary>
    public static int ReadRouterId(VrrpSettings vrrp)
    {
        ArgumentNullException.ThrowIfNull(vrrp);
        return vrrp.VirtualRouterId >= 255 ? vrrp.VirtualRouterId - 1 : vrrp.VirtualRouterId + 1;
    }

    public static string Render(ClusterSpec cluster, NodeSpec node, string vrrpPassword, KeepalivedPaths? paths = null)
    {
        RenderGuard.EnsureValid(cluster, node);
        ArgumentNullException.ThrowIfNull(vrrpPassword);
        if (vrrpPassword.Length > ClusterValidator.MaxVrrpPasswordLength || !ClusterValidator.IsVrrpPasswordText(vrrpPassword))
        {
            // No secret in the message.
            throw new ArgumentException("The VRRP password must be 1 to 8 printable characters without spaces, quotes, '#', '!' or '\\'.", nameof(vrrpPassword));
        }

        paths ??= new KeepalivedPaths();
        CheckPath(paths.CheckScript, nameof(paths.CheckScript));
        CheckPath(paths.ReadCheckScript, nameof(paths.ReadCheckScript));
        CheckPath(paths.HaproxyCheckScript, nameof(paths.HaproxyCheckScript));
        CheckPath(paths.NotifyScript, nameof(paths.NotifyScript));

        var vrrp = cluster.Vrrp;
        var haproxy = cluster.Balancer == BalancerMode.Haproxy;

        var sb = new StringBuilder();
        sb.Append("! keepalived.conf for ").Append(node.Name).Append(" - generated by PgHaConsole for cluster ").Append(Comment(cluster.Name)).Append('\n');
        sb.Append("! Regenerate from the console rather than editing: local changes are overwritten.\n\n");

        sb.Append("global_defs {\n");
        sb.Append("    router_id ").Append(node.Name).Append('\n');
        sb.Append("    script_user root\n");
        sb.Append("    enable_script_security\n");
        sb.Append("}\n\n");

        // The write VIP follows PostgreSQL, it does not decide it: the check fails on a standby (in recovery), on a
        // stopped server and on a fenced node (the console's fence, or its own self-fence when it loses both the
        // standby and the console), which puts the instance in FAULT and releases the VIP. keepalived's election is
        // not a fence: after a partition heals two MASTERs meet and the higher priority wins, so the old primary must
        // be kept out by a failing check, never by priorities. Promotion stays the console's decision.
        sb.Append("! Write VIP: a running primary that is not fenced (and self-fences when isolated).\n");
        var interval = CheckInterval(vrrp);
        // keepalived's own bound: the script's query bound and two seconds for the rest.
        var timeout = Math.Max(5, Failover.SelfFence.CheckQuerySecondsFor(vrrp) + 2);
        AppendScript(sb, CheckScriptName, paths.CheckScript, interval, timeout);

        // The read VIP stays on any node whose PostgreSQL answers, whatever its role: losing the primary must not
        // take the reads with it.
        sb.Append("! Read VIP: PostgreSQL answers (primary or standby) and the node is not fenced.\n");
        AppendScript(sb, ReadCheckScriptName, paths.ReadCheckScript, interval, timeout);

        if (haproxy)
        {
            // Both VIPs lead to the local HAProxy: a VIP holder whose HAProxy died leads nowhere. A script rather than
            // track_process: it checks HAProxy's pid file and network namespace, so a host sharing its process table
            // (containers, the lab) does not count a neighbour's HAProxy as its own.
            // fall 1: the check is a pid file and /proc, no query that a loaded host can time out, and it looks twice
            // itself; the read VIP leaves a dead HAProxy within a check interval, not two (the chaos suite's "reads back
            // within 5 s" measured 5.18 s with fall 2 on a loaded machine).
            sb.Append("! Both VIPs lead to the local HAProxy: it must run.\n");
            AppendScript(sb, HaproxyCheckScriptName, paths.HaproxyCheckScript, interval, timeout: 2, fall: 1);
        }

        var priority = node.Id == cluster.Node1.Id ? vrrp.Node1Priority : vrrp.Node2Priority;
        AppendInstance(sb, cluster, paths, vrrpPassword, InstanceName, vrrp.VirtualRouterId, priority, cluster.WriteVip, 1,
            haproxy ? [CheckScriptName, HaproxyCheckScriptName] : [CheckScriptName]);
        sb.Append('\n');
        AppendInstance(sb, cluster, paths, vrrpPassword, ReadInstanceName, ReadRouterId(vrrp), ReadPriority(vrrp, node.Id == cluster.Node1.Id), cluster.ReadVip, 2,
            haproxy ? [ReadCheckScriptName, HaproxyCheckScriptName] : [ReadCheckScriptName]);

        if (cluster.Balancer == BalancerMode.LvsDr)
        {
            // The LVS-DR virtual servers and their real-server checks live with the rest of LVS (Core/Lvs).
            sb.Append(LvsVirtualServerRenderer.Render(cluster, node, paths.Lvs));
        }

        return sb.ToString();
    }

    /// <summary>
    /// The read instance's priority: the configured order kept (254 for the node configured higher or equal, 253 for
    /// the other), at the top of the range. With nopreempt a priority only picks the first holder and sets how long a
    /// backup waits for a silent master: 3 × advert_int + (256 − priority) / 256 × advert_int. The configured 90
    /// waited 0.65 s more than 253 does at advert_int 1 (3.2 s more at the UML lab's 5 s), and the chaos suite's
    /// "reads back within 5 s" after the read VIP holder's link went down was measured at 4.7–5.04 s. The write
    /// instance keeps the configured priorities: its VIP follows the checks (the primary), never a master-down timer.
    /// </summary>
    public static int ReadPriority(VrrpSettings vrrp, bool node1)
    {
        ArgumentNullException.ThrowIfNull(vrrp);
        var (mine, other) = node1 ? (vrrp.Node1Priority, vrrp.Node2Priority) : (vrrp.Node2Priority, vrrp.Node1Priority);
        return mine >= other ? 254 : 253;
    }

    private static void AppendScript(StringBuilder sb, string name, string path, int interval, int timeout, int fall = 2)
    {
        sb.Append("vrrp_script ").Append(name).Append(" {\n");
        sb.Append("    script \"").Append(path).Append("\"\n");
        sb.Append("    interval ").Append(interval.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    timeout ").Append(timeout.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    fall ").Append(fall.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    rise 1\n");
        sb.Append("}\n\n");
    }

    private static void AppendInstance(StringBuilder sb, ClusterSpec cluster, KeepalivedPaths paths, string vrrpPassword,
        string name, int routerId, int priority, string vip, int labelIndex, IReadOnlyList<string> scripts)
    {
        var vrrp = cluster.Vrrp;

        // VRRPv2 counts advert_int in whole seconds; a fraction needs VRRPv3, which has no authentication (RFC 5798).
        var fractional = vrrp.AdvertIntSeconds != decimal.Truncate(vrrp.AdvertIntSeconds);
        sb.Append("vrrp_instance ").Append(name).Append(" {\n");
        if (fractional)
        {
            sb.Append("    version 3\n");
        }

        sb.Append("    state BACKUP\n");
        sb.Append("    nopreempt\n");
        sb.Append("    interface ").Append(vrrp.Interface).Append('\n');
        sb.Append("    virtual_router_id ").Append(routerId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    priority ").Append(priority.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    advert_int ").Append(vrrp.AdvertIntSeconds.ToString("0.##", CultureInfo.InvariantCulture)).Append('\n');
        if (fractional)
        {
            sb.Append("    ! VRRPv3 (needed for a sub-second advert_int) has no authentication.\n");
        }
        else
        {
            sb.Append("    authentication {\n");
            sb.Append("        auth_type PASS\n");
            sb.Append("        ! PASS authentication uses at most 8 characters; it only guards against a misconfigured neighbour.\n");
            sb.Append("        auth_pass ").Append(vrrpPassword).Append('\n');
            sb.Append("    }\n");
        }

        sb.Append("    virtual_ipaddress {\n");
        sb.Append("        ").Append(VipLine(vip, cluster.VipPrefixLength, vrrp.Interface, labelIndex)).Append('\n');
        sb.Append("    }\n");
        sb.Append("    track_script {\n");
        foreach (var script in scripts)
        {
            sb.Append("        ").Append(script).Append('\n');
        }

        sb.Append("    }\n");
        sb.Append("    notify \"").Append(paths.NotifyScript).Append("\"\n");
        sb.Append("}\n");
    }

    private static string VipLine(string vip, int prefix, string ifName, int labelIndex)
    {
        var line = $"{vip}/{prefix.ToString(CultureInfo.InvariantCulture)} dev {ifName}";

        // An alias label must fit IFNAMSIZ (15 characters) as well; a long interface name goes without label.
        var label = $"{ifName}:{labelIndex.ToString(CultureInfo.InvariantCulture)}";
        return label.Length <= 15 ? $"{line} label {label}" : line;
    }

    /// <summary>A cluster name inside a '!' comment line: one line, printable.</summary>
    private static string Comment(string s) => new(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    internal static void CheckPath(string path, string name)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Split('/').Any(p => p == "..")
            || !path.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '/' or '-'))
        {
            throw new ArgumentException($"{name} must be an absolute path of letters, digits, '.', '_', '-' and '/'.", name);
        }
    }
}
