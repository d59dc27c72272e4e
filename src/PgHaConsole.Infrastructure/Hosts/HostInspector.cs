using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.Infrastructure.Hosts;

/// <summary>
/// Looks at a host in one SSH round trip: a fixed script prints labelled sections, parsed here. The script runs
/// as the login user (not through sudo) so that it still answers — and reports "no sudo" — when sudo does
/// not work; inside, it uses sudo only for the reads that need root.
/// </summary>
public sealed partial class HostInspector
{
    internal const string SectionMarker = "@@pgha:";

    internal const string Script = """
        export LC_ALL=C PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
        sec() { printf '\n%s%s\n' '@@pgha:' "$1"; }
        if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO='sudo -n'; fi
        sec os; ( . /etc/os-release 2>/dev/null && printf '%s\n' "${PRETTY_NAME:-}" )
        sec kernel; uname -r
        sec hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
        sec user; id -un; id -u
        sec sudo
        if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true >/dev/null 2>&1; then echo yes; else echo no; fi
        sec pginstalls
        for d in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do
          [ -x "$d/postgres" ] && printf '%s\t%s\n' "$d" "$("$d/postgres" --version 2>/dev/null | head -n1)"
        done
        sec pgpath; command -v postgres >/dev/null 2>&1 && postgres --version 2>/dev/null | head -n1
        sec postmasters
        selfnet=$(readlink /proc/self/ns/net); selfmnt=$(readlink /proc/self/ns/mnt)
        for p in /proc/[0-9]*; do
          pid=${p#/proc/}
          [ "$(cat "$p/comm" 2>/dev/null)" = postgres ] || continue
          ppid=$(awk '{print $4}' "$p/stat" 2>/dev/null)
          [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = postgres ] && continue
          # A host sharing the process table with others (a namespace lab, some containers) must not report a
          # neighbour's server as its own: same network and mount namespace as this shell, and a postmaster.pid,
          # seen from here, that names the process.
          [ "$($SUDO readlink "$p/ns/net" 2>/dev/null)" = "$selfnet" ] || continue
          [ "$($SUDO readlink "$p/ns/mnt" 2>/dev/null)" = "$selfmnt" ] || continue
          dir=$($SUDO readlink "$p/cwd" 2>/dev/null) || continue
          exe=$($SUDO readlink "$p/exe" 2>/dev/null)
          first=$($SUDO head -n1 -- "$dir/postmaster.pid" 2>/dev/null)
          [ "$first" = "$pid" ] && printf '%s\t%s\t%s\n' "$pid" "$dir" "$exe"
        done
        sec keepalived; command -v keepalived && keepalived --version 2>&1 | head -n1
        sec haproxy; command -v haproxy && haproxy -v 2>&1 | head -n1
        sec ipvsadm; command -v ipvsadm && ipvsadm --version 2>&1 | head -n1
        sec ipvs
        if command -v ipvsadm >/dev/null 2>&1; then out=$($SUDO ipvsadm -Ln 2>&1); rc=$?; printf '%s\n' "rc=$rc"; printf '%s\n' "$out" | head -n3; else echo rc=127; fi
        sec interfaces; ip -o addr show 2>/dev/null
        sec end
        exit 0
        """;

    private readonly ILogger<HostInspector> _logger;

    public HostInspector(ILogger<HostInspector>? logger = null)
    {
        _logger = logger ?? NullLogger<HostInspector>.Instance;
    }

    /// <summary>Connects (if needed) and inspects the host behind <paramref name="session"/>.</summary>
    public async Task<HostInfo> InspectAsync(ISshSession session, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        var hostKey = await session.ConnectAsync(cancellationToken);
        var result = await session.RunAsync(RemoteCommand.BashScript(Script).AsLoginUser(), timeout ?? TimeSpan.FromSeconds(30), null, cancellationToken);
        result.EnsureSuccess($"Inspecting {session.Target.DisplayName}");
        var info = Parse(session.Target.Name ?? session.Target.Host, result.StdOut, hostKey);
        _logger.LogInformation(
            "Inspected {Node}: {Os}, kernel {Kernel}, PostgreSQL {PgVersions}, keepalived {Keepalived}, haproxy {Haproxy}, ipvsadm {Ipvsadm}, IPVS usable {IpvsUsable}",
            info.Node, info.OsPrettyName, info.Kernel, string.Join(',', info.PostgresInstalls.Select(p => p.MajorVersion)),
            info.Keepalived.Present, info.Haproxy.Present, info.Ipvsadm.Present, info.IpvsUsable);
        return info;
    }

    /// <summary>Parses the script's output (public for tests against captured output).</summary>
    public static HostInfo Parse(string node, string output, HostKeyInfo hostKey)
    {
        ArgumentNullException.ThrowIfNull(output);
        var sections = SplitSections(output);
        string[] Lines(string name) => sections.TryGetValue(name, out var l) ? l : [];
        string? First(string name) => Lines(name).FirstOrDefault(l => l.Length > 0);

        var user = Lines("user");
        var sudo = First("sudo");
        var installs = Lines("pginstalls")
            .Select(l => l.Split('\t', 2))
            .Where(p => p.Length == 2)
            .Select(p => new PostgresInstall(p[0], MajorOf(p[1]), p[1]))
            .ToList();
        var postmasters = new List<RunningPostmaster>();
        foreach (var l in Lines("postmasters"))
        {
            var p = l.Split('\t');
            if (p.Length >= 2 && int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                postmasters.Add(new RunningPostmaster(pid, p[1], p.Length > 2 && p[2].Length > 0 ? p[2] : null));
            }
        }

        var ipvs = Lines("ipvs").Where(l => l.Length > 0).ToList();
        var ipvsRc = ipvs.Count > 0 && ipvs[0].StartsWith("rc=", StringComparison.Ordinal)
            && int.TryParse(ipvs[0].AsSpan(3), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rc) ? rc : -1;
        var ipvsDetail = string.Join(' ', ipvs.Skip(1)).Trim();

        return new HostInfo
        {
            Node = node,
            OsPrettyName = First("os"),
            Kernel = First("kernel"),
            Hostname = First("hostname"),
            LoginUser = user.FirstOrDefault(l => l.Length > 0) ?? "?",
            IsRoot = sudo == "root",
            PasswordlessSudo = sudo is "root" or "yes",
            PostgresInstalls = installs,
            PostgresOnPath = First("pgpath"),
            Postmasters = postmasters,
            Keepalived = Tool(Lines("keepalived")),
            Haproxy = Tool(Lines("haproxy")),
            Ipvsadm = Tool(Lines("ipvsadm")),
            IpvsUsable = ipvsRc == 0,
            IpvsDetail = ipvsRc == 0 ? null : ipvsDetail.Length > 0 ? ipvsDetail : "ipvsadm not installed",
            Interfaces = Lines("interfaces").Select(ParseInterface).OfType<HostInterface>().ToList(),
            HostKey = hostKey,
        };
    }

    private static Dictionary<string, string[]> SplitSections(string output)
    {
        var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? current = null;
        var lines = new List<string>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(SectionMarker, StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    result[current] = [.. lines];
                }

                current = line[SectionMarker.Length..].Trim();
                lines.Clear();
            }
            else if (current is not null && line.Length > 0)
            {
                lines.Add(line);
            }
        }

        if (current is not null)
        {
            result[current] = [.. lines];
        }

        return result;
    }

    private static ToolInfo Tool(string[] lines)
    {
        // First line: the path from `command -v`; second: the version line.
        if (lines.Length == 0 || !lines[0].StartsWith('/'))
        {
            return new ToolInfo(false, null, null);
        }

        return new ToolInfo(true, lines[0], lines.Length > 1 ? lines[1].Trim() : null);
    }

    private static int? MajorOf(string versionText)
    {
        var m = PostgresVersionRegex().Match(versionText);
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static HostInterface? ParseInterface(string line)
    {
        // "2: mgt    inet 198.18.4.247/24 brd 198.18.4.255 scope global mgt\       valid_lft forever …"
        var m = InterfaceRegex().Match(line);
        if (!m.Success)
        {
            return null;
        }

        return new HostInterface(
            m.Groups["name"].Value,
            m.Groups["family"].Value,
            m.Groups["addr"].Value,
            int.Parse(m.Groups["len"].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"\(PostgreSQL\)\s+(\d+)")]
    private static partial Regex PostgresVersionRegex();

    [GeneratedRegex(@"^\d+:\s+(?<name>[^\s@]+)(@\S+)?\s+(?<family>inet6?)\s+(?<addr>[0-9a-fA-F.:]+)/(?<len>\d+)")]
    private static partial Regex InterfaceRegex();
}
