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
            foreach (var argv in LabNetwork.HostCommands(host))
            {
                AppendRun(sb, argv);
            }

            // Replies to the machine go back through the guest's bridge address; nothing else is routed.
            AppendRun(sb, ["ip", "-n", host.Namespace, "route", "add", UmlLab.TransferNetwork, "via", LabTopology.BridgeAddress]);
        }

        sb.Append("echo \"guest-up: starting hosts\"\n");
        // A real filesystem for the hosts' data (the initramfs root reports no free space, and the wizard checks it).
        AppendRun(sb, ["mkdir", "-p", "/guest"]);
        AppendRun(sb, ["mount", "-t", "tmpfs", "-o", "mode=0755,size=" + GuestDataSize, "tmpfs", "/guest"]);
        // One syslog for the guest (its /dev/log is shared by both hosts): keepalived and sshd log there.
        AppendRun(sb, ["/busybox", "syslogd", "-O", SyslogPath]);
        foreach (var host in LabTopology.Hosts)
        {
            var guestDir = GuestHostDir(host);
            var hostDir = LabHostBoot.HostDir(stateDir, host);
            AppendRun(sb, ["mkdir", "-p", guestDir]);
            // The host's directories start as `up` prepared them on the machine, then live in guest memory.
            AppendRun(sb, ["cp", "-a", hostDir + "/.", guestDir]);
            var argv = LabHostBoot.StartHostArgv(host, Path.Combine(stateDir, LabPaths.BootScriptName), guestDir, hostDir, guestDir);
            sb.Append(string.Join(' ', argv.Select(Quote))).Append(" </dev/null >/dev/null 2>&1 &\n");
        }

        sb.Append("echo \"guest-up: done at $(date +%s)\"\n");
        return sb.ToString();
    }

    private static void AppendRun(StringBuilder sb, IEnumerable<string> argv) =>
        sb.Append("run ").Append(string.Join(' ', argv.Select(Quote))).Append('\n');

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
}
