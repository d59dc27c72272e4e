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
        NotifyScript = Path.Combine(dir.FullName, "notify.sh"),
        StateFile = Path.Combine(dir.FullName, "run", "state"),
        LogFile = Path.Combine(dir.FullName, "log", "notify.log"),
        Lvs = new Lvs.LvsCheckPaths
        {
            CheckScript = Path.Combine(dir.FullName, "rs-check.sh"),
            PassFile = Path.Combine(dir.FullName, "rs-check.pgpass"),
        },
    };

    /// <summary>Renders config and scripts into a temp dir and runs keepalived -t; returns its exit code and output.</summary>
    private static async Task<(Tool.Result Result, string Config, bool InterfaceExists)> CheckAsync(ClusterSpec cluster, NodeSpec node)
    {
        var dir = Tool.TempDir();
        try
        {
            var paths = PathsIn(dir);
            Tool.WriteExecutable(dir, "check.sh", KeepalivedScriptRenderer.RenderCheckScript(cluster, paths));
            Tool.WriteExecutable(dir, "notify.sh", KeepalivedScriptRenderer.RenderNotifyScript(cluster, node, paths));
            Tool.WriteExecutable(dir, "rs-check.sh", Lvs.LvsVirtualServerRenderer.RenderCheckScript(cluster, paths.Lvs));
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
            Tool.WriteExecutable(dir, "check.sh", KeepalivedScriptRenderer.RenderCheckScript(c, paths));
            Tool.WriteExecutable(dir, "notify.sh", KeepalivedScriptRenderer.RenderNotifyScript(c, c.Node1, paths));
            Tool.WriteExecutable(dir, "rs-check.sh", Lvs.LvsVirtualServerRenderer.RenderCheckScript(c, paths.Lvs));
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
            Assert.Contains("virtual_router_id 50\n", conf, StringComparison.Ordinal);
            Assert.Contains("auth_type PASS\n", conf, StringComparison.Ordinal);
            Assert.Contains("auth_pass " + Password + "\n", conf, StringComparison.Ordinal);
            Assert.Contains("198.18.4.51/24 dev mgt label mgt:1\n", conf, StringComparison.Ordinal);
            Assert.Contains("198.18.4.52/24 dev mgt label mgt:2\n", conf, StringComparison.Ordinal);
            Assert.Contains("enable_script_security", conf, StringComparison.Ordinal);
            Assert.Contains("script_user root", conf, StringComparison.Ordinal);
            Assert.Contains("track_script {\n        chk_pg_primary\n", conf, StringComparison.Ordinal);
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
        foreach (var script in new[] { KeepalivedScriptRenderer.RenderCheckScript(c), KeepalivedScriptRenderer.RenderNotifyScript(c, c.Node1) })
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
}
