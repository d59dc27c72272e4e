using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class KeepalivedRenderingTests
{
    private const string Password = "s3cr3t";

    /// <summary>A multicast-capable interface of this machine, so keepalived -t can check the whole file; null if none.</summary>
    private static string? LocalInterface() =>
        Directory.GetDirectories("/sys/class/net")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n != "lo" && n.Length <= 13)
            .Where(n => int.TryParse(File.ReadAllText($"/sys/class/net/{n}/flags").Trim().Replace("0x", "", StringComparison.Ordinal),
                System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var flags) && (flags & 0x1000) != 0)
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();

    private static KeepalivedPaths PathsIn(DirectoryInfo dir) => new()
    {
        CheckScript = Path.Combine(dir.FullName, "check.sh"),
        ReadCheckScript = Path.Combine(dir.FullName, "check-read.sh"),
        HaproxyCheckScript = Path.Combine(dir.FullName, "check-haproxy.sh"),
        FenceScript = Path.Combine(dir.FullName, "fence.sh"),
        NotifyScript = Path.Combine(dir.FullName, "notify.sh"),
        FenceFile = Path.Combine(dir.FullName, "etc", "fenced"),
        SeenDirectory = Path.Combine(dir.FullName, "seen"),
        StateFile = Path.Combine(dir.FullName, "run", "state"),
        ReadStateFile = Path.Combine(dir.FullName, "run", "read-state"),
        LogFile = Path.Combine(dir.FullName, "log", "notify.log"),
        Lvs = new Lvs.LvsCheckPaths
        {
            CheckScript = Path.Combine(dir.FullName, "rs-check.sh"),
            PassFile = Path.Combine(dir.FullName, "rs-check.pgpass"),
        },
        HaproxyPidFile = Path.Combine(dir.FullName, "haproxy.pid"),
        HaproxyConfigFile = Path.Combine(dir.FullName, "haproxy.cfg"),
    };

    private static void WriteScripts(DirectoryInfo dir, ClusterSpec cluster, NodeSpec node, KeepalivedPaths paths)
    {
        Tool.WriteExecutable(dir, "check.sh", KeepalivedScriptRenderer.RenderCheckScript(cluster, paths));
        Tool.WriteExecutable(dir, "check-read.sh", KeepalivedScriptRenderer.RenderReadCheckScript(cluster, paths));
        Tool.WriteExecutable(dir, "check-haproxy.sh", KeepalivedScriptRenderer.RenderHaproxyCheckScript(paths));
        Tool.WriteExecutable(dir, "fence.sh", KeepalivedScriptRenderer.RenderFenceScript(cluster, node, paths));
        Tool.WriteExecutable(dir, "notify.sh", KeepalivedScriptRenderer.RenderNotifyScript(cluster, node, paths));
        Tool.WriteExecutable(dir, "rs-check.sh", Lvs.LvsVirtualServerRenderer.RenderCheckScript(cluster, paths.Lvs));
    }

    /// <summary>Renders config and scripts into a temp dir and runs keepalived -t; returns its exit code and output.</summary>
    private static async Task<(Tool.Result Result, string Config, bool InterfaceExists)> CheckAsync(ClusterSpec cluster, NodeSpec node)
    {
        var dir = Tool.TempDir();
        try
        {
            var paths = PathsIn(dir);
            WriteScripts(dir, cluster, node, paths);
            var config = KeepalivedConfigRenderer.Render(cluster, node, Password, paths);
            var file = Path.Combine(dir.FullName, "keepalived.conf");
            File.WriteAllText(file, config);
            var result = await Tool.RunAsync("keepalived", ["-t", "-f", file]);
            return (result, config, File.Exists($"/sys/class/net/{cluster.Vrrp.Interface}/flags"));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static void AssertClean((Tool.Result Result, string Config, bool InterfaceExists) check)
    {
        Assert.DoesNotContain("Unknown keyword", check.Result.Output, StringComparison.Ordinal);
        if (check.InterfaceExists)
        {
            Assert.True(check.Result.ExitCode == 0 && check.Result.Output.Trim().Length == 0, $"keepalived -t: {check.Result.ExitCode}\n{check.Result.Output}\n{check.Config}");
        }
        else
        {
            // Only the missing interface may be reported (the target host has it, this machine does not).
            var lines = check.Result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.All(lines, l => Assert.Matches("doesn't exist|Non-existent interface", l));
        }
    }

    [Theory]
    [InlineData(BalancerMode.Haproxy, 1)]
    [InlineData(BalancerMode.Haproxy, 2)]
    [InlineData(BalancerMode.LvsDr, 1)]
    [InlineData(BalancerMode.LvsDr, 2)]
    public async Task Generated_config_passes_keepalived_t_without_warnings(BalancerMode mode, int nodeIndex)
    {
        var iface = LocalInterface();
        Assert.NotNull(iface);
        var c = Sample.Cluster(balancer: mode, iface: iface);
        AssertClean(await CheckAsync(c, nodeIndex == 1 ? c.Node1 : c.Node2));
    }

    [Fact]
    public async Task With_the_runbook_interface_only_the_missing_interface_is_reported()
    {
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr, iface: "pghamissing0");
        var check = await CheckAsync(c, c.Node1);
        Assert.NotEqual(0, check.Result.ExitCode);
        Assert.Contains("pghamissing0", check.Result.Output, StringComparison.Ordinal);
        AssertClean(check);
    }

    [Fact]
    public async Task Sub_second_advert_int_uses_vrrp3_without_authentication_and_passes()
    {
        var c = Sample.Cluster(iface: LocalInterface()!, advertInt: 0.5m);
        var check = await CheckAsync(c, c.Node1);
        AssertClean(check);
        Assert.Contains("    version 3\n", check.Config, StringComparison.Ordinal);
        Assert.DoesNotContain("auth_pass", check.Config, StringComparison.Ordinal);
        Assert.Contains("advert_int 0.5", check.Config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_runbook_defects_would_be_caught_by_the_same_check()
    {
        // Guard against a check that passes everything: the runbook's nb_get_retry must fail it.
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr, iface: LocalInterface()!);
        var dir = Tool.TempDir();
        try
        {
            var paths = PathsIn(dir);
            WriteScripts(dir, c, c.Node1, paths);
            var broken = KeepalivedConfigRenderer.Render(c, c.Node1, Password, paths).Replace("misc_timeout 5", "misc_timeout 5\n            nb_get_retry 3", StringComparison.Ordinal);
            var file = Path.Combine(dir.FullName, "k.conf");
            File.WriteAllText(file, broken);
            var result = await Tool.RunAsync("keepalived", ["-t", "-f", file]);
            Assert.Contains("Unknown keyword 'nb_get_retry'", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Content_of_the_vrrp_instance()
    {
        var c = Sample.Cluster(balancer: BalancerMode.Haproxy);
        var conf1 = KeepalivedConfigRenderer.Render(c, c.Node1, Password);
        var conf2 = KeepalivedConfigRenderer.Render(c, c.Node2, Password);
        Assert.Contains("router_id pg1\n", conf1, StringComparison.Ordinal);
        Assert.Contains("router_id pg2\n", conf2, StringComparison.Ordinal);
        Assert.Contains("priority 100\n", conf1, StringComparison.Ordinal);
        Assert.Contains("priority 90\n", conf2, StringComparison.Ordinal);
        foreach (var conf in new[] { conf1, conf2 })
        {
            Assert.Contains("state BACKUP\n", conf, StringComparison.Ordinal);
            Assert.Contains("nopreempt\n", conf, StringComparison.Ordinal);
            Assert.Contains("auth_type PASS\n", conf, StringComparison.Ordinal);
            Assert.Contains("auth_pass " + Password + "\n", conf, StringComparison.Ordinal);
            Assert.Contains("enable_script_security", conf, StringComparison.Ordinal);
            Assert.Contains("script_user root", conf, StringComparison.Ordinal);

            // One instance per VIP: the write VIP follows the unfenced primary, the read VIP any healthy node; both
            // lead to the local HAProxy, so both track it.
            var write = Block(conf, "vrrp_instance VI_WRITE {");
            var read = Block(conf, "vrrp_instance VI_READ {");
            Assert.Contains("virtual_router_id 50\n", write, StringComparison.Ordinal);
            Assert.Contains("virtual_router_id 51\n", read, StringComparison.Ordinal);
            Assert.Contains("198.18.4.51/24 dev mgt label mgt:1\n", write, StringComparison.Ordinal);
            Assert.DoesNotContain("198.18.4.52", write, StringComparison.Ordinal);
            Assert.Contains("198.18.4.52/24 dev mgt label mgt:2\n", read, StringComparison.Ordinal);
            Assert.DoesNotContain("198.18.4.51", read, StringComparison.Ordinal);
            Assert.Contains("track_script {\n        chk_pg_primary\n        chk_haproxy\n    }", write, StringComparison.Ordinal);
            Assert.Contains("track_script {\n        chk_pg_read\n        chk_haproxy\n    }", read, StringComparison.Ordinal);
            Assert.Contains("script \"/etc/keepalived/pghaconsole-check-haproxy.sh\"", conf, StringComparison.Ordinal);
            // The HAProxy check (a pid file, looked at twice) releases the VIPs on its first failure; the PostgreSQL
            // checks (a query, which a loaded host can time out once) on the second.
            Assert.Contains("fall 1\n", Block(conf, "vrrp_script chk_haproxy {"), StringComparison.Ordinal);
            Assert.Contains("fall 2\n", Block(conf, "vrrp_script chk_pg_primary {"), StringComparison.Ordinal);
            Assert.Contains("fall 2\n", Block(conf, "vrrp_script chk_pg_read {"), StringComparison.Ordinal);
            Assert.Contains("notify \"/etc/keepalived/pghaconsole-notify.sh\"", conf, StringComparison.Ordinal);
            Assert.DoesNotContain("notify_master", conf, StringComparison.Ordinal);
            Assert.DoesNotContain("virtual_server", conf, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Lvs_mode_adds_the_runbook_virtual_servers_with_keepalived_2_syntax()
    {
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr);
        var conf1 = KeepalivedConfigRenderer.Render(c, c.Node1, Password);
        var conf2 = KeepalivedConfigRenderer.Render(c, c.Node2, Password);
        Assert.Contains("virtual_server 198.18.4.51 5432 {\n", conf1, StringComparison.Ordinal);
        Assert.Contains("virtual_server fwmark 1 {\n", conf1, StringComparison.Ordinal);
        Assert.Contains("virtual_server fwmark 2 {\n", conf2, StringComparison.Ordinal);
        Assert.Contains("real_server 198.18.4.11 5432 {", conf1, StringComparison.Ordinal);
        Assert.Contains("real_server 198.18.4.12 5432 {", conf2, StringComparison.Ordinal);
        Assert.DoesNotContain("real_server 198.18.4.12 5432", conf1, StringComparison.Ordinal);
        Assert.Contains("    real_server 198.18.4.11 {\n", conf1, StringComparison.Ordinal);
        Assert.Contains("    real_server 198.18.4.12 {\n", conf1, StringComparison.Ordinal);
        Assert.DoesNotContain("nb_get_retry", conf1, StringComparison.Ordinal);
        Assert.Equal(conf1.Count(ch => ch == '{'), conf1.Count(ch => ch == '}'));
        var fwmarkBlock = conf1[conf1.IndexOf("virtual_server fwmark", StringComparison.Ordinal)..];
        Assert.DoesNotContain("protocol", fwmarkBlock, StringComparison.Ordinal);

        // Health by a real query, not a TCP handshake the kernel completes for a hung server.
        Assert.DoesNotContain("TCP_CHECK", conf1, StringComparison.Ordinal);
        Assert.Equal(2, conf1.Split("MISC_CHECK {", StringSplitOptions.None).Length - 1);
        Assert.Equal(2, fwmarkBlock.Split("MISC_CHECK {", StringSplitOptions.None).Length - 1);
        Assert.Contains("misc_path \"/etc/keepalived/pghaconsole-realserver-check.sh 198.18.4.12 5432\"\n", fwmarkBlock, StringComparison.Ordinal);
        Assert.Contains("misc_path \"/etc/keepalived/pghaconsole-realserver-check.sh 198.18.4.11 5432\"\n", fwmarkBlock, StringComparison.Ordinal);
        Assert.Contains("misc_timeout 5\n", conf1, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("123456789")]
    [InlineData("a b")]
    [InlineData("a\nvirtual_server")]
    [InlineData("")]
    public void Bad_vrrp_password_is_refused_without_echo(string password)
    {
        var c = Sample.Cluster();
        var ex = Assert.Throws<ArgumentException>(() => KeepalivedConfigRenderer.Render(c, c.Node1, password));
        if (password.Length > 0)
        {
            Assert.DoesNotContain(password, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_model_is_refused_before_rendering()
    {
        var c = Sample.Cluster(iface: "mgt\n}\nvrrp_script x {");
        var ex = Assert.Throws<ArgumentException>(() => KeepalivedConfigRenderer.Render(c, c.Node1, Password));
        Assert.Contains("vrrp.interface", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripts_pass_bash_n()
    {
        var c = Sample.Cluster();
        var c11 = Sample.Cluster(11);
        foreach (var script in new[]
                 {
                     KeepalivedScriptRenderer.RenderCheckScript(c), KeepalivedScriptRenderer.RenderNotifyScript(c, c.Node1),
                     KeepalivedScriptRenderer.RenderReadCheckScript(c), KeepalivedScriptRenderer.RenderHaproxyCheckScript(),
                     KeepalivedScriptRenderer.RenderFenceScript(c, c.Node1), KeepalivedScriptRenderer.RenderFenceScript(c11, c11.Node2),
                 })
        {
            var result = await Tool.RunAsync("bash", ["-n"], stdin: script);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.StartsWith("#!/bin/bash\n", script, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Notify_script_logs_and_writes_the_state_file_and_never_promotes()
    {
        var c = Sample.Cluster();
        var dir = Tool.TempDir();
        try
        {
            var paths = PathsIn(dir);
            var script = KeepalivedScriptRenderer.RenderNotifyScript(c, c.Node2, paths);
            Assert.DoesNotContain("promote", script.Split('\n').Where(l => !l.TrimStart().StartsWith('#')).Aggregate("", string.Concat), StringComparison.Ordinal);
            var path = Tool.WriteExecutable(dir, "notify.sh", script);

            var r1 = await Tool.RunAsync(path, ["INSTANCE", "VI_1", "MASTER", "90"]);
            Assert.Equal(0, r1.ExitCode);
            var before = DateTimeOffset.UtcNow.AddSeconds(-5);
            var text = File.ReadAllText(paths.StateFile);
            Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(" NODE=pg2", text, StringComparison.Ordinal);

            // The console reads it with the parser: the two ends of the contract must agree.
            var parsed = KeepalivedStateParser.ParseStateFile(text).Value!;
            Assert.Equal(VrrpState.Master, parsed.State);
            Assert.Equal("VI_1", parsed.Instance);
            Assert.Equal(90, parsed.Priority);
            Assert.NotNull(parsed.At);
            Assert.InRange(parsed.At!.Value, before, DateTimeOffset.UtcNow.AddSeconds(5));

            var marker = Path.Combine(dir.FullName, "pwned");
            var r2 = await Tool.RunAsync(path, ["INSTANCE", $"$(touch {marker})", "BOGUS;reboot", "1x"]);
            Assert.Equal(0, r2.ExitCode);
            Assert.False(File.Exists(marker));
            text = File.ReadAllText(paths.StateFile);
            Assert.StartsWith("STATE=UNKNOWN INSTANCE=", text, StringComparison.Ordinal);
            Assert.Contains(" PRIORITY=0 ", text, StringComparison.Ordinal);
            Assert.DoesNotContain("$(", text, StringComparison.Ordinal);
            Assert.Equal(VrrpState.Unknown, KeepalivedStateParser.ParseStateFile(text).Value?.State ?? VrrpState.Unknown);

            var log = File.ReadAllLines(paths.LogFile);
            Assert.Equal(2, log.Length);
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pg2 INSTANCE VI_1 -> MASTER \(priority 90\)$", log[0]);
            Assert.Equal(["state"], Directory.GetFiles(Path.GetDirectoryName(paths.StateFile)!).Select(f => Path.GetFileName(f)).ToArray());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData("f", 0)]
    [InlineData("t", 1)]
    [InlineData("", 1)]
    [InlineData("FAIL", 1)]
    public async Task Check_script_succeeds_only_on_a_primary(string answer, int expectedExit)
    {
        var c = Sample.Cluster() with { Postgres = Sample.Cluster().Postgres with { Port = 5433 } };
        var dir = Tool.TempDir();
        try
        {
            // A stand-in psql: answers only when called with the expected socket, port and query, as the OS user.
            var fake = answer == "FAIL"
                ? "#!/bin/sh\necho 'psql: error: connection refused' >&2\nexit 2\n"
                : $$"""
                  #!/bin/sh
                  [ "$(id -un)" = "postgres" ] || exit 9
                  case " $* " in *" -p 5433 "*) ;; *) exit 8 ;; esac
                  case " $* " in *" -h /sock/dir "*) ;; *) exit 7 ;; esac
                  case "$*" in *"SELECT pg_is_in_recovery()"*) ;; *) exit 6 ;; esac
                  echo '{{answer}}'
                  """ + "\n";
            var psql = Tool.WriteExecutable(dir, "psql", fake);
            var paths = PathsIn(dir) with { Psql = psql, PgSocketDir = "/sock/dir" };
            var script = Tool.WriteExecutable(dir, "check.sh", KeepalivedScriptRenderer.RenderCheckScript(c, paths));
            var result = await Tool.RunAsync(script, []);
            Assert.Equal(expectedExit, result.ExitCode);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Check_script_values_are_shell_quoted()
    {
        var c = Sample.Cluster();
        var script = KeepalivedScriptRenderer.RenderCheckScript(c, new KeepalivedPaths { PgSocketDir = null });
        Assert.Contains("PG_OS_USER=postgres\n", script, StringComparison.Ordinal);
        Assert.Contains("PSQL=/usr/lib/postgresql/15/bin/psql\n", script, StringComparison.Ordinal);
        Assert.Contains("PG_SOCKET_DIR=''\n", script, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => KeepalivedScriptRenderer.RenderCheckScript(c, new KeepalivedPaths { PgSocketDir = "/run/$(id)" }));
    }

    private static string Block(string conf, string header)
    {
        var start = conf.IndexOf(header, StringComparison.Ordinal);
        Assert.True(start >= 0, header + " missing:\n" + conf);
        var end = conf.IndexOf("\n}\n", start, StringComparison.Ordinal);
        return conf[start..(end + 3)];
    }

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(0.5, 1, 3)]
    [InlineData(2.5, 3, 6)]
    [InlineData(5, 5, 10)]
    public void The_checks_run_at_the_pairs_pace(decimal advertInt, int interval, int delayLoop)
    {
        // advert_int is the pair's pace: the VIP checks run every advert_int (whole seconds, at least 1), the real-server
        // checks every twice that (at least 3 s), and the self-fence's worst case counts that interval.
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr, advertInt: advertInt);
        var conf = KeepalivedConfigRenderer.Render(c, c.Node1, Password);
        Assert.Contains($"    interval {interval}\n", Block(conf, "vrrp_script chk_pg_primary {"), StringComparison.Ordinal);
        Assert.Contains($"    interval {interval}\n", Block(conf, "vrrp_script chk_pg_read {"), StringComparison.Ordinal);
        Assert.Equal(2, conf.Split($"    delay_loop {delayLoop}\n").Length - 1);
        var query = Math.Max(SelfFence.CheckQuerySeconds, interval - 1);
        Assert.Contains($"TIMEOUT_SECONDS={query}\n", KeepalivedScriptRenderer.RenderCheckScript(c), StringComparison.Ordinal);
        Assert.Contains($"    timeout {Math.Max(5, query + 2)}\n", Block(conf, "vrrp_script chk_pg_primary {"), StringComparison.Ordinal);
        Assert.Equal(SelfFence.WorstCaseSeconds() + (interval - 1) + (query - SelfFence.CheckQuerySeconds), SelfFence.WorstCaseSeconds(c.Vrrp));
        Assert.Contains($"runs it every {interval} s.", KeepalivedScriptRenderer.RenderCheckScript(c), StringComparison.Ordinal);
    }

    [Fact]
    public void Lvs_mode_tracks_no_haproxy_and_router_id_255_takes_254_for_reads()
    {
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr) with { Vrrp = new VrrpSettings { Interface = "mgt", VirtualRouterId = 255 } };
        var conf = KeepalivedConfigRenderer.Render(c, c.Node2, Password);
        Assert.DoesNotContain("chk_haproxy", conf, StringComparison.Ordinal);
        Assert.Contains("virtual_router_id 255\n", Block(conf, "vrrp_instance VI_WRITE {"), StringComparison.Ordinal);
        Assert.Contains("virtual_router_id 254\n", Block(conf, "vrrp_instance VI_READ {"), StringComparison.Ordinal);
        Assert.Contains("priority 253\n", Block(conf, "vrrp_instance VI_READ {"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_read_instance_keeps_the_configured_order_at_the_top_of_the_range_and_the_write_instance_keeps_the_configured_priorities()
    {
        var c = Sample.Cluster();
        var conf1 = KeepalivedConfigRenderer.Render(c, c.Node1, Password);
        var conf2 = KeepalivedConfigRenderer.Render(c, c.Node2, Password);
        Assert.Contains("priority 100\n", Block(conf1, "vrrp_instance VI_WRITE {"), StringComparison.Ordinal);
        Assert.Contains("priority 90\n", Block(conf2, "vrrp_instance VI_WRITE {"), StringComparison.Ordinal);
        Assert.Contains("priority 254\n", Block(conf1, "vrrp_instance VI_READ {"), StringComparison.Ordinal);
        Assert.Contains("priority 253\n", Block(conf2, "vrrp_instance VI_READ {"), StringComparison.Ordinal);

        // The order follows the configuration, not the node's number; equal priorities stay equal.
        var swapped = c with { Vrrp = c.Vrrp with { Node1Priority = 80, Node2Priority = 120 } };
        Assert.Equal(253, KeepalivedConfigRenderer.ReadPriority(swapped.Vrrp, node1: true));
        Assert.Equal(254, KeepalivedConfigRenderer.ReadPriority(swapped.Vrrp, node1: false));
        var equal = c.Vrrp with { Node1Priority = 100, Node2Priority = 100 };
        Assert.Equal(KeepalivedConfigRenderer.ReadPriority(equal, node1: true), KeepalivedConfigRenderer.ReadPriority(equal, node1: false));
    }

    /// <summary>A check-script harness: a fake psql answering one line, the seen clocks, a fake fence that records its call.</summary>
    private sealed class CheckHarness : IDisposable
    {
        public CheckHarness(string psqlAnswer, string kind = "write")
        {
            Dir = Tool.TempDir();
            var fake = psqlAnswer == "FAIL"
                ? "#!/bin/sh\necho 'psql: error: connection refused' >&2\nexit 2\n"
                : "#!/bin/sh\n[ \"$(/usr/bin/id -un)\" = postgres ] || exit 9\necho '" + psqlAnswer + "'\n";
            var psql = Tool.WriteExecutable(Dir, "psql", fake);
            Paths = PathsIn(Dir) with { Psql = psql, PgSocketDir = null };
            FenceCalls = Path.Combine(Dir.FullName, "fence-calls");
            Tool.WriteExecutable(Dir, "fence.sh", $"#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >>'{FenceCalls}'\n");
            Directory.CreateDirectory(Paths.SeenDirectory);
            Directory.CreateDirectory(Path.GetDirectoryName(Paths.FenceFile)!);
            Script = Tool.WriteExecutable(Dir, kind + ".sh", kind == "write"
                ? KeepalivedScriptRenderer.RenderCheckScript(Sample.Cluster(), Paths)
                : KeepalivedScriptRenderer.RenderReadCheckScript(Sample.Cluster(), Paths));
        }

        public DirectoryInfo Dir { get; }

        public KeepalivedPaths Paths { get; }

        public string Script { get; }

        public string FenceCalls { get; }

        public string Seen(string name) => Path.Combine(Paths.SeenDirectory, name);

        /// <summary>The clock files hold epoch seconds (the check reads them with shell builtins only).</summary>
        public void Age(string name, int seconds) =>
            File.WriteAllText(Seen(name), (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds).ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");

        public double AgeOf(string name) =>
            DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(File.ReadAllText(Seen(name)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        public async Task<string?> FenceCallAsync()
        {
            // The fence runs detached (setsid, background): give it a moment.
            for (var i = 0; i < 40 && !File.Exists(FenceCalls); i++)
            {
                await Task.Delay(50);
            }

            return File.Exists(FenceCalls) ? File.ReadAllText(FenceCalls).Trim() : null;
        }

        public void Dispose() => Dir.Delete(true);
    }

    [Fact]
    public async Task Write_check_self_fences_a_primary_that_saw_neither_standby_nor_console()
    {
        // The console's connection is still there (a partition sends no FIN) but silent for 30 s.
        using var h = new CheckHarness("f 0 30");
        h.Age("peer", SelfFence.DelaySeconds + 5);
        h.Age("console", SelfFence.DelaySeconds + 5);
        var r = await Tool.RunAsync(h.Script, []);
        Assert.Equal(1, r.ExitCode);
        var call = await h.FenceCallAsync();
        Assert.NotNull(call);
        Assert.StartsWith("self|no streaming standby for ", call, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("f 1 30", "peer")]
    [InlineData("f 0 2", "console")]
    [InlineData("f 0 -1", "console")]
    public async Task Write_check_keeps_a_primary_that_sees_the_standby_or_the_console(string answer, string fresh)
    {
        using var h = new CheckHarness(answer);
        h.Age("peer", SelfFence.DelaySeconds + 5);
        h.Age("console", SelfFence.DelaySeconds + 5);
        var r = await Tool.RunAsync(h.Script, []);
        Assert.Equal(0, r.ExitCode);
        Assert.InRange(h.AgeOf(fresh), 0, fresh == "console" ? 4 : 2);
        Assert.Null(await h.FenceCallAsync());
    }

    [Theory]
    [InlineData("write", "f 1 0")]
    [InlineData("read", "1")]
    public async Task Checks_need_no_program_but_setpriv_and_psql(string kind, string answer)
    {
        // keepalived runs both checks every second: on a loaded or virtualized host every extra process is time the
        // check may not have. With only setpriv on the PATH (no date, touch, stat, mkdir, timeout, runuser), both
        // checks still pass, and the write check still keeps its clocks.
        using var h = new CheckHarness(answer, kind);
        var bin = Directory.CreateDirectory(Path.Combine(h.Dir.FullName, "bin"));
        File.CreateSymbolicLink(Path.Combine(bin.FullName, "setpriv"), "/usr/bin/setpriv");
        h.Age("peer", 300);
        var r = await Tool.RunAsync(h.Script, [], new Dictionary<string, string> { ["PATH"] = bin.FullName });
        Assert.True(r.ExitCode == 0, r.Output);
        if (kind == "write")
        {
            Assert.InRange(h.AgeOf("peer"), 0, 2);
            Assert.InRange(h.AgeOf("console"), 0, 2);
        }
    }

    [Fact]
    public async Task Write_check_gives_a_grace_period_when_it_starts_counting()
    {
        // First run after a boot (no clock files): the delay starts now, no immediate fence.
        using var h = new CheckHarness("f 0 300");
        var r = await Tool.RunAsync(h.Script, []);
        Assert.Equal(0, r.ExitCode);
        Assert.Null(await h.FenceCallAsync());
    }

    [Theory]
    [InlineData("t 0 -1")]
    [InlineData("FAIL")]
    public async Task Write_check_fails_on_a_standby_or_a_stopped_server_and_restarts_the_clocks(string answer)
    {
        using var h = new CheckHarness(answer);
        h.Age("peer", 300);
        h.Age("console", 300);
        var r = await Tool.RunAsync(h.Script, []);
        Assert.Equal(1, r.ExitCode);
        Assert.InRange(h.AgeOf("peer"), 0, 2);
        Assert.InRange(h.AgeOf("console"), 0, 2);
        Assert.Null(await h.FenceCallAsync());
    }

    [Theory]
    [InlineData("write", "f 1 0")]
    [InlineData("read", "1")]
    public async Task A_fenced_node_fails_both_checks_even_as_a_healthy_primary(string kind, string answer)
    {
        using var h = new CheckHarness(answer, kind);
        Assert.Equal(0, (await Tool.RunAsync(h.Script, [])).ExitCode);
        File.WriteAllText(h.Paths.FenceFile, "FENCED_AT=1 BY=console NODE=pg1 REASON=test\n");
        Assert.Equal(1, (await Tool.RunAsync(h.Script, [])).ExitCode);
    }

    [Theory]
    [InlineData("1", 0)]
    [InlineData("FAIL", 1)]
    public async Task Read_check_passes_whenever_postgres_answers(string answer, int exit)
    {
        using var h = new CheckHarness(answer, "read");
        Assert.Equal(exit, (await Tool.RunAsync(h.Script, [])).ExitCode);
    }

    [Fact]
    public async Task Haproxy_check_wants_a_live_haproxy_in_this_network_namespace()
    {
        var dir = Tool.TempDir();
        System.Diagnostics.Process? fake = null;
        try
        {
            var paths = PathsIn(dir);
            var script = Tool.WriteExecutable(dir, "check-haproxy.sh", KeepalivedScriptRenderer.RenderHaproxyCheckScript(paths));

            // Not set up by the console yet: not tracked.
            Assert.Equal(0, (await Tool.RunAsync(script, [])).ExitCode);
            File.WriteAllText(paths.HaproxyConfigFile, "# haproxy.cfg for pg1 - generated by PgHaConsole; local changes are overwritten.\n");
            Assert.Equal(1, (await Tool.RunAsync(script, [])).ExitCode);

            // A process whose comm is "haproxy": a copy of sleep under that name.
            var haproxy = Path.Combine(dir.FullName, "haproxy");
            File.Copy("/bin/sleep", haproxy);
            fake = System.Diagnostics.Process.Start(haproxy, "30");
            for (var i = 0; i < 250 && File.ReadAllText($"/proc/{fake.Id}/comm").Trim() != "haproxy"; i++)
            {
                await Task.Delay(20);
            }

            File.WriteAllText(paths.HaproxyPidFile, fake.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            Assert.Equal(0, (await Tool.RunAsync(script, [])).ExitCode);

            // A reload rewrites the pid file: one that names a dead process for a moment, then the live HAProxy again,
            // is not a failure (the script looks twice, 0.3 s apart, because keepalived acts on its first failure).
            File.WriteAllText(paths.HaproxyPidFile, "\n");
            var rewrite = Task.Run(async () =>
            {
                await Task.Delay(100);
                File.WriteAllText(paths.HaproxyPidFile, fake.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            });
            Assert.Equal(0, (await Tool.RunAsync(script, [])).ExitCode);
            await rewrite;

            // Another program's pid (this test host) is not HAProxy.
            File.WriteAllText(paths.HaproxyPidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            Assert.Equal(1, (await Tool.RunAsync(script, [])).ExitCode);

            fake.Kill();
            await fake.WaitForExitAsync();
            File.WriteAllText(paths.HaproxyPidFile, fake.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
            Assert.Equal(1, (await Tool.RunAsync(script, [])).ExitCode);
        }
        finally
        {
            if (fake is { HasExited: false })
            {
                fake.Kill();
            }

            fake?.Dispose();
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData(15, "standby.signal")]
    [InlineData(11, "recovery.conf")]
    public async Task Fence_script_marks_makes_the_next_start_a_standby_and_kills_a_postmaster_that_does_not_stop(int major, string signal)
    {
        var dir = Tool.TempDir();
        System.Diagnostics.Process? postmaster = null;
        try
        {
            var data = Directory.CreateDirectory(Path.Combine(dir.FullName, "data")).FullName;
            var c = Sample.Cluster(major, iface: "pghamissing0") with { Postgres = Sample.Cluster(major).Postgres with { DataDir = data } };
            // A pg_ctl that does nothing: the fence must not rely on it.
            var pgCtl = Tool.WriteExecutable(dir, "pg_ctl", "#!/bin/sh\nexit 1\n");
            var paths = PathsIn(dir) with { PgCtl = pgCtl };
            var script = Tool.WriteExecutable(dir, "fence.sh", KeepalivedScriptRenderer.RenderFenceScript(c, c.Node1, paths));
            postmaster = System.Diagnostics.Process.Start("/bin/sleep", "30");
            File.WriteAllText(Path.Combine(data, "postmaster.pid"), postmaster.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + data + "\n");

            var r = await Tool.RunAsync(script, ["console", "failover by ops; rm -rf /"]);
            Assert.True(r.ExitCode == 0, r.Output);
            Assert.True(postmaster.WaitForExit(2000), "the postmaster was not killed");
            var marker = File.ReadAllText(paths.FenceFile);
            Assert.Matches(@"^FENCED_AT=\d+ BY=console NODE=pg1 REASON=failover by ops_ rm -rf _\n$", marker);
            Assert.True(File.Exists(Path.Combine(data, signal)));
            if (major == 11)
            {
                Assert.Equal("standby_mode = 'on'\n", File.ReadAllText(Path.Combine(data, signal)));
            }

            Assert.Contains("fenced by console", File.ReadAllText(paths.LogFile), StringComparison.Ordinal);

            // Again: nothing left to do, the first marker is kept.
            var again = await Tool.RunAsync(script, ["self", "later"]);
            Assert.Equal(0, again.ExitCode);
            Assert.Equal(marker, File.ReadAllText(paths.FenceFile));
        }
        finally
        {
            if (postmaster is { HasExited: false })
            {
                postmaster.Kill();
            }

            postmaster?.Dispose();
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task Notify_script_keeps_the_read_instance_apart()
    {
        var c = Sample.Cluster();
        var dir = Tool.TempDir();
        try
        {
            var paths = PathsIn(dir);
            var path = Tool.WriteExecutable(dir, "notify.sh", KeepalivedScriptRenderer.RenderNotifyScript(c, c.Node1, paths));
            Assert.Equal(0, (await Tool.RunAsync(path, ["INSTANCE", KeepalivedConfigRenderer.InstanceName, "FAULT", "100"])).ExitCode);
            Assert.Equal(0, (await Tool.RunAsync(path, ["INSTANCE", KeepalivedConfigRenderer.ReadInstanceName, "MASTER", "100"])).ExitCode);
            Assert.Equal(VrrpState.Fault, KeepalivedStateParser.ParseStateFile(File.ReadAllText(paths.StateFile)).Value!.State);
            Assert.Equal(VrrpState.Master, KeepalivedStateParser.ParseStateFile(File.ReadAllText(paths.ReadStateFile)).Value!.State);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
