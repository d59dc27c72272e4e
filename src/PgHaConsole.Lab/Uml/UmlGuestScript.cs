using System.Globalization;
using System.Text;
using static PgHaConsole.Core.Shell.ShellQuote;

namespace PgHaConsole.Lab;

/// <summary>
/// <c>uml/guest-up.sh</c>: what the UML guest runs once at boot (from its init) to become the lab: the kernel
/// modules LVS-DR needs, the transfer link to the machine, then the same bridge, namespaces and host boot as the
/// namespace lab (the commands come from <see cref="LabNetwork"/> and <see cref="LabHostBoot"/>).
/// </summary>
internal static class UmlGuestScript
{
    /// <summary>Modules loaded up front (others load on demand through the kernel's modprobe).</summary>
    public static readonly IReadOnlyList<string> Modules =
    [
        "bridge", "veth", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_tables", "iptable_filter", "iptable_mangle",
        "xt_mac", "xt_mark", "xt_tcpudp", "xt_conntrack", "nf_conntrack",
    ];

    /// <summary>Room for both hosts' data (PostgreSQL, WAL, logs) in guest memory; used only as filled.</summary>
    public const string GuestDataSize = "768m";

    /// <summary>The guest's syslog (keepalived, sshd), readable from either host over SSH.</summary>
    public const string SyslogPath = "/guest/syslog";

    /// <summary>Where a host's own directories (data10, /etc/keepalived, …) live in the guest: its memory, not the machine's disk.</summary>
    public static string GuestHostDir(LabHostDefinition host) => "/guest/" + host.Name;

    public static string Render(string stateDir)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        sb.Append("# guest-up.sh - the UML lab's guest set-up, written by PgHaConsole.Lab `up --ipvs`.\n");
        sb.Append("set -u\n");
        // A failed set-up powers the guest off, so `up` stops waiting at once and shows this console output.
        sb.Append("fail() { echo \"guest-up: FAILED: $*\"; /busybox poweroff -f; exit 1; }\n");
        sb.Append("run() { \"$@\" || fail \"$*\"; }\n");
        sb.Append("echo \"guest-up: loading modules\"\n");
        foreach (var module in Modules)
        {
            sb.Append("run /busybox modprobe ").Append(Quote(module)).Append('\n');
        }

        sb.Append("run sysctl -q -w net.ipv4.ip_forward=1\n");
        sb.Append("run ip link set dev lo up\n");
        sb.Append("run ip link set dev eth0 addrgenmode none\n");
        sb.Append("run ip addr add ").Append(Quote(UmlLab.GuestTransferAddress + "/24")).Append(" dev eth0\n");
        sb.Append("run ip link set dev eth0 up\n");
        foreach (var argv in LabNetwork.BridgeCommands(stateDir))
        {
            AppendRun(sb, argv);
        }

        foreach (var host in LabTopology.Hosts)
        {
            AppendHostNetwork(sb, host, mac: null);
        }

        sb.Append("echo \"guest-up: starting hosts\"\n");
        // A real filesystem for the hosts' data (the initramfs root reports no free space, and the wizard checks it).
        AppendRun(sb, ["mkdir", "-p", "/guest"]);
        AppendRun(sb, ["mount", "-t", "tmpfs", "-o", "mode=0755,size=" + GuestDataSize, "tmpfs", "/guest"]);
        // One syslog for the guest (its /dev/log is shared by both hosts): keepalived and sshd log there.
        AppendRun(sb, ["/busybox", "syslogd", "-O", SyslogPath]);
        // The guest's own sshd, in its root namespaces on the transfer address: how the machine reaches the guest itself
        // (a host's restart runs there, not in a host, which it would kill), whatever state the hosts are in.
        AppendRun(sb, ["mkdir", "-p", "/run/sshd"]);
        AppendRun(sb, ["chmod", "0755", "/run/sshd"]);
        sb.Append(string.Join(' ', GuestSshdArgv(stateDir).Select(Quote)))
            .Append(" </dev/null >>").Append(Quote(UmlLab.GuestSshdLog(stateDir))).Append(" 2>&1 &\n");
        foreach (var host in LabTopology.Hosts)
        {
            var guestDir = GuestHostDir(host);
            var hostDir = LabHostBoot.HostDir(stateDir, host);
            AppendRun(sb, ["mkdir", "-p", guestDir]);
            // The host's directories start as `up` prepared them on the machine, then live in guest memory.
            AppendRun(sb, ["cp", "-a", hostDir + "/.", guestDir]);
            AppendHostStart(sb, stateDir, host);
        }

        sb.Append("echo \"guest-up: done at $(date +%s)\"\n");
        return sb.ToString();
    }

    /// <summary>
    /// <c>sh -s</c> in the guest's root namespaces: power one host off as <see cref="LabHostPower"/> does on the machine.
    /// Prints <c>mac=…</c> (its <c>mgt</c>'s MAC, kept for the power-on: LVS-DR's mangle rule on the peer names it), kills
    /// every process in the host's network namespace with SIGKILL by PID (never by name: the hosts share the guest's
    /// process table; this shell is in the guest's root namespace, not the host's) until none is left, then removes its
    /// veth and namespace, and with them its addresses (the VIPs on <c>mgt</c> and <c>lo</c>), sysctls, iptables rules and
    /// IPVS table. Its directories in guest memory stay, as a disk does.
    /// </summary>
    public static string RenderPowerOff(LabHostDefinition host)
    {
        var sb = PowerScriptHeader(host);
        sb.Append("if [ -e \"/run/netns/$ns\" ]; then\n");
        sb.Append("    mac=$(ip -n \"$ns\" -o link show dev ").Append(Quote(LabTopology.Interface)).Append(" 2>/dev/null | sed -n 's|.* link/ether \\([0-9a-f:]*\\) .*|\\1|p')\n");
        sb.Append("    [ -z \"$mac\" ] || echo \"mac=$mac\"\n");
        sb.Append("fi\n");
        sb.Append("tries=0\n");
        sb.Append("while pids=$(ip netns pids \"$ns\" 2>/dev/null | tr '\\n' ' ') && [ -n \"${pids% }\" ]; do\n");
        sb.Append("    tries=$((tries + 1))\n");
        sb.Append("    [ \"$tries\" -le 200 ] || fail \"processes of the host survived SIGKILL for 10 s: $pids\"\n");
        sb.Append("    kill -s KILL $pids 2>/dev/null\n");
        sb.Append("    sleep 0.05\n");
        sb.Append("done\n");
        sb.Append("[ ! -e \"/sys/class/net/$veth\" ] || run ip link del dev \"$veth\"\n");
        sb.Append("[ ! -e \"/run/netns/$ns\" ] || run ip netns del \"$ns\"\n");
        sb.Append("echo off\n");
        return sb.ToString();
    }

    /// <summary>
    /// <c>sh -s</c> in the guest's root namespaces: power one host on as at the guest's first boot (the same network
    /// commands, with <paramref name="mac"/> kept, and the same host boot: a fresh /run, its own directories, its
    /// /etc/sysctl.d and /etc/pghaconsole/boot.d, then sshd). Refuses a host that is on.
    /// </summary>
    public static string RenderPowerOn(string stateDir, LabHostDefinition host, string? mac)
    {
        var sb = PowerScriptHeader(host);
        sb.Append("[ ! -e \"/run/netns/$ns\" ] || fail \"host ").Append(host.Name).Append(" is already on\"\n");
        AppendHostNetwork(sb, host, mac);
        AppendRun(sb, ["rm", "-f", Path.Combine(GuestHostDir(host), "sshd.pid")]);
        AppendHostStart(sb, stateDir, host);
        sb.Append("echo on\n");
        return sb.ToString();
    }

    /// <summary>The guest's own sshd (root namespaces, transfer address), in the foreground: the guest's init reaps it.</summary>
    public static string[] GuestSshdArgv(string stateDir) => ["setsid", "/usr/sbin/sshd", "-D", "-e", "-f", UmlLab.GuestSshdConfig(stateDir)];

    private static StringBuilder PowerScriptHeader(LabHostDefinition host) =>
        new StringBuilder()
            .Append("set -u\n")
            .Append("fail() { echo \"FAILED: $*\" >&2; exit 1; }\n")
            .Append("run() { \"$@\" || fail \"$*\"; }\n")
            .Append("ns=").Append(Quote(host.Namespace)).Append('\n')
            .Append("veth=").Append(Quote(host.RootVeth)).Append('\n');

    /// <summary>One host's namespace and link (<see cref="LabNetwork.HostCommands"/>), and its route back to the machine.</summary>
    private static void AppendHostNetwork(StringBuilder sb, LabHostDefinition host, string? mac)
    {
        foreach (var argv in LabNetwork.HostCommands(host, mac))
        {
            AppendRun(sb, argv);
        }

        // Replies to the machine go back through the guest's bridge address; nothing else is routed.
        AppendRun(sb, ["ip", "-n", host.Namespace, "route", "add", UmlLab.TransferNetwork, "via", LabTopology.BridgeAddress]);
    }

    /// <summary>
    /// The host's boot (<see cref="LabHostBoot.StartHostArgv"/>) in the background, its directories in guest memory, with
    /// an init's clean environment (the same from the guest's init and from an SSH session of the guest's own sshd).
    /// </summary>
    private static void AppendHostStart(StringBuilder sb, string stateDir, LabHostDefinition host)
    {
        var guestDir = GuestHostDir(host);
        var hostDir = LabHostBoot.HostDir(stateDir, host);
        string[] argv =
        [
            "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/",
            .. LabHostBoot.StartHostArgv(host, Path.Combine(stateDir, LabPaths.BootScriptName), guestDir, hostDir, guestDir),
        ];
        sb.Append(string.Join(' ', argv.Select(Quote))).Append(" </dev/null >/dev/null 2>&1 &\n");
    }

    private static void AppendRun(StringBuilder sb, IEnumerable<string> argv) =>
        sb.Append("run ").Append(string.Join(' ', argv.Select(Quote))).Append('\n');

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
}
