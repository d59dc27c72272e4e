using System.Globalization;

namespace PgHaConsole.Lab;

/// <summary>Reads the lab's state without changing it: is it healthy, what runs in each host, does the kernel have IPVS.</summary>
internal static class LabHealth
{
    public static async Task<bool> IsHealthyAsync(string stateDir, CancellationToken ct)
    {
        var state = LabStateFile.TryLoad(stateDir);
        if (state is { IsUml: true })
        {
            return await UmlLab.IsHealthyAsync(stateDir, state, ct).ConfigureAwait(false);
        }

        if (state is null || !File.Exists(Path.Combine(stateDir, LabPaths.LabInfoFile))
            || !LabSystem.LinkExists(LabTopology.Bridge))
        {
            return false;
        }

        foreach (var host in LabTopology.Hosts)
        {
            if (!state.HostPids.TryGetValue(host.Name, out var pid) || !LabSystem.IsAlive(pid))
            {
                return false;
            }

            var pids = await LabSystem.NamespacePidsAsync(host.Namespace, ct).ConfigureAwait(false);
            if (!pids.Contains(pid)
                || !await LabSystem.SshAnswersAsync(host.Address, LabTopology.SshPort, TimeSpan.FromSeconds(2), ct).ConfigureAwait(false))
            {
                return false;
            }
        }

        var pg1 = LabTopology.Hosts[0];
        var ready = await CommandRunner.RunAsync(
            LabHostShell.NsenterArgv(state.HostPids[pg1.Name], PgIsReadyArgv()), null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return ready.Succeeded;
    }

    public static string[] PgIsReadyArgv() =>
        [LabTopology.PgBinDir + "/pg_isready", "-q", "-h", "/run/postgresql", "-p", LabTopology.PgPort.ToString(CultureInfo.InvariantCulture)];

    public static async Task<LabHostStatus> HostStatusAsync(LabHostDefinition host, LabStateFile? state, CancellationToken ct)
    {
        var nsExists = LabSystem.NamespaceExists(host.Namespace);
        var pids = await LabSystem.NamespacePidsAsync(host.Namespace, ct).ConfigureAwait(false);
        int? sshdPid = state is not null && state.HostPids.TryGetValue(host.Name, out var p) ? p : null;
        var sshdAlive = sshdPid is int live && pids.Contains(live);
        var answering = nsExists && await LabSystem.SshAnswersAsync(host.Address, LabTopology.SshPort, TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);

        var pgRunning = false;
        var pgDetail = "host not running";
        var vips = new List<string>();
        if (sshdAlive && sshdPid is int hostPid)
        {
            var ready = await CommandRunner.RunAsync(
                LabHostShell.NsenterArgv(hostPid, [LabTopology.PgBinDir + "/pg_isready", "-h", "/run/postgresql", "-p", LabTopology.PgPort.ToString(CultureInfo.InvariantCulture)]),
                null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
            pgRunning = ready.Succeeded;
            pgDetail = ready.Output.Replace("/run/postgresql:" + LabTopology.PgPort.ToString(CultureInfo.InvariantCulture) + " - ", string.Empty, StringComparison.Ordinal).Trim();
            var addr = await CommandRunner.RunAsync(["ip", "-n", host.Namespace, "-j", "-4", "addr", "show", "dev", LabTopology.Interface], ct).ConfigureAwait(false);
            if (addr.Succeeded)
            {
                vips.AddRange(LabSystem.ParseIpAddrJson(addr.StandardOutput)
                    .Select(a => a.Address)
                    .Where(a => a is LabTopology.WriteVip or LabTopology.ReadVip)
                    .Select(a => a == LabTopology.WriteVip ? $"{a} (write VIP)" : $"{a} (read VIP)"));
            }
        }

        var keepalived = pids.Where(x => LabSystem.Comm(x) == "keepalived").ToList();
        var haproxy = pids.Where(x => LabSystem.Comm(x) == "haproxy").ToList();
        return new LabHostStatus(host.Name, host.Address, host.Namespace, nsExists, sshdPid, sshdAlive, answering,
            pgRunning, pgDetail.Length == 0 ? "no answer" : pgDetail, keepalived, haproxy, vips, pids.Count);
    }

    public static async Task<(bool Available, string Detail)> DetectIpvsAsync(string host, CancellationToken ct)
    {
        var pid = await LabHostShell.FindHostPidAsync(LabTopology.Host(host), ct).ConfigureAwait(false);
        if (pid is null)
        {
            return await DetectIpvsInRootAsync(ct).ConfigureAwait(false);
        }

        var result = await CommandRunner.RunAsync(LabHostShell.NsenterArgv(pid.Value, ["ipvsadm", "-Ln"]), null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return Interpret(result);
    }

    public static async Task<(bool Available, string Detail)> DetectIpvsInRootAsync(CancellationToken ct)
    {
        // Listing is read-only; the module either exists in this kernel or it does not.
        var result = await CommandRunner.RunAsync(["ipvsadm", "-Ln"], null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return Interpret(result);
    }

    public static (bool Available, string Detail) Interpret(CommandResult result)
    {
        var firstLine = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
        return result.Succeeded
            ? (true, "ipvsadm -Ln works")
            : (false, "ipvsadm: " + (firstLine.Length == 0 ? $"exit code {result.ExitCode}" : firstLine));
    }
}
