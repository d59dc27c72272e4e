namespace PgHaConsole.Lab;

/// <summary>
/// Power for one host of the UML lab: what <see cref="LabHostPower"/> does on the machine, done inside the guest kernel,
/// whose process table and namespaces the hosts live in. Each half is one script (<see cref="UmlGuestScript.RenderPowerOff"/>,
/// <see cref="UmlGuestScript.RenderPowerOn"/>) run by the guest's own sshd in its root namespaces (see
/// <see cref="UmlLab.GuestSshdConfig"/>): one SSH round trip each, which matters in a guest where every fork is slow.
/// </summary>
internal sealed class UmlHostPower(TextWriter log, TimeProvider time)
{
    // Killing and removing take a second or two; the margin is for a guest starved by a loaded machine.
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);

    public async Task PowerOffAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var result = await RunScriptAsync(stateDir, host, "power off", UmlGuestScript.RenderPowerOff(host), ct).ConfigureAwait(false);
        var mac = result.StandardOutput.Split('\n', StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("mac=", StringComparison.Ordinal))
            .Select(l => l[4..])
            .FirstOrDefault();
        if (mac is not null)
        {
            await File.WriteAllTextAsync(LabHostPower.MacFile(stateDir, host), mac + "\n", ct).ConfigureAwait(false);
        }

        log.WriteLine($"lab: {host.Name} is off (in the UML guest: every process killed, its network state gone)");
    }

    public async Task PowerOnAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var mac = await LabHostPower.SavedMacAsync(stateDir, host, ct).ConfigureAwait(false);
        await RunScriptAsync(stateDir, host, "power on", UmlGuestScript.RenderPowerOn(stateDir, host, mac), ct).ConfigureAwait(false);
        var state = LabStateFile.TryLoad(stateDir);
        if (state is null || !state.HostPids.TryGetValue(UmlLab.PidKey, out var guestPid))
        {
            throw new LabException($"The UML lab's state.json in {stateDir} is missing or names no guest kernel.", "Run `down` then `up --ipvs`.");
        }

        await new UmlLab(log, time).WaitForSshAsync(stateDir, "host " + host.Name, host.Address, guestPid, ct).ConfigureAwait(false);
        log.WriteLine($"lab: {host.Name} booted in the UML guest (sshd answers; what it enables at boot starts in the background)");
    }

    private static async Task<CommandResult> RunScriptAsync(string stateDir, LabHostDefinition host, string what, string script, CancellationToken ct)
    {
        var result = await UmlLab.GuestExecAsync(stateDir, ["sh", "-s"], script, ScriptTimeout, ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            var hostLog = Path.Combine(LabHostBoot.HostDir(stateDir, host), "host.log");
            throw new LabException(
                $"The UML guest could not {what} {host.Name} (exit code {result.ExitCode}): {CommandRunner.Tail(result.Output)}",
                $"Look at {hostLog}, {UmlLab.GuestSshdLog(stateDir)} and {UmlLab.ConsoleLog(stateDir)}; `down` then `up --ipvs` starts the lab again.");
        }

        return result;
    }
}
