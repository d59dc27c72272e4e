using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PgHaConsole.Lab;

/// <summary>
/// One lab host's files and start-up: its directories and sshd configuration under the state dir, its host key,
/// the boot script that enters its namespaces, and the waits until it answers.
/// </summary>
internal sealed class LabHostBoot(TimeProvider time)
{
    // Boots take well under a second; the margin is for a machine loaded by parallel builds.
    private static readonly TimeSpan HostBootTimeout = TimeSpan.FromSeconds(30);

    public static string HostDir(string stateDir, LabHostDefinition host) => Path.Combine(stateDir, "hosts", host.Name);

    public static async Task WriteBootScriptAsync(string path, CancellationToken ct)
    {
        var stream = typeof(LabHostBoot).Assembly.GetManifestResourceStream("PgHaConsole.Lab.lab-host-boot.sh")
            ?? throw new InvalidOperationException("The lab's boot script is missing from the assembly.");
        await using (stream.ConfigureAwait(false))
        {
            var file = File.Create(path);
            await using (file.ConfigureAwait(false))
            {
                await stream.CopyToAsync(file, ct).ConfigureAwait(false);
            }
        }

        LabSystem.SetMode(path, LabPaths.Mode755);
    }

    public static Task GenerateKeyAsync(string path, string comment, CancellationToken ct) =>
        CommandRunner.RunCheckedAsync("Generating an SSH key", ["ssh-keygen", "-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", path], ct);

    public static async Task PrepareHostDirAsync(string hostDir, LabHostDefinition host, string stateDir, CancellationToken ct)
    {
        foreach (var (mountPoint, dirName) in LabTopology.HostMounts)
        {
            var dir = Path.Combine(hostDir, dirName);
            Directory.CreateDirectory(dir);
            LabSystem.SetMode(dir, LabPaths.Mode755);
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

        var config = SshdConfig("lab host " + host.Name, host.Address, Path.Combine(hostDir, "ssh_host_ed25519_key"), stateDir, "/run/sshd.pid");
        await File.WriteAllTextAsync(Path.Combine(hostDir, "sshd_config"), config, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// An sshd configuration of the lab: root logs in only with the lab's client key, on <paramref name="listenAddress"/>
    /// alone. The lab hosts' sshd, and the UML guest's own (on the transfer address) use it.
    /// </summary>
    public static string SshdConfig(string what, string listenAddress, string hostKey, string stateDir, string pidFile) =>
        new StringBuilder()
            .Append("# sshd of ").Append(what).Append(", written by PgHaConsole.Lab\n")
            .Append("ListenAddress ").Append(listenAddress).Append('\n')
            .Append("Port ").Append(LabTopology.SshPort.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("HostKey ").Append(hostKey).Append('\n')
            .Append("PermitRootLogin prohibit-password\n")
            .Append("PasswordAuthentication no\n")
            .Append("KbdInteractiveAuthentication no\n")
            .Append("PubkeyAuthentication yes\n")
            .Append("AuthorizedKeysFile ").Append(Path.Combine(stateDir, LabPaths.ClientKeyName + ".pub")).Append('\n')
            // The key file lives in the state dir, outside any home: StrictModes would reject it for postgres.
            .Append("StrictModes no\n")
            // Debian's postgres account is locked; only PAM lets it log in by key (repmgr needs that).
            .Append("UsePAM yes\n")
            .Append("UseDNS no\n")
            .Append("PidFile ").Append(pidFile).Append('\n')
            .Append("AcceptEnv LANG\n")
            .Append("Subsystem sftp /usr/lib/openssh/sftp-server\n")
            .ToString();

    public static int StartHost(string stateDir, LabHostDefinition host, string bootScript)
    {
        var hostDir = HostDir(stateDir, host);
        File.Delete(Path.Combine(hostDir, "sshd.pid"));
        return CommandRunner.StartDetached(StartHostArgv(host, bootScript, hostDir, hostDir, hostDir));
    }

    /// <summary>
    /// The command that boots one host: its namespace, a private mount and UTS namespace, the boot script with the
    /// host's directories (<paramref name="dataDir"/>), sshd configuration (<paramref name="configDir"/>), pid file and
    /// log (<paramref name="runDir"/>). The same in the UML guest, where the directories live in the guest's memory.
    /// </summary>
    public static string[] StartHostArgv(LabHostDefinition host, string bootScript, string dataDir, string configDir, string runDir) =>
    [
        // setsid: the host must not share our session, or a Ctrl-C at the terminal would kill it.
        "setsid", "ip", "netns", "exec", host.Namespace,
        "unshare", "--mount", "--uts", "--propagation", "private",
        "/bin/sh", bootScript, host.Name, dataDir, Path.Combine(configDir, "sshd_config"),
        Path.Combine(runDir, "sshd.pid"), Path.Combine(configDir, "host.log"),
    ];

    public async Task<int> WaitForPidFileAsync(string stateDir, LabHostDefinition host, int launcherPid, CancellationToken ct)
    {
        var hostDir = HostDir(stateDir, host);
        var pidFile = Path.Combine(hostDir, "sshd.pid");
        var deadline = time.GetTimestamp();
        while (time.GetElapsedTime(deadline) < HostBootTimeout)
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

            await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct).ConfigureAwait(false);
        }

        throw HostFailed(hostDir, host, $"did not boot within {HostBootTimeout.TotalSeconds:0} s");
    }

    public async Task WaitForSshAsync(string stateDir, LabHostDefinition host, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < HostBootTimeout)
        {
            if (await LabSystem.SshAnswersAsync(host.Address, LabTopology.SshPort, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(30), time, ct).ConfigureAwait(false);
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

    /// <summary>SHA-256 of the key blob, unpadded base64: what <c>ssh-keygen -lf</c> prints after <c>SHA256:</c>.</summary>
    public static string HostKeyFingerprint(string publicKeyPath)
    {
        var parts = File.ReadAllText(publicKeyPath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            throw new LabException($"{publicKeyPath} is not an OpenSSH public key.", "Run `down` then `up`.");
        }

        return Convert.ToBase64String(SHA256.HashData(Convert.FromBase64String(parts[1]))).TrimEnd('=');
    }
}
