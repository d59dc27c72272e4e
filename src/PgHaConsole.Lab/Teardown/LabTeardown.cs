using System.Globalization;

namespace PgHaConsole.Lab;

/// <summary><c>down</c>'s work: stop every lab process by PID, remove links and namespaces, then only the files the lab wrote.</summary>
internal sealed class LabTeardown(TextWriter log, TimeProvider time)
{
    public async Task TeardownAsync(string ownerStateDir, string stateDir, CancellationToken ct)
    {
        var stateDirs = new[] { ownerStateDir, stateDir }.Distinct(StringComparer.Ordinal).ToList();
        await KillLabProcessesAsync(stateDirs, ct).ConfigureAwait(false);

        // Deleting the root end of a veth deletes its peer `mgt` too; then the bridge.
        foreach (var link in LabSystem.LabLinks().OrderBy(l => l == LabTopology.Bridge ? 1 : 0))
        {
            await CommandRunner.RunAsync(["ip", "link", "del", "dev", link], ct).ConfigureAwait(false);
        }

        foreach (var ns in LabTopology.AllNamespaces.Where(LabSystem.NamespaceExists))
        {
            await CommandRunner.RunCheckedAsync("Deleting namespace " + ns, ["ip", "netns", "del", ns], ct).ConfigureAwait(false);
        }

        var remaining = LabSystem.LabLinks();
        if (remaining.Count > 0 || LabTopology.AllNamespaces.Any(LabSystem.NamespaceExists))
        {
            throw new LabException(
                "Could not remove the lab's network: still present: " + string.Join(", ", remaining) + ".",
                "Remove them by hand (ip link del DEV; ip netns del pghalab-pg1 pghalab-pg2 pghalab-dcs) and run `down` again.");
        }

        foreach (var dir in stateDirs)
        {
            await RemoveStateDirAsync(dir, ct).ConfigureAwait(false);
        }
    }

    private async Task KillLabProcessesAsync(IReadOnlyList<string> stateDirs, CancellationToken ct)
    {
        // Every process in the lab's network namespaces is a lab host's process (sshd, sessions, PostgreSQL,
        // keepalived, HAProxy started through it): the lab owns them all. So are the host launchers recorded in
        // state.json that may not have entered their namespace yet — but only while their command line still
        // names the state dir, so a reused PID is never touched. First ask, then insist.
        var launchers = stateDirs
            .Select(LabStateFile.TryLoad)
            .OfType<LabStateFile>()
            .SelectMany(s => s.HostPids.Values.Select(pid => (pid, s.StateDir)))
            .Where(x => LabSystem.IsAlive(x.pid) && LabSystem.CommandLine(x.pid).Contains(x.StateDir, StringComparison.Ordinal))
            .Select(x => x.pid)
            .ToList();

        // The UML guest kernel was started with setsid: its helper processes share its process group.
        var guestGroups = stateDirs.Select(LabStateFile.TryLoad).OfType<LabStateFile>()
            .Where(s => s.IsUml && s.HostPids.ContainsKey(UmlLab.PidKey))
            .Select(s => s.HostPids[UmlLab.PidKey])
            .Where(launchers.Contains)
            .ToList();
        async Task<List<int>> AllLabPidsAsync(CancellationToken token)
        {
            var all = new List<int>();
            foreach (var ns in LabTopology.AllNamespaces)
            {
                all.AddRange(await LabSystem.NamespacePidsAsync(ns, token).ConfigureAwait(false));
            }

            all.AddRange(launchers.Where(LabSystem.IsAlive));
            all.AddRange(guestGroups.SelectMany(LabSystem.ProcessGroupMembers));
            return all.Distinct().ToList();
        }

        var pids = await AllLabPidsAsync(ct).ConfigureAwait(false);
        if (pids.Count == 0)
        {
            return;
        }

        log.WriteLine($"lab: stopping {pids.Count} lab processes");
        await SignalAsync("TERM", pids, ct).ConfigureAwait(false);
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct).ConfigureAwait(false);
            pids = await AllLabPidsAsync(ct).ConfigureAwait(false);
            if (pids.Count == 0)
            {
                return;
            }
        }

        started = time.GetTimestamp();
        while (pids.Count > 0 && time.GetElapsedTime(started) < TimeSpan.FromSeconds(5))
        {
            await SignalAsync("KILL", pids, ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct).ConfigureAwait(false);
            pids = await AllLabPidsAsync(ct).ConfigureAwait(false);
        }

        if (pids.Count > 0)
        {
            throw new LabException(
                "Lab processes survived SIGKILL: " + string.Join(", ", pids) + ".",
                "Check them with `ps -o pid,stat,cmd -p PID` (a process in uninterruptible sleep cannot be killed), then run `down` again.");
        }
    }

    private static Task SignalAsync(string signal, IReadOnlyList<int> pids, CancellationToken ct) =>
        // Some may exit between listing and signalling; kill's non-zero exit for those is expected.
        CommandRunner.RunAsync(["kill", "-s", signal, "--", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))], ct);

    private async Task RemoveStateDirAsync(string stateDir, CancellationToken ct)
    {
        if (!Directory.Exists(stateDir))
        {
            return;
        }

        var state = LabStateFile.TryLoad(stateDir);
        foreach (var mountPoint in state?.CreatedMountPoints ?? [])
        {
            try
            {
                if (Directory.Exists(mountPoint) && !Directory.EnumerateFileSystemEntries(mountPoint).Any())
                {
                    Directory.Delete(mountPoint);
                }
            }
            catch (IOException ex)
            {
                log.WriteLine($"lab: left {mountPoint} in place: {ex.Message}");
            }
        }

        // Only what the lab wrote is removed, so a mistaken --state never wipes someone's folder.
        string[] files = [LabStateFile.FileName, LabStateFile.FileName + ".tmp", LabPaths.LabInfoFile, LabPaths.LabInfoFile + ".tmp",
            LabPaths.ClientKeyName, LabPaths.ClientKeyName + ".pub", LabPaths.BootScriptName, UmlLab.KnownHostsName];
        foreach (var file in files)
        {
            File.Delete(Path.Combine(stateDir, file));
        }

        foreach (var hosts in new[] { Path.Combine(stateDir, "hosts"), UmlLab.UmlDir(stateDir) })
        {
            await DeleteTreeAsync(hosts, ct).ConfigureAwait(false);
        }

        if (!Directory.EnumerateFileSystemEntries(stateDir).Any())
        {
            Directory.Delete(stateDir);
        }
        else
        {
            log.WriteLine($"lab: kept {stateDir}: it holds files the lab did not write.");
        }
    }

    private async Task DeleteTreeAsync(string dir, CancellationToken ct)
    {
        for (var attempt = 1; Directory.Exists(dir); attempt++)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException) when (attempt < 5)
            {
                // A process that just died may have written its last log line meanwhile; try again.
                await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct).ConfigureAwait(false);
            }
        }
    }
}
