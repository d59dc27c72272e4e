using System.Globalization;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Lab;

/// <summary>
/// <c>up --ipvs</c>: the same two hosts (names, addresses, <c>mgt</c>, sshd, PostgreSQL 15, keepalived, HAProxy) inside
/// a user-mode Linux kernel (Debian's <c>user-mode-linux</c>), whose modules include IPVS, so LVS-DR forwards for real.
/// The guest runs the machine's own programs (hostfs, read-only, tmpfs overlay); inside it the lab is built as on the
/// machine (bridge, namespaces, boot script). The machine reaches it through a tap device on a transfer network
/// (198.18.5.0/24) with a route to 198.18.4.0/24; everything the lab does inside a host goes over SSH with the lab key.
/// </summary>
internal sealed class UmlLab(TextWriter log, TimeProvider time)
{
    public const string Kind = "uml";

    /// <summary>The machine's end of the link to the guest; its alias names the owning state dir.</summary>
    public const string Tap = LabTopology.NamePrefix + "-tap0";

    public const string TransferNetwork = "198.18.5.0/24";
    public const string MachineTransferAddress = "198.18.5.1";
    public const string GuestTransferAddress = "198.18.5.2";

    /// <summary>The key of the guest kernel's PID in state.json.</summary>
    public const string PidKey = "uml";

    /// <summary>Guest memory: two PostgreSQL servers, keepalived, HAProxy and the tmpfs holding their data.</summary>
    public const string GuestMemory = "1536M";

    public const string UmlDirName = "uml";

    /// <summary>
    /// Every connection makes PostgreSQL fork a backend, and a fork under UML costs in proportion to the memory mapped:
    /// keepalived's checks connect every few seconds, so the guest's servers keep their shared memory small.
    /// </summary>
    public const string GuestPostgresSettings = "shared_buffers = 16MB\n";

    /// <summary>
    /// The pace (VRRP advert_int, and so keepalived's check interval) Import lab gives a pair in this guest. The guest is
    /// one CPU on which a psql costs ~0.3-0.6 s (every system call a ptrace round trip through the machine's scheduler):
    /// with both hosts' checks every second (two psql per host per second, plus the real-server checks) it ran at a
    /// load of 9-13, checks timed out, and pg1 went MASTER then FAULT. Every 5 s was enough on a quiet machine, but a check
    /// (bash, setpriv, psql, a backend) costs ~1 s of the guest's one CPU (0.6-1.1 s measured 2026-12-01 23:21), and at 5 s
    /// both hosts' VRRP and real-server checks wanted ~1.2 s of it per second: check runs took 4-8 s in the clean-clone CI
    /// of 23:02 and a real server's reads timed out. Every 10 s they want ~0.6 s per second.
    /// </summary>
    public const decimal GuestAdvertIntSeconds = 10m;

    /// <summary>
    /// The guest kernel's nice value: the highest, ahead of builds and tests sharing the machine. The guest is a
    /// uniprocessor kernel (one of its processes runs at a time), so it never takes more than one of the machine's CPUs;
    /// at -10 it still waited behind a machine load of 12-20 for every system call.
    /// </summary>
    public const string GuestNice = "-20";
    public const string KnownHostsName = "known_hosts";

    // Booting is seconds; initdb and the first SSH logins are slow under UML (fork is expensive).
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SshCommandTimeout = TimeSpan.FromMinutes(2);

    public static string UmlDir(string stateDir) => Path.Combine(stateDir, UmlDirName);

    public static string ConsoleLog(string stateDir) => Path.Combine(UmlDir(stateDir), "console.log");

    /// <summary>
    /// The guest's own sshd (its root namespaces, on <see cref="GuestTransferAddress"/>, the lab's client key): how the
    /// machine runs a command in the guest itself, e.g. a host's power cycle, which must not run inside that host (it
    /// kills every process there) nor depend on the other host being up. Simpler than UML's mconsole (its <c>exec</c>
    /// returns no output or exit code) and than a hop through a host's session (nsenter into PID 1's namespaces),
    /// which fails when both hosts are off.
    /// </summary>
    public static string GuestSshdConfig(string stateDir) => Path.Combine(UmlDir(stateDir), "guest-sshd_config");

    public static string GuestHostKey(string stateDir) => Path.Combine(UmlDir(stateDir), "guest_ssh_host_ed25519_key");

    public static string GuestSshdLog(string stateDir) => Path.Combine(UmlDir(stateDir), "guest-sshd.log");

    /// <summary>Programs the UML lab needs besides the namespace lab's, with their Debian packages.</summary>
    public static readonly (string Program, string Package)[] RequiredPrograms =
    [
        ("linux.uml", "user-mode-linux"),
        ("busybox", "busybox-static"),
        ("ssh", "openssh-client"),
        ("gzip", "gzip"),
    ];

    public async Task<LabInfo> BuildAsync(string stateDir, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        if (stateDir.Any(char.IsWhiteSpace))
        {
            // It travels on the guest kernel's command line, which splits on spaces.
            throw new LabException($"The UML lab's state dir cannot contain spaces: {stateDir}.", "Pass --state DIR with a path without spaces.");
        }

        await EnsureStaticBusyboxAsync(ct).ConfigureAwait(false);
        Directory.CreateDirectory(stateDir);
        LabSystem.SetMode(stateDir, LabPaths.Mode755);
        var state = new LabStateFile(stateDir, new Dictionary<string, int>(), []) { Kind = Kind };
        state.Save();

        log.WriteLine("lab: generating keys and host directories");
        await LabHostBoot.WriteBootScriptAsync(Path.Combine(stateDir, LabPaths.BootScriptName), ct).ConfigureAwait(false);
        var clientKey = Path.Combine(stateDir, LabPaths.ClientKeyName);
        var umlDir = UmlDir(stateDir);
        Directory.CreateDirectory(umlDir);
        var prepare = new List<Task>
        {
            LabHostBoot.GenerateKeyAsync(clientKey, "pghalab-client", ct),
            LabHostBoot.GenerateKeyAsync(GuestHostKey(stateDir), "pghalab-guest", ct),
        };
        prepare.AddRange(LabTopology.Hosts.Select(h => LabHostBoot.PrepareHostDirAsync(LabHostBoot.HostDir(stateDir, h), h, stateDir, ct)));
        await Task.WhenAll(prepare).ConfigureAwait(false);
        LabSystem.SetMode(clientKey + ".pub", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await WriteKnownHostsAsync(stateDir, ct).ConfigureAwait(false);

        await File.WriteAllTextAsync(GuestSshdConfig(stateDir),
            LabHostBoot.SshdConfig("the UML guest (root namespaces)", GuestTransferAddress, GuestHostKey(stateDir), stateDir, "/run/pghalab-guest-sshd.pid"), ct).ConfigureAwait(false);

        log.WriteLine("lab: building the UML guest's initramfs");
        await File.WriteAllTextAsync(Path.Combine(umlDir, "guest-up.sh"), UmlGuestScript.Render(stateDir), ct).ConfigureAwait(false);
        var initrd = await BuildInitramfsAsync(umlDir, ct).ConfigureAwait(false);

        log.WriteLine($"lab: creating {Tap} ({MachineTransferAddress} → guest {GuestTransferAddress}, route {LabTopology.Network})");
        string[][] tap =
        [
            ["ip", "tuntap", "add", "dev", Tap, "mode", "tap"],
            ["ip", "link", "set", "dev", Tap, "addrgenmode", "none"],
            ["ip", "link", "set", "dev", Tap, "alias", stateDir],
            ["ip", "addr", "add", MachineTransferAddress + "/24", "dev", Tap],
            ["ip", "link", "set", "dev", Tap, "up"],
            ["ip", "route", "add", LabTopology.Network, "via", GuestTransferAddress, "dev", Tap],
        ];
        foreach (var argv in tap)
        {
            await CommandRunner.RunCheckedAsync("Creating the link to the UML guest", argv, ct).ConfigureAwait(false);
        }

        log.WriteLine("lab: booting the UML guest");
        var pid = StartGuest(stateDir, initrd);
        state = state with { HostPids = new Dictionary<string, int> { [PidKey] = pid } };
        state.Save();
        await Task.WhenAll(LabTopology.Hosts.Select(h => WaitForSshAsync(stateDir, "host " + h.Name, h.Address, pid, ct))
            .Append(WaitForSshAsync(stateDir, "the guest's own sshd", GuestTransferAddress, pid, ct))).ConfigureAwait(false);
        log.WriteLine($"lab: guest hosts answer SSH after {UmlGuestScript.Seconds(time.GetElapsedTime(started))} s");

        var password = LabBuilder.RandomPassword();
        var pg1 = LabTopology.Host("pg1");
        await LabPostgres.InitPostgresAsync((step, argv, stdin, t) => RunCheckedAsync(stateDir, pg1, step, argv, stdin, t), password, [LabTopology.Network, TransferNetwork], GuestPostgresSettings, log, ct).ConfigureAwait(false);
        var ipvs = await ExecAsync(stateDir, pg1, ["ipvsadm", "-Ln"], null, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var (ipvsAvailable, ipvsDetail) = LabHealth.Interpret(ipvs);

        var nodes = LabTopology.Hosts.Select(h => new LabNode(
            h.Name, h.Address, LabTopology.SshPort, LabTopology.SshUser, clientKey,
            LabHostBoot.HostKeyFingerprint(Path.Combine(LabHostBoot.HostDir(stateDir, h), "ssh_host_ed25519_key.pub")),
            LabTopology.PgBinDir, LabTopology.PgDataDir, LabTopology.PgPort, LabTopology.OsUser, h.Namespace, LabTopology.PgLogFile)).ToList();
        var info = new LabInfo(nodes, LabTopology.WriteVip, LabTopology.ReadVip, LabTopology.Interface, LabTopology.PgVersion,
            LabTopology.Bridge, LabTopology.BridgeAddress,
            new LabSampleDatabase(LabTopology.SampleDatabase, LabTopology.SampleUser, password), ipvsAvailable,
            ipvsAvailable ? "ipvsadm -Ln works (user-mode Linux guest kernel)" : ipvsDetail)
        {
            Kind = Kind,
            AdvertIntSeconds = GuestAdvertIntSeconds,
        };
        LabInfoFile.Save(info, Path.Combine(stateDir, LabPaths.LabInfoFile));
        return info;
    }

    /// <summary>The argv that runs <paramref name="argv"/> as root on a guest host over SSH, the lab's host keys pinned.</summary>
    public static List<string> SshArgv(string stateDir, LabHostDefinition host, IReadOnlyList<string> argv) => SshArgv(stateDir, host.Address, argv);

    /// <summary>The argv that runs <paramref name="argv"/> as root at <paramref name="address"/> (a host, or the guest itself) over SSH.</summary>
    public static List<string> SshArgv(string stateDir, string address, IReadOnlyList<string> argv) =>
    [
        "ssh", "-F", "/dev/null", "-i", Path.Combine(stateDir, LabPaths.ClientKeyName),
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=" + SshConnectTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "-o", "LogLevel=ERROR",
        "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + Path.Combine(stateDir, KnownHostsName),
        "-o", "GlobalKnownHostsFile=/dev/null",
        LabTopology.SshUser + "@" + address, "--",
        // ssh hands the remote shell one string: every argument quoted through the project's one quoting function.
        string.Join(' ', argv.Select(ShellQuote.Quote)),
    ];

    public static Task<CommandResult> ExecAsync(string stateDir, LabHostDefinition host, IReadOnlyList<string> argv, string? stdin, TimeSpan timeout, CancellationToken ct) =>
        RunSshAsync(() => CommandRunner.RunAsync(SshArgv(stateDir, host, argv), stdin, timeout, ct), ct);

    /// <summary>
    /// How long ssh waits for the TCP connection and the guest sshd's greeting. The guest is one slow CPU where every
    /// login forks and re-executes sshd: under load its greeting took more than the 5 s this used to allow (the 00:12
    /// clean-clone CI: "Connection timed out during banner exchange").
    /// </summary>
    public const int SshConnectTimeoutSeconds = 15;

    /// <summary>
    /// How long the lab waits for a guest sshd's greeting when it asks whether a host is up (boot, power-on, health):
    /// as long as ssh itself waits. It was 1 s while booting: in a loaded guest every probe was cut off before sshd (which
    /// forks and re-executes itself per connection on one slow CPU) could greet, each leaving one more sshd start behind
    /// ("kex_exchange_identification: Connection closed by remote host" in the host's log), and the 02:33 clean-clone CI's
    /// restarted pg1 "did not answer SSH within 120 s". A host not yet listening still refuses at once.
    /// </summary>
    public static readonly TimeSpan GreetingTimeout = TimeSpan.FromSeconds(SshConnectTimeoutSeconds);

    /// <summary>How many times an SSH command whose session never began is tried (see <see cref="SessionNeverBegan"/>).</summary>
    public const int SshAttempts = 3;

    /// <summary>
    /// True when ssh failed before any session began: it exits 255, and its own message says the server never greeted
    /// it or the key exchange never started. The command did not run, so running it again is safe whatever it does.
    /// A refused or unreachable host is not this (it is down: trying again only delays the caller's own wait).
    /// </summary>
    public static bool SessionNeverBegan(CommandResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.ExitCode == 255
            && (result.StandardError.Contains("banner exchange", StringComparison.Ordinal)
                || result.StandardError.Contains("kex_exchange_identification", StringComparison.Ordinal));
    }

    /// <summary>Runs one SSH command, again (up to <see cref="SshAttempts"/> in all) while its session never began.</summary>
    public static async Task<CommandResult> RunSshAsync(Func<Task<CommandResult>> run, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(run);
        for (var attempt = 1; ; attempt++)
        {
            var result = await run().ConfigureAwait(false);
            if (attempt >= SshAttempts || !SessionNeverBegan(result))
            {
                return result;
            }

            await Task.Delay(TimeSpan.FromSeconds(attempt), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="argv"/> as root in the guest's root namespaces (its own sshd, <see cref="GuestSshdConfig"/>).</summary>
    public static Task<CommandResult> GuestExecAsync(string stateDir, IReadOnlyList<string> argv, string? stdin, TimeSpan timeout, CancellationToken ct) =>
        RunSshAsync(() => CommandRunner.RunAsync(SshArgv(stateDir, GuestTransferAddress, argv), stdin, timeout, ct), ct);

    private static async Task RunCheckedAsync(string stateDir, LabHostDefinition host, string step, IReadOnlyList<string> argv, string? stdin, CancellationToken ct)
    {
        var result = await ExecAsync(stateDir, host, argv, stdin, SshCommandTimeout, ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new LabException($"{step} failed (exit code {result.ExitCode}): {CommandRunner.Tail(result.Output)}",
                "Look at the guest's console log (" + ConsoleLog(stateDir) + ") and the host's log, then run `down` and `up --ipvs` again.");
        }
    }

    /// <summary>True when the guest kernel runs, its link exists, both hosts and the guest answer SSH and pg1's PostgreSQL is ready.</summary>
    public static async Task<bool> IsHealthyAsync(string stateDir, LabStateFile state, CancellationToken ct)
    {
        if (!File.Exists(Path.Combine(stateDir, LabPaths.LabInfoFile)) || !LabSystem.LinkExists(Tap)
            || !state.HostPids.TryGetValue(PidKey, out var pid) || !LabSystem.IsAlive(pid))
        {
            return false;
        }

        // Both hosts, and the guest's own sshd (a guest built before it existed cannot restart a host: `up` rebuilds it).
        foreach (var address in LabTopology.Hosts.Select(h => h.Address).Append(GuestTransferAddress))
        {
            if (!await LabSystem.SshAnswersAsync(address, LabTopology.SshPort, GreetingTimeout, ct).ConfigureAwait(false))
            {
                return false;
            }
        }

        var ready = await ExecAsync(stateDir, LabTopology.Host("pg1"), LabHealth.PgIsReadyArgv(), null, TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
        return ready.Succeeded;
    }

    /// <summary>One host as <c>status</c> shows it, read over SSH (its processes live in the guest's PID space).</summary>
    public static async Task<LabHostStatus> HostStatusAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var answering = await LabSystem.SshAnswersAsync(host.Address, LabTopology.SshPort, GreetingTimeout, ct).ConfigureAwait(false);
        if (!answering)
        {
            return new LabHostStatus(host.Name, host.Address, host.Namespace + " (in the UML guest)", false, null, false, false,
                false, "host not answering", [], [], [], 0);
        }

        const string probe = """
            port=$1; bin=$2; iface=$3
            echo "sshd=$(cat /run/sshd.pid 2>/dev/null)"
            echo "pg=$("$bin/pg_isready" -h /run/postgresql -p "$port" 2>&1)"
            echo "keepalived=$(pidof keepalived)"
            echo "haproxy=$(pidof haproxy)"
            echo "procs=$(ls /proc | grep -c '^[0-9]')"
            echo "addrs=$(ip -o -4 addr show dev "$iface" | awk '{print $4}' | tr '\n' ' ')"
            """;
        var result = await ExecAsync(stateDir, host,
            ["sh", "-c", probe, "sh", LabTopology.PgPort.ToString(CultureInfo.InvariantCulture), LabTopology.PgBinDir, LabTopology.Interface],
            null, TimeSpan.FromSeconds(20), ct).ConfigureAwait(false);
        var values = result.StandardOutput.Split('\n')
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.Ordinal);
        string Value(string key) => values.GetValueOrDefault(key, string.Empty);
        static List<int> Pids(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).Where(n => n > 0).ToList();
        int? sshd = int.TryParse(Value("sshd"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
        var pg = Value("pg").Replace("/run/postgresql:" + LabTopology.PgPort.ToString(CultureInfo.InvariantCulture) + " - ", string.Empty, StringComparison.Ordinal);
        var vips = Value("addrs").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a.Split('/')[0])
            .Where(a => a is LabTopology.WriteVip or LabTopology.ReadVip)
            .Select(a => a == LabTopology.WriteVip ? $"{a} (write VIP)" : $"{a} (read VIP)")
            .ToList();
        return new LabHostStatus(host.Name, host.Address, host.Namespace + " (in the UML guest)", true, sshd, sshd is not null, true,
            pg.Contains("accepting connections", StringComparison.Ordinal), pg.Length == 0 ? "no answer" : pg,
            Pids(Value("keepalived")), Pids(Value("haproxy")), vips,
            int.TryParse(Value("procs"), NumberStyles.None, CultureInfo.InvariantCulture, out var procs) ? procs : 0);
    }

    private static async Task EnsureStaticBusyboxAsync(CancellationToken ct)
    {
        var busybox = LabSystem.FindProgram("busybox");
        var ldd = busybox is null ? null : await CommandRunner.RunAsync(["ldd", busybox], ct).ConfigureAwait(false);
        if (busybox is null || ldd is null || !ldd.Output.Contains("not a dynamic executable", StringComparison.Ordinal))
        {
            throw new LabException(
                "The UML lab's guest needs a statically linked busybox (it runs before the machine's libraries are mounted).",
                "Install Debian's busybox-static: sudo apt-get install -y busybox-static");
        }
    }

    private static async Task WriteKnownHostsAsync(string stateDir, CancellationToken ct)
    {
        var lines = new List<string>();
        foreach (var host in LabTopology.Hosts)
        {
            var pub = (await File.ReadAllTextAsync(Path.Combine(LabHostBoot.HostDir(stateDir, host), "ssh_host_ed25519_key.pub"), ct).ConfigureAwait(false))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries);
            lines.Add($"{host.Address} {pub[0]} {pub[1]}");
        }

        var guest = (await File.ReadAllTextAsync(GuestHostKey(stateDir) + ".pub", ct).ConfigureAwait(false)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        lines.Add($"{GuestTransferAddress} {guest[0]} {guest[1]}");

        await File.WriteAllTextAsync(Path.Combine(stateDir, KnownHostsName), string.Join('\n', lines) + "\n", ct).ConfigureAwait(false);
    }

    private static async Task<string> BuildInitramfsAsync(string umlDir, CancellationToken ct)
    {
        var root = Path.Combine(umlDir, "root");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        foreach (var dir in new[] { "proc", "sys", "dev", "run", "tmp", "usr", "etc", "mnt/usr", "mnt/etc", "mnt/upper" })
        {
            Directory.CreateDirectory(Path.Combine(root, dir));
        }

        // Debian's merged /usr: the machine's programs expect /bin, /sbin, /lib and /lib64 to lead into /usr.
        foreach (var (link, target) in new[] { ("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64") })
        {
            File.CreateSymbolicLink(Path.Combine(root, link), target);
        }

        File.Copy(LabSystem.FindProgram("busybox")!, Path.Combine(root, "busybox"));
        var init = Path.Combine(root, "init");
        var stream = typeof(UmlLab).Assembly.GetManifestResourceStream("PgHaConsole.Lab.uml-init.sh")
            ?? throw new InvalidOperationException("The UML guest's init script is missing from the assembly.");
        await using (stream.ConfigureAwait(false))
        {
            var file = File.Create(init);
            await using (file.ConfigureAwait(false))
            {
                await stream.CopyToAsync(file, ct).ConfigureAwait(false);
            }
        }

        LabSystem.SetMode(init, LabPaths.Mode755);
        LabSystem.SetMode(Path.Combine(root, "busybox"), LabPaths.Mode755);
        var initrd = Path.Combine(umlDir, "initrd.gz");
        await CommandRunner.RunCheckedAsync("Packing the initramfs",
            ["sh", "-c", "cd \"$1\" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >\"$2\"", "sh", root, initrd], ct).ConfigureAwait(false);
        Directory.Delete(root, recursive: true);
        return initrd;
    }

    private static int StartGuest(string stateDir, string initrd)
    {
        var umlDir = UmlDir(stateDir);
        // setsid: its own session and process group, so `down` finds every process of the guest kernel by group.
        // The console goes to a log file; nothing holds our standard streams.
        return CommandRunner.StartDetached(
        [
            "setsid", "sh", "-c", "log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1", "sh", ConsoleLog(stateDir),
            // A UML guest makes every system call a ptrace round trip through this machine's scheduler: on a busy
            // machine its processes crawl (keepalived's 3 s checks timed out). A higher priority keeps it usable.
            "nice", "-n", GuestNice,
            LabSystem.FindProgram("linux.uml") ?? "linux.uml",
            "mem=" + GuestMemory,
            "initrd=" + initrd,
            "eth0=tuntap," + Tap,
            "con0=null,fd:1", "con=null",
            "uml_dir=" + umlDir, "umid=pghalab",
            "pghalab_state=" + stateDir,
        ]);
    }

    /// <summary>Waits until an sshd of the guest answers at <paramref name="address"/>; fails at once when the guest kernel stops.</summary>
    internal async Task WaitForSshAsync(string stateDir, string what, string address, int guestPid, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < BootTimeout)
        {
            if (await LabSystem.SshAnswersAsync(address, LabTopology.SshPort, GreetingTimeout, ct).ConfigureAwait(false))
            {
                return;
            }

            if (!LabSystem.IsAlive(guestPid))
            {
                throw GuestFailed(stateDir, "stopped while booting");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), time, ct).ConfigureAwait(false);
        }

        throw GuestFailed(stateDir, $"{what} did not answer SSH on {address}:22 within {BootTimeout.TotalSeconds:0} s");
    }

    private static LabException GuestFailed(string stateDir, string what)
    {
        var consoleLog = ConsoleLog(stateDir);
        var text = File.Exists(consoleLog) ? CommandRunner.Tail(File.ReadAllText(consoleLog), 12) : "(no console log)";
        return new LabException($"The UML guest {what}. Its console: {text}",
            "Fix the cause shown in the console log, then run `up --ipvs` again (it cleans up what this run left).");
    }
}
