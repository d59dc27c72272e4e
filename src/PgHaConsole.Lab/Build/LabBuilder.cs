using System.Security.Cryptography;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Lab;

/// <summary><c>up</c>'s work once the preconditions hold: state dir, keys, network, hosts, PostgreSQL, lab.json.</summary>
internal sealed class LabBuilder(TextWriter log, TimeProvider time)
{
    private readonly LabHostBoot boot = new(time);

    public async Task<LabInfo> BuildAsync(string stateDir, CancellationToken ct)
    {
        Directory.CreateDirectory(stateDir);
        LabSystem.SetMode(stateDir, LabPaths.Mode755);
        var bootScript = Path.Combine(stateDir, LabPaths.BootScriptName);
        await LabHostBoot.WriteBootScriptAsync(bootScript, ct).ConfigureAwait(false);

        var createdMounts = LabTopology.HostMounts.Select(m => m.MountPoint).Where(m => !Directory.Exists(m)).ToList();
        var state = new LabStateFile(stateDir, new Dictionary<string, int>(), createdMounts);
        // Recorded before the directories exist, so a crash in between still lets `down` remove them.
        state.Save();
        foreach (var mountPoint in createdMounts)
        {
            Directory.CreateDirectory(mountPoint);
        }

        log.WriteLine("lab: generating keys and host directories");
        var clientKey = Path.Combine(stateDir, LabPaths.ClientKeyName);
        var keyTasks = new List<Task> { LabHostBoot.GenerateKeyAsync(clientKey, "pghalab-client", ct) };
        foreach (var host in LabTopology.Hosts)
        {
            var hostDir = LabHostBoot.HostDir(stateDir, host);
            keyTasks.Add(LabHostBoot.PrepareHostDirAsync(hostDir, host, stateDir, ct));
        }

        keyTasks.Add(LabNetwork.CreateNetworkAsync(stateDir, log, ct));
        await Task.WhenAll(keyTasks).ConfigureAwait(false);
        // sshd reads AuthorizedKeysFile as the target user: postgres must be able to read it later.
        LabSystem.SetMode(clientKey + ".pub", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        log.WriteLine("lab: starting hosts pg1 and pg2");
        var pids = new Dictionary<string, int>();
        foreach (var host in LabTopology.Hosts)
        {
            pids[host.Name] = LabHostBoot.StartHost(stateDir, host, bootScript);
        }

        // Recorded at once: if we fail or are killed before the hosts are in their namespaces, `down` still
        // finds them (setsid, ip netns exec, unshare and sh all exec in place, so this PID becomes the sshd).
        state = state with { HostPids = new Dictionary<string, int>(pids) };
        state.Save();

        foreach (var host in LabTopology.Hosts)
        {
            pids[host.Name] = await boot.WaitForPidFileAsync(stateDir, host, pids[host.Name], ct).ConfigureAwait(false);
        }

        state = state with { HostPids = pids };
        state.Save();

        var sshWaits = LabTopology.Hosts.Select(h => boot.WaitForSshAsync(stateDir, h, ct)).ToList();
        await Task.WhenAll(sshWaits).ConfigureAwait(false);

        var password = RandomPassword();
        var pgTask = LabPostgres.InitPostgresAsync((step, argv, stdin, t) => LabHostShell.RunInHostCheckedAsync(pids["pg1"], step, argv, stdin, t), password, [LabTopology.Network], string.Empty, log, ct);
        var ipvsTask = LabHealth.DetectIpvsAsync("pg1", ct);
        await Task.WhenAll(pgTask, ipvsTask).ConfigureAwait(false);
        var (ipvs, ipvsDetail) = await ipvsTask.ConfigureAwait(false);

        var nodes = LabTopology.Hosts.Select(h => new LabNode(
            h.Name, h.Address, LabTopology.SshPort, LabTopology.SshUser, clientKey,
            LabHostBoot.HostKeyFingerprint(Path.Combine(LabHostBoot.HostDir(stateDir, h), "ssh_host_ed25519_key.pub")),
            LabTopology.PgBinDir, LabTopology.PgDataDir, LabTopology.PgPort, LabTopology.OsUser, h.Namespace, LabTopology.PgLogFile)).ToList();
        var info = new LabInfo(nodes, LabTopology.WriteVip, LabTopology.ReadVip, LabTopology.Interface, LabTopology.PgVersion,
            LabTopology.Bridge, LabTopology.BridgeAddress,
            new LabSampleDatabase(LabTopology.SampleDatabase, LabTopology.SampleUser, password), ipvs, ipvsDetail);
        LabInfoFile.Save(info, Path.Combine(stateDir, LabPaths.LabInfoFile));
        return info;
    }

    internal static string RandomPassword() =>
        RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 24);
}
