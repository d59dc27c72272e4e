using System.Diagnostics;
using PgHaConsole.Core.Model;
using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Lab;

[Trait("Category", "LabLifecycle")]
[Collection(LabLifecycleCollection.Name)]
public sealed class LabLifecycleTests(LabLifecycleFixture fixture)
{
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Up_twice_then_down_leaves_nothing_behind()
    {
        using var cts = new CancellationTokenSource(Budget);
        var ct = cts.Token;
        var stateDir = fixture.NewStateDir();
        var lab = fixture.Controller;
        var data10Existed = Directory.Exists("/data10");
        try
        {
            var first = await lab.UpAsync(new LabOptions(stateDir), ct);
            Assert.False(first.AlreadyRunning);
            Assert.Equal(stateDir, first.StateDir);

            var info = LabInfoFile.Load(Path.Combine(stateDir, "lab.json"));
            Assert.Equal(["pg1", "pg2"], info.Nodes.Select(n => n.Name));
            Assert.Equal("198.18.4.247", info.Node("pg1").Address);
            Assert.Equal("198.18.4.248", info.Node("pg2").Address);
            Assert.Equal("198.18.4.251", info.WriteVip);
            Assert.Equal("198.18.4.252", info.ReadVip);
            Assert.Equal("mgt", info.Interface);
            Assert.Equal(15, info.PgVersion);
            Assert.Equal("appdb", info.SampleDatabase.Database);
            Assert.False(string.IsNullOrEmpty(info.SampleDatabase.Password));
            Assert.DoesNotContain(info.SampleDatabase.Password, info.SampleDatabase.ToString(), StringComparison.Ordinal);
            foreach (var node in info.Nodes)
            {
                Assert.Equal(22, node.SshPort);
                Assert.Equal("root", node.SshUser);
                Assert.Equal("postgres", node.OsUser);
                Assert.Equal("/data10/pgdata", node.PgDataDir);
                Assert.Equal(5432, node.PgPort);
                Assert.True(File.Exists(Path.Combine(node.PgBinDir, "pg_ctl")));
                Assert.True(Path.IsPathRooted(node.SshKeyPath));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsLinux() ? File.GetUnixFileMode(node.SshKeyPath) : default);
                var keygen = await RunAsync(["ssh-keygen", "-lf", Path.Combine(stateDir, "hosts", node.Name, "ssh_host_ed25519_key.pub")], ct);
                Assert.Contains("SHA256:" + node.HostKeySha256 + " ", keygen, StringComparison.Ordinal);
            }

            Assert.NotEqual(info.Node("pg1").HostKeySha256, info.Node("pg2").HostKeySha256);
            // IPVS is reported as the kernel really is: ipvsadm's own answer decides.
            var ipvsadmWorks = await ExitCodeAsync(["ipvsadm", "-Ln"], ct) == 0;
            Assert.Equal(ipvsadmWorks, info.IpvsAvailable);

            // Each host is its own machine: hostname, /data10, PostgreSQL only on pg1.
            foreach (var node in info.Nodes)
            {
                var hostname = await lab.ExecInHostAsync(node.Name, ["hostname"], ct);
                Assert.Equal(node.Name, hostname.StandardOutput.Trim());
            }

            var pg1Ready = await lab.ExecInHostAsync("pg1", ["/usr/lib/postgresql/15/bin/pg_isready", "-h", "/run/postgresql", "-p", "5432"], ct);
            Assert.True(pg1Ready.Succeeded, pg1Ready.Output);
            var pg2Data = await lab.ExecInHostAsync("pg2", ["ls", "-A", "/data10"], ct);
            Assert.True(pg2Data.Succeeded, pg2Data.Output);
            Assert.Equal(string.Empty, pg2Data.StandardOutput.Trim());
            var rows = await lab.ExecInHostAsync("pg1",
                ["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/psql", "-X", "-At", "-h", "/run/postgresql", "-d", "appdb", "-c", "SELECT count(*) FROM public.items"], ct);
            Assert.True(rows.Succeeded, rows.Output);
            Assert.True(int.Parse(rows.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture) >= 50);

            var status = await lab.StatusAsync(new LabOptions(stateDir), ct);
            Assert.True(status.Healthy, status.Render());
            Assert.Contains("IPVS: ", status.Render(), StringComparison.Ordinal);

            var state = LabStateFile.TryLoad(stateDir);
            Assert.NotNull(state);
            var pids = state.HostPids.Values.ToList();
            Assert.Equal(2, pids.Count);

            var second = await lab.UpAsync(new LabOptions(stateDir), ct);
            Assert.True(second.AlreadyRunning);
            Assert.Equal(state.HostPids, LabStateFile.TryLoad(stateDir)!.HostPids);
            Assert.Equal(info.Node("pg1").HostKeySha256, second.Info.Node("pg1").HostKeySha256);

            // Collect every process of the lab (sshd, sessions, PostgreSQL) before taking it down.
            var labPids = new List<int>();
            foreach (var ns in new[] { "pghalab-pg1", "pghalab-pg2" })
            {
                labPids.AddRange(ParsePids(await RunAsync(["ip", "netns", "pids", ns], ct)));
            }

            Assert.True(labPids.Count >= 3, "expected both sshds and PostgreSQL");

            await lab.DownAsync(new LabOptions(stateDir), ct);

            Assert.False(LabController.AnyLabResourceExists());
            var netns = await RunAsync(["ip", "netns", "list"], ct);
            Assert.DoesNotContain("pghalab-", netns, StringComparison.Ordinal);
            var links = await RunAsync(["ip", "-o", "link", "show"], ct);
            Assert.DoesNotContain("pghalab", links, StringComparison.Ordinal);
            Assert.DoesNotContain("veth", links, StringComparison.Ordinal);
            foreach (var pid in pids.Concat(labPids))
            {
                Assert.False(IsAlive(pid), $"process {pid} of the lab is still alive");
            }

            Assert.False(Directory.Exists(stateDir));
            Assert.Equal(data10Existed, Directory.Exists("/data10"));

            // down when nothing exists succeeds and changes nothing.
            await lab.DownAsync(new LabOptions(stateDir), ct);
            Assert.False(LabController.AnyLabResourceExists());
        }
        finally
        {
            await CleanUpAsync(stateDir);
        }
    }

    [Fact]
    public async Task Up_after_a_crashed_host_rebuilds_a_healthy_lab()
    {
        using var cts = new CancellationTokenSource(Budget);
        var ct = cts.Token;
        var stateDir = fixture.NewStateDir();
        var lab = fixture.Controller;
        try
        {
            await lab.UpAsync(new LabOptions(stateDir), ct);
            var before = LabStateFile.TryLoad(stateDir)!.HostPids;

            // Simulate a crash: pg2's sshd (the process holding the host) dies, the rest stays.
            Assert.Equal(0, await ExitCodeAsync(["kill", "-s", "KILL", before["pg2"].ToString(System.Globalization.CultureInfo.InvariantCulture)], ct));
            await WaitUntilAsync(() => !IsAlive(before["pg2"]), ct);
            var degraded = await lab.StatusAsync(new LabOptions(stateDir), ct);
            Assert.True(degraded.Exists);
            Assert.False(degraded.Healthy, degraded.Render());
            Assert.False(degraded.Hosts.Single(h => h.Name == "pg2").SshdAlive);

            var recovered = await lab.UpAsync(new LabOptions(stateDir), ct);
            Assert.False(recovered.AlreadyRunning);
            var after = LabStateFile.TryLoad(stateDir)!.HostPids;
            Assert.NotEqual(before["pg2"], after["pg2"]);
            Assert.False(IsAlive(before["pg1"]), "the old pg1 host should have been stopped with the leftovers");

            var status = await lab.StatusAsync(new LabOptions(stateDir), ct);
            Assert.True(status.Healthy, status.Render());
            Assert.All(status.Hosts, h => Assert.True(h.SshAnswering, h.Name));
            Assert.True(status.Hosts.Single(h => h.Name == "pg1").PostgresRunning);
            Assert.False(status.Hosts.Single(h => h.Name == "pg2").PostgresRunning);
        }
        finally
        {
            await CleanUpAsync(stateDir);
        }
    }

    [Fact]
    public async Task Up_refuses_when_the_address_range_is_already_in_use()
    {
        using var cts = new CancellationTokenSource(Budget);
        var ct = cts.Token;
        var stateDir = fixture.NewStateDir();
        // An interface (a veth pair left down, so it carries no traffic; this kernel has no dummy driver)
        // holding an address of the lab's range.
        const string dummy = "pghxtest0";
        Assert.Equal(0, await ExitCodeAsync(["ip", "link", "add", dummy, "type", "veth", "peer", "name", "pghxtest1"], ct));
        try
        {
            Assert.Equal(0, await ExitCodeAsync(["ip", "addr", "add", "198.18.4.99/24", "dev", dummy], ct));
            var ex = await Assert.ThrowsAsync<LabException>(() => fixture.Controller.UpAsync(new LabOptions(stateDir), ct));
            Assert.Contains("198.18.4.99/24 on " + dummy, ex.Message, StringComparison.Ordinal);
            Assert.Contains("ip addr del", ex.Fix, StringComparison.Ordinal);
            Assert.False(LabController.AnyLabResourceExists());
        }
        finally
        {
            await ExitCodeAsync(["ip", "link", "del", dummy], CancellationToken.None);
            await CleanUpAsync(stateDir);
        }
    }

    [Fact]
    public async Task The_program_refuses_to_run_without_root_and_says_how_to_fix_it()
    {
        using var cts = new CancellationTokenSource(Budget);
        var labDll = Path.Combine(AppContext.BaseDirectory, "PgHaConsole.Lab.dll");
        Assert.True(File.Exists(labDll), labDll);
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var (code, output) = await RunWithCodeAsync(
            ["runuser", "-u", "nobody", "--", dotnet, labDll, "up", "--state", "/tmp/pghalab-never"], cts.Token);
        Assert.Equal(1, code);
        Assert.Contains("run as root: sudo", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists("/tmp/pghalab-never"));
    }

    private async Task CleanUpAsync(string stateDir)
    {
        // Whatever an assertion left running, the next test (and the machine) get a clean slate.
        if (LabController.FindRunningLabStateDir() == stateDir || LabController.AnyLabResourceExists() || Directory.Exists(stateDir))
        {
            using var cts = new CancellationTokenSource(Budget);
            await fixture.Controller.DownAsync(new LabOptions(stateDir), cts.Token);
        }
    }

    private static IEnumerable<int> ParsePids(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture));

    private static bool IsAlive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            // A zombie has exited; only its parent's (PID 1's) bookkeeping remains.
            return text[text.LastIndexOf(')') + 2] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(20, ct);
        }
    }

    private static async Task<string> RunAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        var (code, output) = await RunWithCodeAsync(argv, ct);
        Assert.True(code == 0, $"{string.Join(' ', argv)} exited {code}: {output}");
        return output;
    }

    private static async Task<int> ExitCodeAsync(IReadOnlyList<string> argv, CancellationToken ct) =>
        (await RunWithCodeAsync(argv, ct)).Code;

    private static async Task<(int Code, string Output)> RunWithCodeAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in argv.Skip(1))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
