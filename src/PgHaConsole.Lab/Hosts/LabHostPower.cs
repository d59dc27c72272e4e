using System.Globalization;
using System.Text.Json;

namespace PgHaConsole.Lab;

/// <summary>
/// Power for one lab host: off (every process of the host killed by PID, its network namespace with the addresses,
/// sysctls and netfilter rules on it removed: what a power cut takes) and on (a fresh namespace with the same address
/// and MAC, then the host's boot: a fresh /run, its own directories, the network sysctls of its /etc/sysctl.d and
/// what it enables at boot in /etc/pghaconsole/boot.d, then sshd). A restart is both. Files the host owns on disk
/// (/data10, /etc/keepalived, /etc/haproxy, /etc/sysctl.d, /etc/pghaconsole, /root) survive, as a disk does.
/// </summary>
internal sealed class LabHostPower(TextWriter log, TimeProvider time)
{
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(10);
    private readonly LabHostBoot boot = new(time);

    /// <summary>The MAC of the host's <c>mgt</c>, kept across a restart as a NIC's is (LVS-DR's mangle rule names the peer's MAC).</summary>
    internal static string MacFile(string stateDir, LabHostDefinition host) => Path.Combine(LabHostBoot.HostDir(stateDir, host), "mgt.mac");

    public async Task PowerOffAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        if (LabSystem.NamespaceExists(host.Namespace))
        {
            var mac = await CurrentMacAsync(host, ct).ConfigureAwait(false);
            if (mac is not null)
            {
                await File.WriteAllTextAsync(MacFile(stateDir, host), mac + "\n", ct).ConfigureAwait(false);
            }
        }

        // Every process in the host's network namespace is the host's (sshd, sessions, PostgreSQL, keepalived, HAProxy
        // and whatever they started), plus its launcher while it has not entered the namespace yet (its command line
        // names the state dir, so a reused PID is never touched). SIGKILL at once: a power cut gives nobody time to
        // clean up, so PostgreSQL goes through crash recovery at the next boot, as it would.
        var state = LabStateFile.TryLoad(stateDir);
        int? launcher = state is not null && state.HostPids.TryGetValue(host.Name, out var recorded)
            && LabSystem.IsAlive(recorded) && LabSystem.CommandLine(recorded).Contains(stateDir, StringComparison.Ordinal)
            ? recorded
            : null;
        var started = time.GetTimestamp();
        while (true)
        {
            var pids = (await LabSystem.NamespacePidsAsync(host.Namespace, ct).ConfigureAwait(false)).ToList();
            if (launcher is int l && LabSystem.IsAlive(l))
            {
                pids.Add(l);
            }

            pids = pids.Distinct().ToList();
            if (pids.Count == 0)
            {
                break;
            }

            if (time.GetElapsedTime(started) > KillTimeout)
            {
                throw new LabException(
                    $"Processes of lab host {host.Name} survived SIGKILL: {string.Join(", ", pids)}.",
                    "Check them with `ps -o pid,stat,cmd -p PID`, then run `restart-host` again (or `down` and `up`).");
            }

            await CommandRunner.RunAsync(["kill", "-s", "KILL", "--", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))], ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct).ConfigureAwait(false);
        }

        // The kernel state of the host goes with its namespace: addresses (the VIPs), routes, neighbours, per-namespace
        // sysctls (ip_nonlocal_bind, arp_ignore), iptables rules. Deleting the root end of the veth deletes `mgt` too.
        if (LabSystem.LinkExists(host.RootVeth))
        {
            await CommandRunner.RunCheckedAsync("Removing " + host.Name + "'s link", ["ip", "link", "del", "dev", host.RootVeth], ct).ConfigureAwait(false);
        }

        if (LabSystem.NamespaceExists(host.Namespace))
        {
            await CommandRunner.RunCheckedAsync("Removing " + host.Name + "'s namespace", ["ip", "netns", "del", host.Namespace], ct).ConfigureAwait(false);
        }

        log.WriteLine($"lab: {host.Name} is off (every process killed, its network state gone)");
    }

    public async Task PowerOnAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        if (LabSystem.NamespaceExists(host.Namespace))
        {
            throw new LabException($"Lab host {host.Name} is already on.", $"Use `restart-host {host.Name}` to restart it.");
        }

        foreach (var argv in LabNetwork.HostCommands(host, await SavedMacAsync(stateDir, host, ct).ConfigureAwait(false)))
        {
            await CommandRunner.RunCheckedAsync($"Creating host {host.Name}'s network", argv, ct).ConfigureAwait(false);
        }

        var launcher = LabHostBoot.StartHost(stateDir, host, Path.Combine(stateDir, LabPaths.BootScriptName));
        RecordPid(stateDir, host, launcher);
        var pid = await boot.WaitForPidFileAsync(stateDir, host, launcher, ct).ConfigureAwait(false);
        RecordPid(stateDir, host, pid);
        await boot.WaitForSshAsync(stateDir, host, ct).ConfigureAwait(false);
        log.WriteLine($"lab: {host.Name} booted (sshd answers; what it enables at boot starts in the background)");
    }

    private static void RecordPid(string stateDir, LabHostDefinition host, int pid)
    {
        var state = LabStateFile.TryLoad(stateDir)
            ?? throw new LabException($"The lab's state.json in {stateDir} is missing or unreadable.", "Run `down` then `up`.");
        var pids = new Dictionary<string, int>(state.HostPids) { [host.Name] = pid };
        (state with { HostPids = pids }).Save();
    }

    private static async Task<string?> CurrentMacAsync(LabHostDefinition host, CancellationToken ct)
    {
        var result = await CommandRunner.RunAsync(["ip", "-n", host.Namespace, "-j", "link", "show", "dev", LabTopology.Interface], ct).ConfigureAwait(false);
        if (!result.Succeeded || string.IsNullOrWhiteSpace(result.StandardOutput))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(result.StandardOutput);
        return doc.RootElement.EnumerateArray()
            .Select(e => e.TryGetProperty("address", out var a) ? a.GetString() : null)
            .FirstOrDefault(a => a is not null);
    }

    internal static async Task<string?> SavedMacAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var file = MacFile(stateDir, host);
        if (!File.Exists(file))
        {
            return null;
        }

        var mac = (await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)).Trim();
        return mac.Length == 17 && mac.All(c => char.IsAsciiHexDigit(c) || c == ':') ? mac : null;
    }
}
