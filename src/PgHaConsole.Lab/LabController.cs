using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PgHaConsole.Lab;

/// <summary>
/// Brings the two-host lab up, reports on it, takes it down, and runs commands inside its hosts.
/// Used by the Lab program, the integration and browser tests, and the web app's demo.
/// </summary>
public sealed class LabController
{
    private const string ClientKeyName = "id_ed25519";
    private const string BootScriptName = "boot.sh";

    // Boots take well under a second; the margin is for a machine loaded by parallel builds.
    private static readonly TimeSpan HostBootTimeout = TimeSpan.FromSeconds(30);

    // Debian package for each program the lab needs.
    private static readonly (string Program, string Package)[] RequiredPrograms =
    [
        ("ip", "iproute2"),
        ("unshare", "util-linux"),
        ("nsenter", "util-linux"),
        ("setsid", "util-linux"),
        ("runuser", "util-linux"),
        ("sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
        ("keepalived", "keepalived"),
        ("haproxy", "haproxy"),
        ("ipvsadm", "ipvsadm"),
        ("iptables", "iptables"),
        (LabTopology.PgBinDir + "/initdb", "postgresql"),
    ];

    private static readonly string[] LabPackages =
        ["postgresql", "openssh-server", "keepalived", "haproxy", "ipvsadm", "iptables", "iproute2"];

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
        LabTopology.Hosts.Any(h => LabSystem.NamespaceExists(h.Namespace)) || LabSystem.LabLinks().Count > 0;

    public async Task<LabUpResult> UpAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetTimestamp();
        EnsureRoot("up");
        await EnsurePackagesAsync(options.InstallPackages, cancellationToken).ConfigureAwait(false);
        var stateDir = LabPaths.Resolve(options.StateDir);

        if (AnyLabResourceExists())
        {
            var owner = LabSystem.BridgeOwner() ?? stateDir;
            if (await IsHealthyAsync(owner, cancellationToken).ConfigureAwait(false))
            {
                if (!PathEquals(owner, stateDir))
                {
                    throw new LabException(
                        $"A lab is already running with state dir {owner}; only one lab can exist at a time (its names and addresses are fixed).",
                        $"Use that lab (--state {owner}), or take it down first: sudo dotnet run --project src/PgHaConsole.Lab -- down --state {owner}");
                }

                _log.WriteLine($"lab: already running (state dir {stateDir}); nothing changed.");
                var info = LabInfo.Load(Path.Combine(stateDir, LabPaths.LabInfoFile));
                return new LabUpResult(stateDir, info, AlreadyRunning: true, _time.GetElapsedTime(started));
            }

            _log.WriteLine("lab: found leftovers of an earlier lab; cleaning them up first.");
            await TeardownAsync(owner, stateDir, cancellationToken).ConfigureAwait(false);
        }
        else if (LabStateFile.TryLoad(stateDir) is not null || File.Exists(Path.Combine(stateDir, LabPaths.LabInfoFile)))
        {
            // State without namespaces: a lab whose network was removed by hand or by a reboot.
            await TeardownAsync(stateDir, stateDir, cancellationToken).ConfigureAwait(false);
        }

        await EnsureAddressRangeFreeAsync(cancellationToken).ConfigureAwait(false);

        try
        {
            var info = await BuildAsync(stateDir, cancellationToken).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            _log.WriteLine($"lab: up in {elapsed.TotalSeconds:0.0} s; description in {Path.Combine(stateDir, LabPaths.LabInfoFile)}");
            return new LabUpResult(stateDir, info, AlreadyRunning: false, elapsed);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Leave nothing half-built behind: the message already carries what went wrong.
            _log.WriteLine("lab: up failed; removing what was created.");
            await TeardownAsync(stateDir, stateDir, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    public async Task DownAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureRoot("down");
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
        await TeardownAsync(owner ?? stateDir, stateDir, cancellationToken).ConfigureAwait(false);
        _log.WriteLine($"lab: down in {_time.GetElapsedTime(started).TotalSeconds:0.0} s; nothing of the lab remains.");
    }

    public async Task<LabStatus> StatusAsync(LabOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        EnsureRoot("status");
        var owner = LabSystem.BridgeOwner();
        var stateDir = owner ?? (options.StateDir is null && LabPaths.FindRepositoryRoot() is null ? "(none)" : LabPaths.Resolve(options.StateDir));
        var exists = AnyLabResourceExists();
        var state = LabStateFile.TryLoad(stateDir);
        var hosts = new List<LabHostStatus>();
        foreach (var host in LabTopology.Hosts)
        {
            hosts.Add(await HostStatusAsync(host, state, cancellationToken).ConfigureAwait(false));
        }

        var (ipvs, detail) = exists && hosts.Any(h => h.SshdAlive)
            ? await DetectIpvsAsync(hosts.First(h => h.SshdAlive).Name, cancellationToken).ConfigureAwait(false)
            : await DetectIpvsInRootAsync(cancellationToken).ConfigureAwait(false);
        var healthy = exists && await IsHealthyAsync(stateDir, cancellationToken).ConfigureAwait(false);
        return new LabStatus(exists ? stateDir : null, exists, healthy, hosts, ipvs, detail);
    }

    /// <summary>Runs a program inside a lab host: its network, mount (own /data10, /run) and UTS namespaces.</summary>
    public Task<CommandResult> ExecInHostAsync(string host, IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
        ExecInHostAsync(host, argv, null, CommandRunner.DefaultTimeout, cancellationToken);

    public async Task<CommandResult> ExecInHostAsync(
        string host,
        IReadOnlyList<string> argv,
        string? standardInput,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var definition = LabTopology.Host(host);
        var pid = await FindHostPidAsync(definition, cancellationToken).ConfigureAwait(false)
            ?? throw new LabException(
                $"Lab host {host} is not running (no sshd in namespace {definition.Namespace}).",
                "Bring the lab up: sudo dotnet run --project src/PgHaConsole.Lab -- up");
        return await CommandRunner.RunAsync(NsenterArgv(pid, argv), standardInput, timeout, cancellationToken).ConfigureAwait(false);
    }

    private static List<string> NsenterArgv(int pid, IReadOnlyList<string> argv)
    {
        var full = new List<string>
        {
            "nsenter", "--target", pid.ToString(CultureInfo.InvariantCulture), "--mount", "--uts", "--net", "--wd=/", "--",
        };
        full.AddRange(argv);
        return full;
    }

    private static async Task<int?> FindHostPidAsync(LabHostDefinition host, CancellationToken ct)
    {
        var pids = await LabSystem.NamespacePidsAsync(host.Namespace, ct).ConfigureAwait(false);
        var owner = LabSystem.BridgeOwner();
        if (owner is not null && LabStateFile.TryLoad(owner) is { } state
            && state.HostPids.TryGetValue(host.Name, out var recorded) && pids.Contains(recorded))
        {
            return recorded;
        }

        // No usable bookkeeping: the lab's sshd is the one started with -D (its children are sessions).
        return pids.Where(p => LabSystem.Comm(p) == "sshd" && LabSystem.CommandLine(p).Contains(" -D", StringComparison.Ordinal))
            .Select(p => (int?)p)
            .FirstOrDefault();
    }

    // ---------------------------------------------------------------- preconditions

    private static void EnsureRoot(string command)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new LabException("The lab needs Linux (network namespaces, bridges, mount namespaces).", "Run it on a Debian 12 machine.");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            throw new LabException(
                $"The lab must run as root to create network namespaces, a bridge and mounts (`{command}` was run as {Environment.UserName}).",
                $"run as root: sudo dotnet run --project src/PgHaConsole.Lab -- {command}");
        }
    }

    private async Task EnsurePackagesAsync(bool install, CancellationToken ct)
    {
        var missing = MissingPrograms();
        if (missing.Count == 0)
        {
            return;
        }

        var aptLine = "apt-get update && apt-get install -y " + string.Join(' ', LabPackages);
        if (!install)
        {
            throw new LabException(
                "Missing programs the lab needs: " + string.Join(", ", missing.Select(m => $"{m.Program} (package {m.Package})")) + ".",
                $"Install the lab's Debian packages ({string.Join(", ", LabPackages)}): sudo sh -c '{aptLine}', or run `up --install-packages` to let the lab do it.");
        }

        _log.WriteLine($"lab: installing Debian packages: {string.Join(' ', LabPackages)}");
        await CommandRunner.RunCheckedAsync("apt-get update", ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"], ct, timeout: TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        await CommandRunner.RunCheckedAsync(
            "apt-get install",
            ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", .. LabPackages],
            ct,
            timeout: TimeSpan.FromMinutes(20)).ConfigureAwait(false);
        missing = MissingPrograms();
        if (missing.Count > 0)
        {
            throw new LabException(
                "Still missing after apt-get install: " + string.Join(", ", missing.Select(m => m.Program)) + ".",
                "Check apt's sources (PostgreSQL must be version 15 at " + LabTopology.PgBinDir + ").");
        }
    }

    private static List<(string Program, string Package)> MissingPrograms() =>
        RequiredPrograms.Where(r => LabSystem.FindProgram(r.Program) is null).ToList();

    private static async Task EnsureAddressRangeFreeAsync(CancellationToken ct)
    {
        var result = await CommandRunner.RunCheckedAsync("Listing addresses", ["ip", "-j", "-4", "addr", "show"], ct).ConfigureAwait(false);
        var clash = LabSystem.ParseIpAddrJson(result.StandardOutput)
            .Where(a => a.Interface != LabTopology.Bridge && LabSystem.InLabNetwork(a.Address))
            .ToList();
        if (clash.Count > 0)
        {
            throw new LabException(
                $"The lab's address range {LabTopology.Network} is already in use on this machine: "
                + string.Join(", ", clash.Select(c => $"{c.Address}/{c.Prefix} on {c.Interface}")) + ".",
                "Remove those addresses (ip addr del ADDRESS/PREFIX dev INTERFACE) or run the lab on another machine; its addresses are fixed.");
        }
    }

    // ---------------------------------------------------------------- health

    private static async Task<bool> IsHealthyAsync(string stateDir, CancellationToken ct)
    {
        var state = LabStateFile.TryLoad(stateDir);
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
            NsenterArgv(state.HostPids[pg1.Name], PgIsReadyArgv()), null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return ready.Succeeded;
    }

    private static string[] PgIsReadyArgv() =>
        [LabTopology.PgBinDir + "/pg_isready", "-q", "-h", "/run/postgresql", "-p", LabTopology.PgPort.ToString(CultureInfo.InvariantCulture)];

    private static async Task<LabHostStatus> HostStatusAsync(LabHostDefinition host, LabStateFile? state, CancellationToken ct)
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
                NsenterArgv(hostPid, [LabTopology.PgBinDir + "/pg_isready", "-h", "/run/postgresql", "-p", LabTopology.PgPort.ToString(CultureInfo.InvariantCulture)]),
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

    private static async Task<(bool Available, string Detail)> DetectIpvsAsync(string host, CancellationToken ct)
    {
        var pid = await FindHostPidAsync(LabTopology.Host(host), ct).ConfigureAwait(false);
        if (pid is null)
        {
            return await DetectIpvsInRootAsync(ct).ConfigureAwait(false);
        }

        var result = await CommandRunner.RunAsync(NsenterArgv(pid.Value, ["ipvsadm", "-Ln"]), null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return Interpret(result);
    }

    private static async Task<(bool Available, string Detail)> DetectIpvsInRootAsync(CancellationToken ct)
    {
        // Listing is read-only; the module either exists in this kernel or it does not.
        var result = await CommandRunner.RunAsync(["ipvsadm", "-Ln"], null, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return Interpret(result);
    }

    private static (bool Available, string Detail) Interpret(CommandResult result)
    {
        var firstLine = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
        return result.Succeeded
            ? (true, "ipvsadm -Ln works")
            : (false, "ipvsadm: " + (firstLine.Length == 0 ? $"exit code {result.ExitCode}" : firstLine));
    }

    // ---------------------------------------------------------------- build

    private async Task<LabInfo> BuildAsync(string stateDir, CancellationToken ct)
    {
        Directory.CreateDirectory(stateDir);
        LabSystem.SetMode(stateDir, Mode755);
        var bootScript = Path.Combine(stateDir, BootScriptName);
        await WriteBootScriptAsync(bootScript, ct).ConfigureAwait(false);

        var createdMounts = LabTopology.HostMounts.Select(m => m.MountPoint).Where(m => !Directory.Exists(m)).ToList();
        var state = new LabStateFile(stateDir, new Dictionary<string, int>(), createdMounts);
        // Recorded before the directories exist, so a crash in between still lets `down` remove them.
        state.Save();
        foreach (var mountPoint in createdMounts)
        {
            Directory.CreateDirectory(mountPoint);
        }

        _log.WriteLine("lab: generating keys and host directories");
        var clientKey = Path.Combine(stateDir, ClientKeyName);
        var keyTasks = new List<Task> { GenerateKeyAsync(clientKey, "pghalab-client", ct) };
        foreach (var host in LabTopology.Hosts)
        {
            var hostDir = HostDir(stateDir, host);
            keyTasks.Add(PrepareHostDirAsync(hostDir, host, stateDir, ct));
        }

        keyTasks.Add(CreateNetworkAsync(stateDir, ct));
        await Task.WhenAll(keyTasks).ConfigureAwait(false);
        // sshd reads AuthorizedKeysFile as the target user: postgres must be able to read it later.
        LabSystem.SetMode(clientKey + ".pub", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        _log.WriteLine("lab: starting hosts pg1 and pg2");
        var pids = new Dictionary<string, int>();
        foreach (var host in LabTopology.Hosts)
        {
            pids[host.Name] = StartHost(stateDir, host, bootScript);
        }

        // Recorded at once: if we fail or are killed before the hosts are in their namespaces, `down` still
        // finds them (setsid, ip netns exec, unshare and sh all exec in place, so this PID becomes the sshd).
        state = state with { HostPids = new Dictionary<string, int>(pids) };
        state.Save();

        foreach (var host in LabTopology.Hosts)
        {
            pids[host.Name] = await WaitForPidFileAsync(stateDir, host, pids[host.Name], ct).ConfigureAwait(false);
        }

        state = state with { HostPids = pids };
        state.Save();

        var sshWaits = LabTopology.Hosts.Select(h => WaitForSshAsync(stateDir, h, ct)).ToList();
        await Task.WhenAll(sshWaits).ConfigureAwait(false);

        var password = RandomPassword();
        var pgTask = InitPostgresAsync(stateDir, pids["pg1"], password, ct);
        var ipvsTask = DetectIpvsAsync("pg1", ct);
        await Task.WhenAll(pgTask, ipvsTask).ConfigureAwait(false);
        var (ipvs, ipvsDetail) = await ipvsTask.ConfigureAwait(false);

        var nodes = LabTopology.Hosts.Select(h => new LabNode(
            h.Name, h.Address, LabTopology.SshPort, LabTopology.SshUser, clientKey,
            HostKeyFingerprint(Path.Combine(HostDir(stateDir, h), "ssh_host_ed25519_key.pub")),
            LabTopology.PgBinDir, LabTopology.PgDataDir, LabTopology.PgPort, LabTopology.OsUser, h.Namespace, LabTopology.PgLogFile)).ToList();
        var info = new LabInfo(nodes, LabTopology.WriteVip, LabTopology.ReadVip, LabTopology.Interface, LabTopology.PgVersion,
            LabTopology.Bridge, LabTopology.BridgeAddress,
            new LabSampleDatabase(LabTopology.SampleDatabase, LabTopology.SampleUser, password), ipvs, ipvsDetail);
        info.Save(Path.Combine(stateDir, LabPaths.LabInfoFile));
        return info;
    }

    private static readonly UnixFileMode Mode755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private static string HostDir(string stateDir, LabHostDefinition host) => Path.Combine(stateDir, "hosts", host.Name);

    private static async Task WriteBootScriptAsync(string path, CancellationToken ct)
    {
        var stream = typeof(LabController).Assembly.GetManifestResourceStream("PgHaConsole.Lab.lab-host-boot.sh")
            ?? throw new InvalidOperationException("The lab's boot script is missing from the assembly.");
        await using (stream.ConfigureAwait(false))
        {
            var file = File.Create(path);
            await using (file.ConfigureAwait(false))
            {
                await stream.CopyToAsync(file, ct).ConfigureAwait(false);
            }
        }

        LabSystem.SetMode(path, Mode755);
    }

    private static Task GenerateKeyAsync(string path, string comment, CancellationToken ct) =>
        CommandRunner.RunCheckedAsync("Generating an SSH key", ["ssh-keygen", "-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", path], ct);

    private static async Task PrepareHostDirAsync(string hostDir, LabHostDefinition host, string stateDir, CancellationToken ct)
    {
        foreach (var (mountPoint, dirName) in LabTopology.HostMounts)
        {
            var dir = Path.Combine(hostDir, dirName);
            Directory.CreateDirectory(dir);
            LabSystem.SetMode(dir, Mode755);
            // Each host starts with the package's shipped files (HAProxy's error pages, keepalived's sample),
            // as a freshly installed host would: installed, not configured.
            if (mountPoint.StartsWith("/etc/", StringComparison.Ordinal) && Directory.Exists(mountPoint)
                && Directory.EnumerateFileSystemEntries(mountPoint).Any())
            {
                await CommandRunner.RunCheckedAsync("Copying " + mountPoint, ["cp", "-a", mountPoint + "/.", dir], ct).ConfigureAwait(false);
            }
        }

        // PostgreSQL (as postgres) creates /data10/pgdata and its log file there.
        await CommandRunner.RunCheckedAsync("Preparing /data10", ["chown", "postgres:postgres", Path.Combine(hostDir, "data10")], ct).ConfigureAwait(false);
        await GenerateKeyAsync(Path.Combine(hostDir, "ssh_host_ed25519_key"), "pghalab-" + host.Name, ct).ConfigureAwait(false);

        var config = new StringBuilder()
            .Append("# sshd of lab host ").Append(host.Name).Append(", written by PgHaConsole.Lab\n")
            .Append("ListenAddress ").Append(host.Address).Append('\n')
            .Append("Port ").Append(LabTopology.SshPort.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("HostKey ").Append(Path.Combine(hostDir, "ssh_host_ed25519_key")).Append('\n')
            .Append("PermitRootLogin prohibit-password\n")
            .Append("PasswordAuthentication no\n")
            .Append("KbdInteractiveAuthentication no\n")
            .Append("PubkeyAuthentication yes\n")
            .Append("AuthorizedKeysFile ").Append(Path.Combine(stateDir, ClientKeyName + ".pub")).Append('\n')
            // The key file lives in the state dir, outside any home: StrictModes would reject it for postgres.
            .Append("StrictModes no\n")
            // Debian's postgres account is locked; only PAM lets it log in by key (repmgr needs that).
            .Append("UsePAM yes\n")
            .Append("UseDNS no\n")
            .Append("PidFile /run/sshd.pid\n")
            .Append("AcceptEnv LANG\n")
            .Append("Subsystem sftp /usr/lib/openssh/sftp-server\n");
        await File.WriteAllTextAsync(Path.Combine(hostDir, "sshd_config"), config.ToString(), ct).ConfigureAwait(false);
    }

    private async Task CreateNetworkAsync(string stateDir, CancellationToken ct)
    {
        _log.WriteLine($"lab: creating bridge {LabTopology.Bridge} and namespaces");
        var bridgeCidr = $"{LabTopology.BridgeAddress}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        string[][] bridge =
        [
            ["ip", "link", "add", "name", LabTopology.Bridge, "type", "bridge"],
            // No IPv6 link-local addresses: the lab only ever sends to 198.18.4.0/24.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "addrgenmode", "none"],
            // The alias records which state dir owns the lab, so another --state cannot tear it down by mistake.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "alias", stateDir],
            ["ip", "addr", "add", bridgeCidr, "dev", LabTopology.Bridge],
            ["ip", "link", "set", "dev", LabTopology.Bridge, "up"],
        ];
        foreach (var argv in bridge)
        {
            await CommandRunner.RunCheckedAsync("Creating the bridge", argv, ct).ConfigureAwait(false);
        }

        await Task.WhenAll(LabTopology.Hosts.Select(h => CreateHostNetworkAsync(h, ct))).ConfigureAwait(false);
    }

    private static async Task CreateHostNetworkAsync(LabHostDefinition host, CancellationToken ct)
    {
        var cidr = $"{host.Address}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        string[][] steps =
        [
            ["ip", "netns", "add", host.Namespace],
            ["ip", "link", "add", "name", host.RootVeth, "type", "veth", "peer", "name", LabTopology.Interface, "netns", host.Namespace],
            ["ip", "link", "set", "dev", host.RootVeth, "addrgenmode", "none"],
            ["ip", "link", "set", "dev", host.RootVeth, "master", LabTopology.Bridge],
            ["ip", "link", "set", "dev", host.RootVeth, "up"],
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "addrgenmode", "none"],
            ["ip", "-n", host.Namespace, "addr", "add", cidr, "dev", LabTopology.Interface],
            ["ip", "-n", host.Namespace, "link", "set", "dev", "lo", "up"],
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "up"],
        ];
        foreach (var argv in steps)
        {
            await CommandRunner.RunCheckedAsync($"Creating host {host.Name}'s network", argv, ct).ConfigureAwait(false);
        }
    }

    private static int StartHost(string stateDir, LabHostDefinition host, string bootScript)
    {
        var hostDir = HostDir(stateDir, host);
        File.Delete(Path.Combine(hostDir, "sshd.pid"));
        // setsid: the host must not share our session, or a Ctrl-C at the terminal would kill it.
        return CommandRunner.StartDetached(
        [
            "setsid", "ip", "netns", "exec", host.Namespace,
            "unshare", "--mount", "--uts", "--propagation", "private",
            "/bin/sh", bootScript, host.Name, hostDir, Path.Combine(hostDir, "sshd_config"),
            Path.Combine(hostDir, "sshd.pid"), Path.Combine(hostDir, "host.log"),
        ]);
    }

    private async Task<int> WaitForPidFileAsync(string stateDir, LabHostDefinition host, int launcherPid, CancellationToken ct)
    {
        var hostDir = HostDir(stateDir, host);
        var pidFile = Path.Combine(hostDir, "sshd.pid");
        var deadline = _time.GetTimestamp();
        while (_time.GetElapsedTime(deadline) < HostBootTimeout)
        {
            if (File.Exists(pidFile)
                && int.TryParse((await File.ReadAllTextAsync(pidFile, ct).ConfigureAwait(false)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid > 0)
            {
                return pid;
            }

            if (!LabSystem.IsAlive(launcherPid))
            {
                throw HostFailed(hostDir, host, "stopped while booting");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct).ConfigureAwait(false);
        }

        throw HostFailed(hostDir, host, $"did not boot within {HostBootTimeout.TotalSeconds:0} s");
    }

    private async Task WaitForSshAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        while (_time.GetElapsedTime(started) < HostBootTimeout)
        {
            if (await LabSystem.SshAnswersAsync(host.Address, LabTopology.SshPort, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(30), _time, ct).ConfigureAwait(false);
        }

        throw HostFailed(HostDir(stateDir, host), host, $"sshd did not answer on {host.Address}:22 within {HostBootTimeout.TotalSeconds:0} s");
    }

    private static LabException HostFailed(string hostDir, LabHostDefinition host, string what)
    {
        var logFile = Path.Combine(hostDir, "host.log");
        var log = File.Exists(logFile) ? CommandRunner.Tail(File.ReadAllText(logFile)) : "(no log)";
        return new LabException(
            $"Lab host {host.Name} {what}. Its log: {log}",
            "Fix the cause shown in the log, then run `up` again (it cleans up what this run left).");
    }

    private async Task InitPostgresAsync(string stateDir, int pg1Pid, string password, CancellationToken ct)
    {
        _log.WriteLine("lab: initializing PostgreSQL 15 on pg1");
        var bin = LabTopology.PgBinDir;
        var port = LabTopology.PgPort.ToString(CultureInfo.InvariantCulture);
        await RunInHostCheckedAsync(pg1Pid, "initdb on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/initdb", "-D", LabTopology.PgDataDir,
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--auth-local=peer", "--auth-host=scram-sha-256"],
            null, ct).ConfigureAwait(false);

        // The files are on the root filesystem under the state dir; writing into existing files keeps
        // their owner (postgres) and mode.
        var pgdata = Path.Combine(HostDir(stateDir, LabTopology.Host("pg1")), "data10", "pgdata");
        var pg1 = LabTopology.Host("pg1");
        await File.AppendAllTextAsync(Path.Combine(pgdata, "postgresql.conf"),
            "\n# PgHaConsole lab: the runbook's starting state (a standalone server, nothing for replication).\n"
            + $"listen_addresses = 'localhost,{pg1.Address}'\n"
            + $"port = {port}\n"
            + "unix_socket_directories = '/run/postgresql'\n",
            ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(pgdata, "pg_hba.conf"),
            "# PgHaConsole lab: local administration, and the sample application from the lab network.\n"
            + "# TYPE  DATABASE  USER  ADDRESS          METHOD\n"
            + "local   all       all                    peer\n"
            + "host    all       all   127.0.0.1/32     scram-sha-256\n"
            + "host    all       all   ::1/128          scram-sha-256\n"
            + $"host    {LabTopology.SampleDatabase}     {LabTopology.SampleUser}   {LabTopology.Network}   scram-sha-256\n",
            ct).ConfigureAwait(false);

        await RunInHostCheckedAsync(pg1Pid, "Starting PostgreSQL on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/pg_ctl", "-D", LabTopology.PgDataDir, "-l", LabTopology.PgLogFile, "-w", "-t", "30", "start"],
            null, ct).ConfigureAwait(false);

        // The password travels on psql's standard input only, never on a command line.
        var sql = new StringBuilder()
            .Append("CREATE ROLE ").Append(LabTopology.SampleUser).Append(" LOGIN PASSWORD '").Append(password.Replace("'", "''", StringComparison.Ordinal)).Append("';\n")
            .Append("CREATE DATABASE ").Append(LabTopology.SampleDatabase).Append(" OWNER ").Append(LabTopology.SampleUser).Append(";\n")
            .Append("\\connect ").Append(LabTopology.SampleDatabase).Append('\n')
            .Append("SET ROLE ").Append(LabTopology.SampleUser).Append(";\n")
            .Append("CREATE TABLE public.items (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n")
            .Append("INSERT INTO public.items (name, quantity) SELECT 'item ' || g, g % 17 FROM generate_series(1, 100) AS g;\n")
            .ToString();
        await RunInHostCheckedAsync(pg1Pid, "Creating the sample database on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-p", port, "-d", "postgres"],
            sql, ct).ConfigureAwait(false);
    }

    private static Task RunInHostCheckedAsync(int pid, string step, IReadOnlyList<string> argv, string? stdin, CancellationToken ct) =>
        CommandRunner.RunCheckedAsync(step, NsenterArgv(pid, argv), ct, stdin);

    private static string RandomPassword() =>
        RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 24);

    /// <summary>SHA-256 of the key blob, unpadded base64: what <c>ssh-keygen -lf</c> prints after <c>SHA256:</c>.</summary>
    internal static string HostKeyFingerprint(string publicKeyPath)
    {
        var parts = File.ReadAllText(publicKeyPath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new LabException($"{publicKeyPath} is not an OpenSSH public key.", "Run `down` then `up`.");
        }

        return Convert.ToBase64String(SHA256.HashData(Convert.FromBase64String(parts[1]))).TrimEnd('=');
    }

    // ---------------------------------------------------------------- teardown

    private async Task TeardownAsync(string ownerStateDir, string stateDir, CancellationToken ct)
    {
        var stateDirs = new[] { ownerStateDir, stateDir }.Distinct(StringComparer.Ordinal).ToList();
        await KillLabProcessesAsync(stateDirs, ct).ConfigureAwait(false);

        // Deleting the root end of a veth deletes its peer `mgt` too; then the bridge.
        foreach (var link in LabSystem.LabLinks().OrderBy(l => l == LabTopology.Bridge ? 1 : 0))
        {
            await CommandRunner.RunAsync(["ip", "link", "del", "dev", link], ct).ConfigureAwait(false);
        }

        foreach (var host in LabTopology.Hosts.Where(h => LabSystem.NamespaceExists(h.Namespace)))
        {
            await CommandRunner.RunCheckedAsync("Deleting namespace " + host.Namespace, ["ip", "netns", "del", host.Namespace], ct).ConfigureAwait(false);
        }

        var remaining = LabSystem.LabLinks();
        if (remaining.Count > 0 || LabTopology.Hosts.Any(h => LabSystem.NamespaceExists(h.Namespace)))
        {
            throw new LabException(
                "Could not remove the lab's network: still present: " + string.Join(", ", remaining) + ".",
                "Remove them by hand (ip link del DEV; ip netns del pghalab-pg1 pghalab-pg2) and run `down` again.");
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
        async Task<List<int>> AllLabPidsAsync(CancellationToken token)
        {
            var all = new List<int>();
            foreach (var host in LabTopology.Hosts)
            {
                all.AddRange(await LabSystem.NamespacePidsAsync(host.Namespace, token).ConfigureAwait(false));
            }

            all.AddRange(launchers.Where(LabSystem.IsAlive));
            return all.Distinct().ToList();
        }

        var pids = await AllLabPidsAsync(ct).ConfigureAwait(false);
        if (pids.Count == 0)
        {
            return;
        }

        _log.WriteLine($"lab: stopping {pids.Count} lab processes");
        await SignalAsync("TERM", pids, ct).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        while (_time.GetElapsedTime(started) < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct).ConfigureAwait(false);
            pids = await AllLabPidsAsync(ct).ConfigureAwait(false);
            if (pids.Count == 0)
            {
                return;
            }
        }

        started = _time.GetTimestamp();
        while (pids.Count > 0 && _time.GetElapsedTime(started) < TimeSpan.FromSeconds(5))
        {
            await SignalAsync("KILL", pids, ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct).ConfigureAwait(false);
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
                _log.WriteLine($"lab: left {mountPoint} in place: {ex.Message}");
            }
        }

        // Only what the lab wrote is removed, so a mistaken --state never wipes someone's folder.
        string[] files = [LabStateFile.FileName, LabStateFile.FileName + ".tmp", LabPaths.LabInfoFile, LabPaths.LabInfoFile + ".tmp",
            ClientKeyName, ClientKeyName + ".pub", BootScriptName];
        foreach (var file in files)
        {
            File.Delete(Path.Combine(stateDir, file));
        }

        var hosts = Path.Combine(stateDir, "hosts");
        for (var attempt = 1; Directory.Exists(hosts); attempt++)
        {
            try
            {
                Directory.Delete(hosts, recursive: true);
            }
            catch (IOException) when (attempt < 5)
            {
                // A process that just died may have written its last log line meanwhile; try again.
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, ct).ConfigureAwait(false);
            }
        }

        if (!Directory.EnumerateFileSystemEntries(stateDir).Any())
        {
            Directory.Delete(stateDir);
        }
        else
        {
            _log.WriteLine($"lab: kept {stateDir}: it holds files the lab did not write.");
        }
    }

    private static bool PathEquals(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
}
