using PgHaConsole.Core.Lvs;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class LvsRendererTests
{
    private const string Pg2Mac = "00:0C:29:4D:B3:39";

    [Fact]
    public void Mangle_rule_marks_read_vip_packets_not_from_the_peer()
    {
        var c = Sample.Cluster();
        Assert.Equal(
            ["iptables", "-w", "-t", "mangle", "-I", "PREROUTING", "-d", "198.18.4.52/32", "-p", "tcp", "-m", "tcp", "--dport", "5432",
             "-m", "mac", "!", "--mac-source", "00:0c:29:4d:b3:39", "-j", "MARK", "--set-mark", "0x1"],
            LvsRenderer.MangleInsertArgs(c, c.Node1, Pg2Mac));
        Assert.Equal("0x2", LvsRenderer.MangleInsertArgs(c, c.Node2, "00:0c:29:f5:0b:80")[^1]);
        Assert.Equal("-C", LvsRenderer.MangleCheckArgs(c, c.Node1, Pg2Mac)[4]);
        Assert.Equal("-D", LvsRenderer.MangleDeleteArgs(c, c.Node1, Pg2Mac)[4]);
        Assert.Equal(1, LvsRenderer.FwMark(c, c.Node1));
        Assert.Equal(2, LvsRenderer.FwMark(c, c.Node2));
    }

    [Theory]
    [InlineData("00:0c:29:4d:b3")]
    [InlineData("00:0c:29:4d:b3:zz")]
    [InlineData("00:0c:29:4d:b3:39 -j ACCEPT")]
    [InlineData("")]
    public void Bad_mac_is_refused(string mac)
    {
        var c = Sample.Cluster();
        Assert.Throws<ArgumentException>(() => LvsRenderer.MangleInsertArgs(c, c.Node1, mac));
    }

    private static string Script()
    {
        var c = Sample.Cluster();
        return LvsRenderer.RenderRealServerScript(c, c.Node1, Pg2Mac);
    }

    [Fact]
    public void Realserver_script_names_its_variables_after_what_they_hold()
    {
        var script = Script();
        Assert.Contains("WRITE_VIP=198.18.4.51\n", script, StringComparison.Ordinal);
        Assert.Contains("READ_VIP=198.18.4.52\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain("RVIP", script, StringComparison.Ordinal);
        Assert.DoesNotContain("isLo", script, StringComparison.Ordinal);
    }

    /// <summary>Runs the script with stand-in <c>ip</c> and <c>sysctl</c> that record what they are asked and keep lo's addresses in a file.</summary>
    private static async Task<(int Exit, string Output, string Calls)> RunAsync(DirectoryInfo dir, string script, string action)
    {
        var result = await Tool.RunAsync("sh", [script, action], new Dictionary<string, string>
        {
            ["PATH"] = dir.FullName + ":/usr/bin:/bin",
            ["FAKE_DIR"] = dir.FullName,
        });
        var calls = Path.Combine(dir.FullName, "calls");
        return (result.ExitCode, result.Output, File.Exists(calls) ? File.ReadAllText(calls) : "");
    }

    [Fact]
    public async Task Realserver_script_start_status_stop_against_stand_in_tools()
    {
        var dir = Tool.TempDir();
        try
        {
            Tool.WriteExecutable(dir, "ip", """
                #!/bin/sh
                echo "ip $*" >>"$FAKE_DIR/calls"
                touch "$FAKE_DIR/lo"
                case "$*" in
                "-o -4 addr show dev lo")
                    echo "1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever"
                    while read -r a; do echo "1: lo    inet $a scope global lo:x\       valid_lft forever preferred_lft forever"; done <"$FAKE_DIR/lo" ;;
                "addr add "*) echo "$3" >>"$FAKE_DIR/lo" ;;
                "addr del "*) grep -vxF "$3" "$FAKE_DIR/lo" >"$FAKE_DIR/lo.new"; mv "$FAKE_DIR/lo.new" "$FAKE_DIR/lo" ;;
                esac
                exit 0

                """);
            Tool.WriteExecutable(dir, "sysctl", "#!/bin/sh\necho \"sysctl $*\" >>\"$FAKE_DIR/calls\"\n");
            // iptables keeps the mangle rules (everything after the chain name) one per line in a file.
            Tool.WriteExecutable(dir, "iptables", """
                #!/bin/sh
                echo "iptables $*" >>"$FAKE_DIR/calls"
                touch "$FAKE_DIR/rules"
                op=$4; shift 5; rule="$*"
                case "$op" in
                -C) grep -qxF -- "$rule" "$FAKE_DIR/rules" ;;
                -I) echo "$rule" >>"$FAKE_DIR/rules" ;;
                -D) grep -qxF -- "$rule" "$FAKE_DIR/rules" || exit 1; grep -vxF -- "$rule" "$FAKE_DIR/rules" >"$FAKE_DIR/rules.new"; mv "$FAKE_DIR/rules.new" "$FAKE_DIR/rules" ;;
                esac

                """);
            var script = Path.Combine(dir.FullName, "pghaconsole-realserver");
            File.WriteAllText(script, Script());

            var status0 = await RunAsync(dir, script, "status");
            Assert.Equal(3, status0.Exit);

            var start = await RunAsync(dir, script, "start");
            Assert.Equal(0, start.Exit);
            Assert.Contains("sysctl -q -w net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 net.ipv4.conf.all.arp_announce=2", start.Calls, StringComparison.Ordinal);
            Assert.Contains("ip addr add 198.18.4.51/32 dev lo label lo:0", start.Calls, StringComparison.Ordinal);
            Assert.Contains("ip addr add 198.18.4.52/32 dev lo label lo:1", start.Calls, StringComparison.Ordinal);
            Assert.True(start.Calls.IndexOf("arp_ignore", StringComparison.Ordinal) < start.Calls.IndexOf("addr add", StringComparison.Ordinal));
            Assert.Contains("iptables -w -t mangle -I PREROUTING -d 198.18.4.52/32 -p tcp -m tcp --dport 5432 -m mac ! --mac-source 00:0c:29:4d:b3:39 -j MARK --set-mark 0x1", start.Calls, StringComparison.Ordinal);

            Assert.Equal(0, (await RunAsync(dir, script, "status")).Exit);

            // Idempotent: a second start adds nothing.
            var again = await RunAsync(dir, script, "start");
            Assert.Equal(0, again.Exit);
            Assert.Equal(2, again.Calls.Split('\n').Count(l => l.StartsWith("ip addr add", StringComparison.Ordinal)));
            Assert.Equal(1, again.Calls.Split('\n').Count(l => l.StartsWith("iptables -w -t mangle -I", StringComparison.Ordinal)));

            // A lost mangle rule (iptables flushed, host restarted) makes status fail and start restores it.
            File.WriteAllText(Path.Combine(dir.FullName, "rules"), string.Empty);
            Assert.Equal(3, (await RunAsync(dir, script, "status")).Exit);
            Assert.Equal(0, (await RunAsync(dir, script, "start")).Exit);
            Assert.Equal(0, (await RunAsync(dir, script, "status")).Exit);

            var stop = await RunAsync(dir, script, "stop");
            Assert.Equal(0, stop.Exit);
            Assert.Contains("ip addr del 198.18.4.51/32 dev lo", stop.Calls, StringComparison.Ordinal);
            Assert.Contains("ip addr del 198.18.4.52/32 dev lo", stop.Calls, StringComparison.Ordinal);
            Assert.Contains("net.ipv4.conf.all.arp_ignore=0", stop.Calls, StringComparison.Ordinal);
            Assert.Contains("iptables -w -t mangle -D PREROUTING", stop.Calls, StringComparison.Ordinal);
            Assert.Equal(string.Empty, File.ReadAllText(Path.Combine(dir.FullName, "rules")).Trim());
            Assert.Equal(3, (await RunAsync(dir, script, "status")).Exit);

            var usage = await RunAsync(dir, script, "restart");
            Assert.Equal(2, usage.Exit);
            Assert.Contains("Usage:", usage.Output, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task Realserver_script_passes_sh_n()
    {
        var result = await Tool.RunAsync("sh", ["-n"], stdin: Script());
        Assert.True(result.ExitCode == 0, result.Output);
    }

    [Fact]
    public void Boot_unit_runs_the_script_before_keepalived_and_postgresql()
    {
        var unit = LvsRenderer.RenderRealServerUnit(Sample.Cluster());
        Assert.Contains("ExecStart=/usr/local/sbin/pghaconsole-realserver start\n", unit, StringComparison.Ordinal);
        Assert.Contains("ExecStop=/usr/local/sbin/pghaconsole-realserver stop\n", unit, StringComparison.Ordinal);
        Assert.Contains("Type=oneshot\nRemainAfterExit=yes\n", unit, StringComparison.Ordinal);
        Assert.Contains("Before=keepalived.service postgresql.service\n", unit, StringComparison.Ordinal);
        Assert.Contains("After=network-online.target\n", unit, StringComparison.Ordinal);
        Assert.Contains("[Install]\nWantedBy=multi-user.target\n", unit, StringComparison.Ordinal);
    }

    [Fact]
    public void Realserver_script_quotes_the_rule_and_differs_per_node()
    {
        var c = Sample.Cluster();
        var s1 = LvsRenderer.RenderRealServerScript(c, c.Node1, Pg2Mac);
        var s2 = LvsRenderer.RenderRealServerScript(c, c.Node2, "00:0c:29:f5:0b:80");
        Assert.Contains("'!'", s1, StringComparison.Ordinal);
        Assert.Contains("--set-mark 0x1", s1, StringComparison.Ordinal);
        Assert.Contains("--set-mark 0x2", s2, StringComparison.Ordinal);
        Assert.Contains("00:0c:29:f5:0b:80", s2, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => LvsRenderer.RenderRealServerScript(c, c.Node1, "00:0c:29:4d:b3:39; reboot"));
    }
}
