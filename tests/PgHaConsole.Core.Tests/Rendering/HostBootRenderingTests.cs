using PgHaConsole.Core.Boot;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Tests.Rendering;

/// <summary>
/// What a node starts at boot: the boot guard run for real (fake pg_controldata and psql in the cluster's bin
/// directory, the real fence script) in each case it decides, and the generated systemd drop-in and boot entries.
/// </summary>
public sealed class HostBootRenderingTests
{
    private const string SystemId = "7300000000000000001";

    private sealed class GuardBench : IDisposable
    {
        public GuardBench(int checkpointTimeline = 1, int peerWait = 2, bool systemd = false)
        {
            Dir = Tool.TempDir();
            if (!OperatingSystem.IsWindows())
            {
                // psql runs as postgres and notes its calls here.
                File.SetUnixFileMode(Dir.FullName, (UnixFileMode)0b111_111_111);
            }

            var bin = Directory.CreateDirectory(Path.Combine(Dir.FullName, "bin"));
            DataDir = Path.Combine(Dir.FullName, "pgdata");
            Directory.CreateDirectory(Path.Combine(DataDir, "pg_wal"));
            File.WriteAllText(Path.Combine(DataDir, "PG_VERSION"), "15\n");
            File.WriteAllText(Path.Combine(Dir.FullName, "controldata"),
                $"pg_control version number:            1300\nDatabase system identifier:           {SystemId}\nLatest checkpoint's TimeLineID:       {checkpointTimeline}\n");
            Tool.WriteExecutable(bin, "pg_controldata", $"#!/bin/sh\ncat '{Dir.FullName}/controldata'\n");
            // psql answers IDENTIFY_SYSTEM from the file "peer" (absent: the peer does not answer) and notes each call.
            Tool.WriteExecutable(bin, "psql", $"#!/bin/sh\necho \"$*\" >>'{Dir.FullName}/psql-calls'\n[ -f '{Dir.FullName}/peer' ] || exit 2\ncat '{Dir.FullName}/peer'\n");
            Tool.WriteExecutable(bin, "pg_ctl", "#!/bin/sh\nexit 3\n");
            foreach (var sub in new[] { "etc", "log" })
            {
                Directory.CreateDirectory(Path.Combine(Dir.FullName, sub));
            }

            var baseCluster = Sample.Cluster();
            Cluster = baseCluster with
            {
                Postgres = baseCluster.Postgres with
                {
                    BinDir = bin.FullName, DataDir = DataDir, OsUser = "postgres",
                    ServiceControl = systemd ? ServiceControl.Systemd : ServiceControl.PgCtl, SystemdUnit = systemd ? "postgresql@15-main" : null,
                },
            };

            // systemctl answers is-active from the file "unit-state" and notes every call.
            Tool.WriteExecutable(bin, "systemctl", $"#!/bin/sh\necho \"$*\" >>'{Dir.FullName}/systemctl-calls'\n[ \"$1\" = is-active ] && cat '{Dir.FullName}/unit-state'\nexit 0\n");
            Paths = new KeepalivedPaths
            {
                FenceScript = Path.Combine(Dir.FullName, "fence.sh"),
                FenceFile = Path.Combine(Dir.FullName, "etc", "fenced"),
                LogFile = Path.Combine(Dir.FullName, "log", "pghaconsole.log"),
                BootGuardScript = Path.Combine(Dir.FullName, "guard.sh"),
            };
            Tool.WriteExecutable(Dir, "fence.sh", KeepalivedScriptRenderer.RenderFenceScript(Cluster, Cluster.Node1, Paths));
            Guard = Tool.WriteExecutable(Dir, "guard.sh", HostBootRenderer.RenderBootGuard(Cluster, Cluster.Node1, Paths, peerWait));
        }

        public DirectoryInfo Dir { get; }

        public string DataDir { get; }

        public ClusterSpec Cluster { get; }

        public KeepalivedPaths Paths { get; }

        public string Guard { get; }

        public void PeerAnswers(int timeline, string systemId = SystemId) =>
            File.WriteAllText(Path.Combine(Dir.FullName, "peer"), $"{systemId}|{timeline}|0/3000148|\n");

        public bool Fenced => File.Exists(Paths.FenceFile);

        public bool StandbySignal => File.Exists(Path.Combine(DataDir, "standby.signal"));

        public string PsqlCalls => File.Exists(Path.Combine(Dir.FullName, "psql-calls")) ? File.ReadAllText(Path.Combine(Dir.FullName, "psql-calls")) : "";

        public string SystemctlCalls => File.Exists(Path.Combine(Dir.FullName, "systemctl-calls")) ? File.ReadAllText(Path.Combine(Dir.FullName, "systemctl-calls")) : "";

        public Task<Tool.Result> RunAsync() => Tool.RunAsync("/bin/bash", [Guard], new Dictionary<string, string> { ["PATH"] = Path.Combine(Dir.FullName, "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin" });

        public void Dispose() => Dir.Delete(true);
    }

    [Fact]
    public async Task A_primary_whose_peer_is_on_its_timeline_starts_as_the_primary()
    {
        using var bench = new GuardBench();
        bench.PeerAnswers(timeline: 1);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("no failover happened", result.Output, StringComparison.Ordinal);
        Assert.False(bench.Fenced);
        Assert.False(bench.StandbySignal);
        // It asked the peer over a replication connection as the replication role, with the standby's pass file.
        Assert.Contains("IDENTIFY_SYSTEM", bench.PsqlCalls, StringComparison.Ordinal);
        Assert.Contains("host=198.18.4.12", bench.PsqlCalls, StringComparison.Ordinal);
        Assert.Contains("replication=true", bench.PsqlCalls, StringComparison.Ordinal);
        Assert.Contains("user=repli", bench.PsqlCalls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_primary_whose_peer_was_promoted_meanwhile_is_fenced_and_starts_read_only()
    {
        using var bench = new GuardBench();
        bench.PeerAnswers(timeline: 2);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.True(bench.Fenced, result.Output);
        Assert.Contains("BY=self", File.ReadAllText(bench.Paths.FenceFile), StringComparison.Ordinal);
        Assert.Contains("boot guard", File.ReadAllText(bench.Paths.FenceFile), StringComparison.Ordinal);
        Assert.Contains("timeline 2, newer than this node's 1", result.Output, StringComparison.Ordinal);
        Assert.True(bench.StandbySignal, "the fence makes the next start a standby's");
    }

    [Theory]
    [InlineData("activating", false)]
    [InlineData("active", true)]
    public async Task On_systemd_the_fence_run_by_the_guard_inside_the_units_start_does_not_stop_that_unit(string unitState, bool stops)
    {
        using var bench = new GuardBench(systemd: true);
        File.WriteAllText(Path.Combine(bench.Dir.FullName, "unit-state"), unitState + "\n");
        bench.PeerAnswers(timeline: 2);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.True(bench.Fenced, result.Output);
        Assert.Contains("is-active -- postgresql@15-main", bench.SystemctlCalls, StringComparison.Ordinal);
        Assert.Equal(stops, bench.SystemctlCalls.Contains("stop -- postgresql@15-main", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_primary_whose_peer_does_not_answer_is_fenced_after_the_wait()
    {
        using var bench = new GuardBench(peerWait: 2);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.True(bench.Fenced, result.Output);
        Assert.Contains("did not answer for 2 s", result.Output, StringComparison.Ordinal);
        Assert.True(bench.StandbySignal);
        Assert.True(bench.PsqlCalls.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2, "it asked more than once before giving up");
    }

    [Fact]
    public async Task Its_own_newer_history_file_counts_as_its_timeline()
    {
        // Promoted (00000002.history written) but crashed before the first checkpoint on timeline 2.
        using var bench = new GuardBench(checkpointTimeline: 1);
        File.WriteAllText(Path.Combine(bench.DataDir, "pg_wal", "00000002.history"), "1\t0/3000000\tno recovery target specified\n");
        bench.PeerAnswers(timeline: 2);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.False(bench.Fenced, result.Output);
        Assert.Contains("(this node 2)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_standby_starts_as_a_standby_without_asking_anyone()
    {
        using var bench = new GuardBench();
        File.WriteAllText(Path.Combine(bench.DataDir, "standby.signal"), "");
        bench.PeerAnswers(timeline: 5);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.False(bench.Fenced);
        Assert.Equal("", bench.PsqlCalls);
    }

    [Fact]
    public async Task A_fenced_node_stays_fenced_and_gets_its_standby_signal()
    {
        using var bench = new GuardBench();
        File.WriteAllText(bench.Paths.FenceFile, "FENCED_AT=1 BY=console NODE=pg1 REASON=failover\n");
        bench.PeerAnswers(timeline: 1);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("BY=console", File.ReadAllText(bench.Paths.FenceFile), StringComparison.Ordinal);
        Assert.True(bench.StandbySignal);
        Assert.Equal("", bench.PsqlCalls);
    }

    [Fact]
    public async Task A_dead_servers_pid_file_is_removed_first()
    {
        using var bench = new GuardBench();
        // A PID that is not a live PostgreSQL here: this test's own shell (alive, but not postgres).
        File.WriteAllText(Path.Combine(bench.DataDir, "postmaster.pid"), Environment.ProcessId + "\n" + bench.DataDir + "\n");
        bench.PeerAnswers(timeline: 1);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.False(File.Exists(Path.Combine(bench.DataDir, "postmaster.pid")), result.Output);
        Assert.Contains("removed the stale", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dead_servers_socket_lock_file_goes_with_its_pid_file_and_another_servers_stays()
    {
        using var bench = new GuardBench();
        var sockets = Directory.CreateDirectory(Path.Combine(bench.Dir.FullName, "sockets")).FullName;
        var dead = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // postmaster.pid: pid, data directory, start time, port, first socket directory, …
        File.WriteAllText(Path.Combine(bench.DataDir, "postmaster.pid"), $"{dead}\n{bench.DataDir}\n1700000000\n5433\n{sockets}\n*\n");
        File.WriteAllText(Path.Combine(sockets, ".s.PGSQL.5433.lock"), $"{dead}\n{bench.DataDir}\n");
        // Another server's lock in the same directory (another port, another process) is not this dead server's.
        File.WriteAllText(Path.Combine(sockets, ".s.PGSQL.5432.lock"), "1\n/elsewhere\n");
        bench.PeerAnswers(timeline: 1);
        var result = await bench.RunAsync();
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.False(File.Exists(Path.Combine(sockets, ".s.PGSQL.5433.lock")), result.Output);
        Assert.True(File.Exists(Path.Combine(sockets, ".s.PGSQL.5432.lock")), result.Output);
        Assert.Contains("removed the stale " + sockets + "/.s.PGSQL.5433.lock", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_fence_keeps_postgresql_from_starting()
    {
        using var bench = new GuardBench();
        Tool.WriteExecutable(bench.Dir, "fence.sh", "#!/bin/sh\nexit 1\n");
        bench.PeerAnswers(timeline: 3);
        var result = await bench.RunAsync();
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("PostgreSQL is not started", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Systemd_hosts_run_the_guard_before_postgresqls_unit_as_root()
    {
        var c = Sample.Cluster() with { Postgres = Sample.Cluster().Postgres with { ServiceControl = ServiceControl.Systemd, SystemdUnit = "postgresql@15-main" } };
        Assert.Equal("postgresql@15-main.service", HostBootRenderer.PostgresUnit(c));
        Assert.Equal("/etc/systemd/system/postgresql@15-main.service.d/pghaconsole-boot-guard.conf", HostBootRenderer.PostgresDropInPath(c));
        var dropIn = HostBootRenderer.RenderPostgresDropIn(c);
        Assert.Contains("[Service]\nExecStartPre=+/etc/keepalived/pghaconsole-boot-guard.sh\n", dropIn, StringComparison.Ordinal);
        Assert.Contains("After=network-online.target\n", dropIn, StringComparison.Ordinal);

        // LVS-DR: the real server's unit first, and that unit orders itself before this PostgreSQL unit (not a guessed name).
        var lvs = c with { Balancer = BalancerMode.LvsDr };
        Assert.Contains("After=network-online.target pghaconsole-realserver.service\n", HostBootRenderer.RenderPostgresDropIn(lvs), StringComparison.Ordinal);
        Assert.Contains("Before=keepalived.service postgresql@15-main.service\n", LvsRenderer.RenderRealServerUnit(lvs), StringComparison.Ordinal);
        Assert.Contains("WantedBy=multi-user.target\n", LvsRenderer.RenderRealServerUnit(lvs), StringComparison.Ordinal);
    }

    [Fact]
    public void Systemd_starts_a_dead_keepalived_again_but_not_a_stopped_one()
    {
        Assert.Equal("/etc/systemd/system/keepalived.service.d/pghaconsole-restart.conf", HostBootRenderer.KeepalivedRestartDropInPath);
        var dropIn = HostBootRenderer.RenderKeepalivedRestartDropIn(Sample.Cluster());
        // on-failure: a crash or a kill restarts it; the fence's systemctl stop does not.
        Assert.Contains("[Service]\nRestart=on-failure\nRestartSec=1\n", dropIn, StringComparison.Ordinal);
        Assert.DoesNotContain("Restart=always", dropIn, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Boot_entries_start_each_service_and_pass_bash_n()
    {
        var c = Sample.Cluster();
        var pg = HostBootRenderer.RenderPostgresEntry(c);
        var guard = pg.IndexOf("\"$GUARD\" ||", StringComparison.Ordinal);
        var start = pg.IndexOf("\"$PG_CTL\" -D \"$DATA_DIR\" -l \"$SERVER_LOG\" -w -t 120 start", StringComparison.Ordinal);
        Assert.True(guard > 0 && start > guard, "the guard runs first, and a refusal stops the start\n" + pg);
        Assert.Contains("GUARD=/etc/keepalived/pghaconsole-boot-guard.sh\n", pg, StringComparison.Ordinal);
        Assert.Contains("SERVER_LOG=/data10/postgresql.log\n", pg, StringComparison.Ordinal);
        Assert.Contains("exec haproxy -f \"$CONFIG\" -D -p \"$PID_FILE\"", HostBootRenderer.RenderHaproxyEntry("/etc/haproxy/haproxy.cfg", "/run/haproxy.pid"), StringComparison.Ordinal);
        Assert.Contains("exec keepalived -f \"$CONFIG\" -p \"$PID_FILE\"", HostBootRenderer.RenderKeepalivedEntry("/etc/keepalived/keepalived.conf", "/run/keepalived.pid"), StringComparison.Ordinal);
        Assert.Contains("exec /usr/local/sbin/pghaconsole-realserver start\n", HostBootRenderer.RenderRealServerEntry(), StringComparison.Ordinal);

        // Name order is start order: real server, PostgreSQL, HAProxy, keepalived (systemd's Before/After, by name).
        string[] order = [HostBootRenderer.RealServerEntry, HostBootRenderer.PostgresEntry, HostBootRenderer.HaproxyEntry, HostBootRenderer.KeepalivedEntry];
        Assert.Equal(order.Order(StringComparer.Ordinal), order);
        Assert.All(order, e => Assert.StartsWith(HostBootRenderer.BootDirectory + "/", e, StringComparison.Ordinal));

        foreach (var script in new[] { pg, HostBootRenderer.RenderHaproxyEntry("/etc/haproxy/haproxy.cfg", "/run/haproxy.pid"),
                     HostBootRenderer.RenderKeepalivedEntry("/etc/keepalived/keepalived.conf", "/run/keepalived.pid"),
                     HostBootRenderer.RenderRealServerEntry(), HostBootRenderer.RenderBootGuard(c, c.Node2) })
        {
            var result = await Tool.RunAsync("bash", ["-n"], stdin: script);
            Assert.True(result.ExitCode == 0, result.Output + "\n" + script);
        }

        Assert.Throws<ArgumentException>(() => HostBootRenderer.RenderHaproxyEntry("/etc/haproxy/haproxy.cfg; reboot", "/run/haproxy.pid"));
    }

    [Fact]
    public async Task Firewall_openings_are_restored_at_boot_once_each()
    {
        var c = Sample.Cluster();
        IReadOnlyList<IReadOnlyList<string>> rules =
        [
            ["INPUT", "-p", "tcp", "--dport", "5432", "-m", "comment", "--comment", "pghaconsole postgresql", "-j", "ACCEPT"],
            ["INPUT", "-p", "vrrp", "-s", "198.18.4.12", "-m", "comment", "--comment", "pghaconsole vrrp", "-j", "ACCEPT"],
        ];
        var dir = Tool.TempDir();
        try
        {
            // A stand-in iptables that keeps its chain in a file: -C looks a rule up, -I inserts it.
            var state = Path.Combine(dir.FullName, "chain");
            File.WriteAllText(state, "");
            Tool.WriteExecutable(dir, "iptables", $$"""
                #!/bin/bash
                [ "$1" = -w ] && shift
                op=$1; chain=$2; shift 2
                [ "$op" = -I ] && shift
                rule="$chain $*"
                case "$op" in
                  -C) grep -qxF -- "$rule" '{{state}}' ;;
                  -I) echo "$rule" >>'{{state}}' ;;
                  *) exit 2 ;;
                esac
                """);
            var script = Tool.WriteExecutable(dir, "fw.sh", HostBootRenderer.RenderFirewallScript(rules));
            var env = new Dictionary<string, string> { ["PATH"] = dir.FullName + ":/usr/bin:/bin" };
            for (var boot = 0; boot < 2; boot++)
            {
                var result = await Tool.RunAsync("/bin/bash", [script], env);
                Assert.True(result.ExitCode == 0, result.Output);
            }

            Assert.Equal(
                ["INPUT -p tcp --dport 5432 -m comment --comment pghaconsole postgresql -j ACCEPT", "INPUT -p vrrp -s 198.18.4.12 -m comment --comment pghaconsole vrrp -j ACCEPT"],
                File.ReadAllLines(state));
        }
        finally
        {
            dir.Delete(true);
        }

        var systemd = c with { Postgres = c.Postgres with { ServiceControl = ServiceControl.Systemd, SystemdUnit = "postgresql@15-main" } };
        var unit = HostBootRenderer.RenderFirewallUnit(systemd);
        Assert.Contains("ExecStart=/usr/local/sbin/pghaconsole-firewall\n", unit, StringComparison.Ordinal);
        Assert.Contains("After=netfilter-persistent.service iptables.service network-pre.target\n", unit, StringComparison.Ordinal);
        Assert.Contains("Before=keepalived.service postgresql@15-main.service\n", unit, StringComparison.Ordinal);
        Assert.Contains("[Install]\nWantedBy=multi-user.target\n", unit, StringComparison.Ordinal);
        Assert.Contains("exec /usr/local/sbin/pghaconsole-firewall\n", HostBootRenderer.RenderFirewallEntry(), StringComparison.Ordinal);
        Assert.True(string.CompareOrdinal(HostBootRenderer.FirewallEntry, HostBootRenderer.RealServerEntry) < 0, "the openings come first");
        Assert.Throws<ArgumentException>(() => HostBootRenderer.RenderFirewallScript([["INPUT"]]));
    }
}
