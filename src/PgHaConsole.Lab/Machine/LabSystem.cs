using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace PgHaConsole.Lab;

/// <summary>Small read-only probes of the machine: namespaces, links, processes, ports.</summary>
internal static class LabSystem
{
    /// <summary>Sets a file's mode; the lab only runs on Linux (the guard keeps the platform analyzer honest).</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    public static bool NamespaceExists(string ns) => File.Exists(Path.Combine("/run/netns", ns));

    public static bool LinkExists(string name) => Directory.Exists(Path.Combine("/sys/class/net", name));

    /// <summary>Every root-namespace link whose name starts with the lab prefix (bridge and veth ends).</summary>
    public static IReadOnlyList<string> LabLinks()
    {
        if (!Directory.Exists("/sys/class/net"))
        {
            return [];
        }

        return Directory.EnumerateFileSystemEntries("/sys/class/net")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n.StartsWith(LabTopology.NamePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The state dir recorded by the <c>up</c> that created the lab, if any: in the alias of the bridge (namespace lab)
    /// or of the tap device that links the machine to the UML guest (UML lab).
    /// </summary>
    public static string? BridgeOwner() => LinkAlias(LabTopology.Bridge) ?? LinkAlias(UmlLab.Tap);

    private static string? LinkAlias(string link)
    {
        var path = Path.Combine("/sys/class/net", link, "ifalias");
        try
        {
            var alias = File.ReadAllText(path).Trim();
            return alias.Length == 0 ? null : alias;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static async Task<IReadOnlyList<int>> NamespacePidsAsync(string ns, CancellationToken ct)
    {
        if (!NamespaceExists(ns))
        {
            return [];
        }

        var result = await CommandRunner.RunAsync(["ip", "netns", "pids", ns], ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return [];
        }

        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && IsAlive(pid))
            .ToList();
    }

    /// <summary>True for a live process; a zombie (exited, not yet reaped) counts as gone.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length)
            {
                return false;
            }

            var state = stat[close + 2];
            return state is not ('Z' or 'X' or 'x');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Live processes whose process group is <paramref name="pgid"/> (a program started with setsid and its children).</summary>
    public static IReadOnlyList<int> ProcessGroupMembers(int pgid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 2 && fields[2] == pgid.ToString(CultureInfo.InvariantCulture) && IsAlive(pid))
                {
                    members.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }

        return members;
    }

    public static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>Connects to an sshd and reads its banner: the port is open and a real sshd answers.</summary>
    public static async Task<bool> SshAnswersAsync(string address, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(IPAddress.Parse(address), port, cts.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            return read >= 4 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>IPv4 addresses per interface from <c>ip -j -4 addr show</c> output.</summary>
    public static IReadOnlyList<(string Interface, string Address, int Prefix)> ParseIpAddrJson(string json)
    {
        var list = new List<(string, string, int)>();
        if (string.IsNullOrWhiteSpace(json))
        {
            return list;
        }

        using var doc = JsonDocument.Parse(json);
        foreach (var link in doc.RootElement.EnumerateArray())
        {
            var name = link.TryGetProperty("ifname", out var n) ? n.GetString() ?? string.Empty : string.Empty;
            if (!link.TryGetProperty("addr_info", out var infos))
            {
                continue;
            }

            foreach (var info in infos.EnumerateArray())
            {
                if (info.TryGetProperty("family", out var fam) && fam.GetString() == "inet"
                    && info.TryGetProperty("local", out var local) && local.GetString() is { } address)
                {
                    var prefix = info.TryGetProperty("prefixlen", out var p) ? p.GetInt32() : 32;
                    list.Add((name, address, prefix));
                }
            }
        }

        return list;
    }

    public static bool InLabNetwork(string address) =>
        IPAddress.TryParse(address, out var ip)
        && ip.AddressFamily == AddressFamily.InterNetwork
        && IPNetwork.Parse(LabTopology.Network).Contains(ip);

    /// <summary>Looks a program up on PATH plus the sbin folders (sudo may drop them from PATH).</summary>
    public static string? FindProgram(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var dirs = path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
        return dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }
}
