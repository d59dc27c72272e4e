using PgHaConsole.Core.Model;

namespace PgHaConsole.Lab;

/// <summary>
/// Brings the two-host lab up, reports on it, takes it down, and runs commands inside its hosts.
/// Used by the Lab program, the integration and browser tests, and the web app's demo. The work itself lives in
/// one folder per concern: Prerequisites/, Build/ (with Network/, Hosts/, Postgres/), Status/, Teardown/.
/// </summary>
public sealed class LabController
{
    private readonly TextWriter _log;
    private readonly TimeProvider _time;

    public LabController(TextWriter? log = null, TimeProvider? timeProvider = null)
    {
        _log = log ?? TextWriter.Null;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The state dir of the lab that currently exists on this machine (recorded on its bridge), or null.</summary>
    public static string? FindRunningLabStateDir() => LabSystem.BridgeOwner();

    /// <summary>True when any namespace, bridge or veth of the lab exists.</summary>
    public static bool AnyLabResourceExists() =>
        LabTopology.AllNamespaces.Any(LabSystem.NamespaceExists) || LabSystem.LabLinks().Count > 0;

    public async Task<LabUpResult> UpAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetTimestamp();
        LabPrerequisites.EnsureRoot("up");
        await LabPrerequisites.EnsurePackagesAsync(options.InstallPackages, options.Ipvs, _log, cancellationToken).ConfigureAwait(false);
        var stateDir = LabPaths.Resolve(options.StateDir);
        var teardown = new LabTeardown(_log, _time);

        if (AnyLabResourceExists())
        {
            var owner = LabSystem.BridgeOwner() ?? stateDir;
            if (await LabHealth.IsHealthyAsync(owner, cancellationToken).ConfigureAwait(false))
            {
                if (!PathEquals(owner, stateDir))
                {
                    throw new LabException(
                        $"A lab is already running with state dir {owner}; only one lab can exist at a time (its names and addresses are fixed).",
                        $"Use that lab (--state {owner}), or take it down first: sudo dotnet run --project src/PgHaConsole.Lab -- down --state {owner}");
                }

                if (LabStateFile.TryLoad(owner) is { } running && running.IsUml != options.Ipvs)
                {
                    throw new LabException(
                        $"A {(running.IsUml ? "UML (IPVS)" : "namespace")} lab is running with state dir {owner}; `up{(options.Ipvs ? " --ipvs" : string.Empty)}` asks for the other kind (both use the same addresses).",
                        "Take it down first: sudo dotnet run --project src/PgHaConsole.Lab -- down");
                }

                _log.WriteLine($"lab: already running (state dir {stateDir}); nothing changed.");
                var info = LabInfoFile.Load(Path.Combine(stateDir, LabPaths.LabInfoFile));
                return new LabUpResult(stateDir, info, AlreadyRunning: true, _time.GetElapsedTime(started));
            }

            _log.WriteLine("lab: found leftovers of an earlier lab; cleaning them up first.");
            await teardown.TeardownAsync(owner, stateDir, cancellationToken).ConfigureAwait(false);
        }
        else if (LabStateFile.TryLoad(stateDir) is not null || File.Exists(Path.Combine(stateDir, LabPaths.LabInfoFile)))
        {
            // State without namespaces: a lab whose network was removed by hand or by a reboot.
            await teardown.TeardownAsync(stateDir, stateDir, cancellationToken).ConfigureAwait(false);
        }

        await LabPrerequisites.EnsureAddressRangeFreeAsync(cancellationToken).ConfigureAwait(false);

        try
        {
            var info = options.Ipvs
                ? await new UmlLab(_log, _time).BuildAsync(stateDir, cancellationToken).ConfigureAwait(false)
                : await new LabBuilder(_log, _time).BuildAsync(stateDir, cancellationToken).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            _log.WriteLine($"lab: up in {elapsed.TotalSeconds:0.0} s; description in {Path.Combine(stateDir, LabPaths.LabInfoFile)}");
            return new LabUpResult(stateDir, info, AlreadyRunning: false, elapsed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Leave nothing half-built behind: the message already carries what went wrong.
            _log.WriteLine("lab: up failed; removing what was created.");
            await teardown.TeardownAsync(stateDir, stateDir, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public async Task DownAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        LabPrerequisites.EnsureRoot("down");
        var owner = LabSystem.BridgeOwner();
        // Without --state, `down` takes down whichever lab exists (its bridge names its state dir), so it
        // also works from outside the repository.
        var stateDir = options.StateDir is null && owner is not null ? owner : LabPaths.Resolve(options.StateDir);
        if (owner is not null && !PathEquals(owner, stateDir) && Directory.Exists(owner))
        {
            throw new LabException(
                $"The lab on this machine belongs to state dir {owner}, not {stateDir}.",
                $"Take it down with its own state dir: sudo dotnet run --project src/PgHaConsole.Lab -- down --state {owner}");
        }

        var started = _time.GetTimestamp();
        await new LabTeardown(_log, _time).TeardownAsync(owner ?? stateDir, stateDir, cancellationToken).ConfigureAwait(false);
        _log.WriteLine($"lab: down in {_time.GetElapsedTime(started).TotalSeconds:0.0} s; nothing of the lab remains.");
    }

    public async Task<LabStatus> StatusAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        LabPrerequisites.EnsureRoot("status");
        var owner = LabSystem.BridgeOwner();
        var stateDir = owner ?? (options.StateDir is null && LabPaths.FindRepositoryRoot() is null ? "(none)" : LabPaths.Resolve(options.StateDir));
        var exists = AnyLabResourceExists();
        var state = LabStateFile.TryLoad(stateDir);
        var hosts = new List<LabHostStatus>();
        foreach (var host in LabTopology.Hosts)
        {
            hosts.Add(state is { IsUml: true } && exists
                ? await UmlLab.HostStatusAsync(stateDir, host, cancellationToken).ConfigureAwait(false)
                : await LabHealth.HostStatusAsync(host, state, cancellationToken).ConfigureAwait(false));
        }

        var (ipvs, detail) = state is { IsUml: true } && exists && hosts.Any(h => h.SshAnswering)
            ? LabHealth.Interpret(await UmlLab.ExecAsync(stateDir, LabTopology.Host(hosts.First(h => h.SshAnswering).Name), ["ipvsadm", "-Ln"], null, TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false))
            : exists && hosts.Any(h => h.SshdAlive)
            ? await LabHealth.DetectIpvsAsync(hosts.First(h => h.SshdAlive).Name, cancellationToken).ConfigureAwait(false)
            : await LabHealth.DetectIpvsInRootAsync(cancellationToken).ConfigureAwait(false);
        var healthy = exists && await LabHealth.IsHealthyAsync(stateDir, cancellationToken).ConfigureAwait(false);
        return new LabStatus(exists ? stateDir : null, exists, healthy, hosts, ipvs, detail);
    }

    /// <summary>
    /// Restarts one host of the lab as a power cycle would: every process of the host killed by PID (never by name: the
    /// hosts share the machine's process table, or the UML guest's), its network state (addresses such as the VIPs,
    /// sysctls, iptables rules, IPVS table) gone with its network namespace, /run fresh; then it boots and starts only
    /// what it enables at boot (<c>/etc/pghaconsole/boot.d</c>, in the background, as an init does). Returns once its
    /// sshd answers. In the UML lab the same happens inside the guest kernel (<see cref="UmlHostPower"/>).
    /// </summary>
    public async Task RestartHostAsync(string host, CancellationToken cancellationToken)
    {
        await PowerOffHostAsync(host, cancellationToken).ConfigureAwait(false);
        await PowerOnHostAsync(host, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The first half of <see cref="RestartHostAsync"/>: the host is lost (no process, no address) until <see cref="PowerOnHostAsync"/>.</summary>
    public async Task PowerOffHostAsync(string host, CancellationToken cancellationToken)
    {
        var (stateDir, definition, uml) = RunningLabHost("stop-host", host);
        if (uml)
        {
            await new UmlHostPower(_log, _time).PowerOffAsync(stateDir, definition, cancellationToken).ConfigureAwait(false);
            return;
        }

        await new LabHostPower(_log, _time).PowerOffAsync(stateDir, definition, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Boots a host that <see cref="PowerOffHostAsync"/> turned off.</summary>
    public async Task PowerOnHostAsync(string host, CancellationToken cancellationToken)
    {
        var (stateDir, definition, uml) = RunningLabHost("start-host", host);
        if (uml)
        {
            await new UmlHostPower(_log, _time).PowerOnAsync(stateDir, definition, cancellationToken).ConfigureAwait(false);
            return;
        }

        await new LabHostPower(_log, _time).PowerOnAsync(stateDir, definition, cancellationToken).ConfigureAwait(false);
    }

    private static (string StateDir, LabHostDefinition Host, bool Uml) RunningLabHost(string command, string host)
    {
        LabPrerequisites.EnsureRoot(command);
        var definition = LabTopology.Host(host);
        var owner = LabSystem.BridgeOwner()
            ?? throw new LabException("No lab is running.", "Bring it up: sudo dotnet run --project src/PgHaConsole.Lab -- up");
        if (LabStateFile.TryLoad(owner) is not { } state)
        {
            throw new LabException($"The lab's state.json in {owner} is missing or unreadable.", "Run `down` then `up`.");
        }

        return (owner, definition, state.IsUml);
    }

    /// <summary>
    /// Adds the witness host (<see cref="LabTopology.Witness"/>, 198.18.4.249) to the running namespace lab, for a
    /// benchmark's own store; idempotent. Programs run in it with <see cref="WitnessArgv"/>; `down` removes it.
    /// </summary>
    public async Task AddWitnessAsync(CancellationToken cancellationToken)
    {
        if (RunningLabHost("add-witness", LabTopology.Hosts[0].Name).Uml)
        {
            throw new LabException("The witness host exists in the namespace lab only.", "Use the namespace lab (`up` without --ipvs).");
        }

        var witness = LabTopology.Witness;
        if (LabSystem.NamespaceExists(witness.Namespace))
        {
            return;
        }

        _log.WriteLine($"lab: adding the witness host {witness.Name} ({witness.Address})");
        foreach (var argv in LabNetwork.HostCommands(witness))
        {
            await CommandRunner.RunCheckedAsync("Creating the witness host's network", argv, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The command line that runs <paramref name="argv"/> in the witness host's network namespace (same files as the machine).</summary>
    public static IReadOnlyList<string> WitnessArgv(IReadOnlyList<string> argv) =>
        ["ip", "netns", "exec", LabTopology.Witness.Namespace, .. argv];

    /// <summary>Runs a program inside a lab host: its network, mount (own /data10, /run) and UTS namespaces.</summary>
    public Task<CommandResult> ExecInHostAsync(string host, IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
        ExecInHostAsync(host, argv, null, CommandRunner.DefaultTimeout, cancellationToken);

    /// <summary>
    /// Sets the UML guest's clock from the machine's, as NTP would on real hosts (one guest kernel: both hosts' clock).
    /// The guest is a VM with its own clock and no NTP: a step of the machine's clock after its boot left it 34.6 s behind
    /// in the 23:39 clean-clone CI and setup's preflight refused the skew.
    /// </summary>
    public Task<CommandResult> SetGuestClockFromMachineAsync(CancellationToken cancellationToken)
    {
        var epoch = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000m).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        return ExecInHostAsync("pg1", ["date", "-s", "@" + epoch], cancellationToken);
    }

    public async Task<CommandResult> ExecInHostAsync(
        string host,
        IReadOnlyList<string> argv,
        string? standardInput,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var definition = LabTopology.Host(host);
        if (LabSystem.BridgeOwner() is { } owner && LabStateFile.TryLoad(owner) is { IsUml: true })
        {
            // The host's processes live in the guest kernel: reach it the way a console does, over SSH.
            return await UmlLab.ExecAsync(owner, definition, argv, standardInput, timeout, cancellationToken).ConfigureAwait(false);
        }

        var pid = await LabHostShell.FindHostPidAsync(definition, cancellationToken).ConfigureAwait(false)
            ?? throw new LabException(
                $"Lab host {host} is not running (no sshd in namespace {definition.Namespace}).",
                "Bring the lab up: sudo dotnet run --project src/PgHaConsole.Lab -- up");
        return await CommandRunner.RunAsync(LabHostShell.NsenterArgv(pid, argv), standardInput, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A whole host lost, as a power cut would leave it: its link goes down (no ARP, no answer, no reset for anyone),
    /// then every process of that host — each PID in its network namespace — gets SIGKILL, again until none is left.
    /// The namespace and its files stay (a later boot of the host starts from them). Namespace lab only. Returns the
    /// number of processes killed.
    /// </summary>
    public async Task<int> LoseHostAsync(string host, CancellationToken cancellationToken)
    {
        var definition = LabTopology.Host(host);
        if (LabSystem.BridgeOwner() is { } owner && LabStateFile.TryLoad(owner) is { IsUml: true })
        {
            throw new LabException("Losing a host is only possible in the namespace lab.", "Bring the namespace lab up (without --ipvs).");
        }

        await CommandRunner.RunCheckedAsync("Taking " + host + "'s link down", ["ip", "-n", definition.Namespace, "link", "set", LabTopology.Interface, "down"], cancellationToken).ConfigureAwait(false);
        var killed = new HashSet<int>();
        for (var round = 0; round < 50; round++)
        {
            var pids = await LabSystem.NamespacePidsAsync(definition.Namespace, cancellationToken).ConfigureAwait(false);
            if (pids.Count == 0)
            {
                return killed.Count;
            }

            killed.UnionWith(pids);
            // Some may exit between listing and signalling; kill's non-zero exit for those is expected.
            await CommandRunner.RunAsync(["kill", "-s", "KILL", "--", .. pids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))], cancellationToken).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken).ConfigureAwait(false);
        }

        throw new LabException($"Processes of {host} survived SIGKILL.", "Check them with `ip netns pids " + definition.Namespace + "` and `ps -o pid,stat,cmd -p PID`.");
    }

    private static bool PathEquals(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
}
