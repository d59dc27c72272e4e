using System.Net;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Topology;

/// <summary>What one host said about its VIPs, keepalived and the read balancer in one probe.</summary>
public sealed record HostObservation
{
    public bool HoldsWriteVip { get; init; }

    public bool HoldsReadVip { get; init; }

    public KeepalivedNodeState? Keepalived { get; init; }

    public BalancerNodeState? Balancer { get; init; }

    /// <summary>HAProxy mode: a live haproxy in this host's network namespace owns the pid file.</summary>
    public bool? HaproxyRunning { get; init; }

    /// <summary>A live postmaster owns the data directory's postmaster.pid.</summary>
    public bool? PostmasterRunning { get; init; }

    /// <summary>This host could open the peer's PostgreSQL port.</summary>
    public bool? PeerPortOpen { get; init; }

    /// <summary>The fence marker's line, when the node is fenced.</summary>
    public string? Fenced { get; init; }

    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>
/// The one read-only script the prober runs on each host per probe (values as positional arguments, never in the
/// text), and the parser of its labelled sections.
/// </summary>
public static class HostProbeScript
{
    public const string SectionMarker = "@@pgha:";

    /// <summary>Printed in the haproxy section when socat is missing.</summary>
    public const string NoSocat = "@@pgha-no-socat";

    /// <summary>
    /// $1 = lvs|haproxy, $2 = keepalived state file, $3 = HAProxy stats socket, $4 = fence marker, $5 = data directory,
    /// $6 = the peer's address, $7 = the PostgreSQL port, $8 = HAProxy's pid file, $9 = keepalived's main pid file.
    /// </summary>
    public const string Script = """
        export LC_ALL=C PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
        sec() { printf '\n%s%s\n' '@@pgha:' "$1"; }
        sec ipaddr; ip -j addr show 2>&1
        sec kastate; cat -- "$2" 2>&1
        sec karunning
        # A host sharing its process table with others (a namespace lab, some containers) must not report a
        # neighbour's keepalived as its own: count only those in this shell's network namespace (a zombie has none).
        # Its main process (the pid file) decides when there is one: after a kill -9 of it, its VRRP child still
        # winds down (adverts, VIPs, notify scripts) for a while, but keepalived is down.
        selfnet=$(readlink /proc/self/ns/net); found=no
        kpid=$(head -n 1 -- "$9" 2>/dev/null | tr -dc '0-9')
        if [ -n "$kpid" ]; then
          [ "$(cat "/proc/$kpid/comm" 2>/dev/null)" = keepalived ] && [ "$(readlink "/proc/$kpid/ns/net" 2>/dev/null)" = "$selfnet" ] && found=yes
        else
          for pid in $(pgrep -x keepalived 2>/dev/null); do
            [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$selfnet" ] && found=yes
          done
        fi
        echo "$found"
        sec fence; [ -e "$4" ] && head -n 1 -- "$4"
        sec postmaster
        p=$(head -n 1 -- "$5/postmaster.pid" 2>/dev/null | tr -dc '0-9')
        if [ -n "$p" ] && [ -d "/proc/$p" ] && ! grep -qE '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then echo yes; else echo no; fi
        sec peerport
        # What this host sees of its peer's PostgreSQL: refused at once when it is down, a timeout across a partition.
        if timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$6" "$7" 2>/dev/null; then echo open; else echo closed; fi
        if [ "$1" = lvs ]; then
          sec ipvs; ipvsadm -Ln 2>&1
          sec ipvsstats; ipvsadm -Ln --stats 2>&1
          sec ipvsrate; ipvsadm -Ln --rate 2>&1
          sec ipvsconn; ipvsadm -Lnc 2>&1
          sec mangle; iptables -t mangle -S PREROUTING 2>&1
        elif [ "$1" = haproxy ]; then
          sec harunning; found=no
          while read -r pid; do
            case "$pid" in '' | *[!0-9]*) continue ;; esac
            [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = haproxy ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$selfnet" ] && found=yes
          done < <(cat -- "$8" 2>/dev/null)
          echo "$found"
          sec haproxy
          if command -v socat >/dev/null 2>&1; then
            echo "show stat" | socat stdio "UNIX-CONNECT:$3" 2>&1
          else
            echo '@@pgha-no-socat'
          fi
        fi
        sec end
        exit 0
        """;

    /// <summary>The positional arguments of <see cref="Script"/>.</summary>
    public static IReadOnlyList<string> Arguments(ClusterSpec cluster, NodeSpec node, Keepalived.KeepalivedPaths keepalived, string haproxySocket)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(keepalived);
        return
        [
            cluster.Balancer == BalancerMode.LvsDr ? "lvs" : "haproxy", keepalived.StateFile, haproxySocket, keepalived.FenceFile,
            cluster.Postgres.DataDir.TrimEnd('/'), cluster.Peer(node).Address, cluster.Postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            keepalived.HaproxyPidFile, keepalived.KeepalivedPidFile,
        ];
    }

    public static HostObservation Parse(string output, ClusterSpec cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var sections = SplitSections(output ?? string.Empty);
        string Text(string name) => sections.TryGetValue(name, out var t) ? t : string.Empty;
        var errors = new List<string>();

        var holdsWrite = false;
        var holdsRead = false;
        var ip = IpAddrParser.Parse(Text("ipaddr"));
        if (ip.Value is { } interfaces)
        {
            // LVS-DR real servers carry the read VIP on lo (with arp_ignore): that is not holding it.
            var real = interfaces.Where(i => i.Name != "lo" && !i.Flags.Contains("LOOPBACK")).ToArray();
            holdsWrite = IPAddress.TryParse(cluster.WriteVip, out var w) && IpAddrParser.HoldsAddress(real, w);
            holdsRead = IPAddress.TryParse(cluster.ReadVip, out var r) && IpAddrParser.HoldsAddress(real, r);
        }
        else
        {
            errors.Add("Could not read the host's addresses (ip -j addr): " + string.Join("; ", ip.Errors));
        }

        var running = string.Equals(Text("karunning").Trim(), "yes", StringComparison.Ordinal);
        var stateText = Text("kastate");
        KeepalivedNodeState keepalived;
        if (stateText.Contains("No such file", StringComparison.Ordinal))
        {
            keepalived = new KeepalivedNodeState(running, VrrpState.Unknown, null, null,
                "keepalived has not reported a state yet (no state file: not configured by the console, or never started).");
        }
        else
        {
            var state = KeepalivedStateParser.ParseStateFile(stateText);
            keepalived = state.Value is { } s
                ? new KeepalivedNodeState(running, running ? s.State : VrrpState.Stop, s.Priority, s.At,
                    running ? (s.Instance.Length > 0 ? "instance " + s.Instance : null) : $"keepalived is not running (last state written: {s.StateText}).")
                : new KeepalivedNodeState(running, VrrpState.Unknown, null, null, string.Join("; ", state.Errors));
        }

        BalancerNodeState? balancer = null;
        if (cluster.Balancer == BalancerMode.LvsDr && sections.ContainsKey("ipvs"))
        {
            balancer = ParseLvs(Text("ipvs"), Text("ipvsstats"), Text("ipvsrate"), Text("mangle"), Text("ipvsconn"));
        }
        else if (cluster.Balancer == BalancerMode.Haproxy && sections.ContainsKey("haproxy"))
        {
            balancer = ParseHaproxy(Text("haproxy"));
        }

        if (!sections.ContainsKey("end"))
        {
            errors.Add("The probe's output on this host was cut short.");
        }

        static bool? YesNo(string text, string yes, string no) =>
            text.Trim() == yes ? true : text.Trim() == no ? false : null;
        var fence = Text("fence").Trim();
        return new HostObservation
        {
            HoldsWriteVip = holdsWrite,
            HoldsReadVip = holdsRead,
            Keepalived = keepalived,
            Balancer = balancer,
            HaproxyRunning = sections.ContainsKey("harunning") ? YesNo(Text("harunning"), "yes", "no") : null,
            PostmasterRunning = sections.ContainsKey("postmaster") ? YesNo(Text("postmaster"), "yes", "no") : null,
            PeerPortOpen = sections.ContainsKey("peerport") ? YesNo(Text("peerport"), "open", "closed") : null,
            Fenced = fence.Length > 0 ? fence : null,
            Errors = errors,
        };
    }

    public static BalancerNodeState ParseLvs(string list, string stats, string rate, string mangle, string connections = "")
    {
        var rules = Lines(mangle).Where(l => l.StartsWith('-')).ToArray();
        var mangleProblem = rules.Length == 0 && mangle.Trim().Length > 0 ? $" iptables: {FirstLine(mangle)}" : string.Empty;
        var parsed = IpvsadmParser.Parse(list, IpvsListingKind.Connections);
        if (parsed.Value is not { } table)
        {
            return new BalancerNodeState
            {
                MangleRules = rules,
                Unavailable = "IPVS not available on this host: " + (parsed.Errors.Count > 0 ? parsed.Errors[0] : FirstLine(list)) + mangleProblem,
            };
        }

        if (!table.IsAvailable)
        {
            var reason = table.Availability == IpvsAvailability.CommandMissing ? "ipvsadm is not installed" : table.UnavailableReason ?? "the kernel has no ip_vs module";
            return new BalancerNodeState { Ipvs = table, MangleRules = rules, Unavailable = "IPVS not available on this host: " + reason };
        }

        var merged = IpvsadmParser.Merge(table, IpvsadmParser.Parse(stats, IpvsListingKind.Stats).Value, IpvsadmParser.Parse(rate, IpvsListingKind.Rate).Value);
        return new BalancerNodeState { Ipvs = merged, MangleRules = rules, Connections = IpvsConnectionParser.Parse(connections).Value };
    }

    public static BalancerNodeState ParseHaproxy(string text)
    {
        if (text.Contains(NoSocat, StringComparison.Ordinal))
        {
            return new BalancerNodeState { Unavailable = "Cannot read HAProxy's state: socat is not installed on this host (needed to query the stats socket)." };
        }

        var parsed = HaproxyStatParser.Parse(text);
        return parsed.Value is { } rows
            ? new BalancerNodeState { Haproxy = HaproxyStatParser.GroupByProxy(rows) }
            : new BalancerNodeState
            {
                Unavailable = "Cannot read HAProxy's state from its stats socket: " + (text.Trim().Length > 0 ? FirstLine(text) : string.Join("; ", parsed.Errors)),
            };
    }

    private static Dictionary<string, string> SplitSections(string output)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var body = new List<string>();
        foreach (var line in output.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            if (l.StartsWith(SectionMarker, StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    sections[current] = string.Join('\n', body);
                }

                current = l[SectionMarker.Length..].Trim();
                body.Clear();
                continue;
            }

            if (current is not null)
            {
                body.Add(l);
            }
        }

        if (current is not null)
        {
            sections[current] = string.Join('\n', body);
        }

        return sections;
    }

    private static IEnumerable<string> Lines(string text) => text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0);

    private static string FirstLine(string text) => Lines(text).FirstOrDefault() ?? "no output";
}
