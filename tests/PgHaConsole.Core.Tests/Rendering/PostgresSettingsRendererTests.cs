using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class PostgresSettingsRendererTests
{
    private static Dictionary<string, string> Map(int major, PostgresSettingsOptions? o = null)
    {
        var c = Sample.Cluster(major);
        return PostgresSettingsRenderer.Settings(c, c.Node1, o).ToDictionary(s => s.Name, s => s.Value);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Up_to_12_wal_keep_segments(int major)
    {
        var m = Map(major);
        Assert.Equal("256", m["wal_keep_segments"]);
        Assert.False(m.ContainsKey("wal_keep_size"));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    public void From_13_wal_keep_size_and_never_wal_keep_segments(int major)
    {
        var m = Map(major);
        Assert.Equal("4096MB", m["wal_keep_size"]);
        Assert.False(m.ContainsKey("wal_keep_segments"));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void Replication_settings_of_the_runbook_and_nothing_recovery_related(int major)
    {
        var m = Map(major);
        Assert.Equal("replica", m["wal_level"]);
        Assert.Equal("10", m["max_wal_senders"]);
        Assert.Equal("5s", m["wal_sender_timeout"]);
        Assert.Equal("5s", m["wal_receiver_timeout"]);
        Assert.Equal("on", m["full_page_writes"]);
        Assert.Equal("on", m["wal_log_hints"]);
        Assert.Equal("on", m["hot_standby"]);
        Assert.Equal("5432", m["port"]);
        Assert.Equal("198.18.4.11,localhost", m["listen_addresses"]);
        foreach (var key in new[] { "standby_mode", "primary_conninfo", "recovery_target_timeline", "restore_command" })
        {
            Assert.False(m.ContainsKey(key), key);
        }
    }

    [Fact]
    public void Listen_addresses_never_star()
    {
        var c = Sample.Cluster();
        foreach (var node in c.Nodes)
        {
            var listen = PostgresSettingsRenderer.Settings(c, node).Single(s => s.Name == "listen_addresses").Value;
            Assert.DoesNotContain("*", listen, StringComparison.Ordinal);
            Assert.StartsWith(node.Address + ",", listen, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(300, null, "300")]
    [InlineData(300, 1000, "1000")]
    [InlineData(300, 100, "300")]
    public void Max_connections_is_never_below_the_primary(int primary, int? configured, string expected) =>
        Assert.Equal(expected, Map(15, new PostgresSettingsOptions { PrimaryMaxConnections = primary, MaxConnections = configured })["max_connections"]);

    [Fact]
    public void Hot_standby_feedback_is_optional()
    {
        Assert.Equal("off", Map(15)["hot_standby_feedback"]);
        Assert.Equal("on", Map(15, new PostgresSettingsOptions { HotStandbyFeedback = true })["hot_standby_feedback"]);
    }

    [Fact]
    public void Alter_system_statements_quote_strings_and_leave_numbers_bare()
    {
        var c = Sample.Cluster(13);
        var sql = PostgresSettingsRenderer.RenderAlterSystem(PostgresSettingsRenderer.Settings(c, c.Node2));
        Assert.Contains("ALTER SYSTEM SET listen_addresses = '198.18.4.12,localhost';", sql);
        Assert.Contains("ALTER SYSTEM SET max_connections = 100;", sql);
        Assert.Contains("ALTER SYSTEM SET wal_level = replica;", sql);
        Assert.Contains("ALTER SYSTEM SET wal_keep_size = '4096MB';", sql);
        Assert.Contains("ALTER SYSTEM SET wal_sender_timeout = '5s';", sql);
        Assert.Contains("ALTER SYSTEM SET wal_log_hints = on;", sql);
    }

    [Fact]
    public void Include_file_for_13_written_by_hand()
    {
        var c = Sample.Cluster(13);
        var text = PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, c.Node1), 13);
        var body = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal(
        [
            "listen_addresses = '198.18.4.11,localhost'\t# (restart)",
            "port = 5432\t# (restart)",
            "max_connections = 100\t# (restart)",
            "wal_level = replica\t# (restart)",
            "max_wal_senders = 10\t# (restart)",
            "wal_keep_size = '4096MB'",
            "wal_sender_timeout = '5s'",
            "wal_receiver_timeout = '5s'",
            "full_page_writes = on",
            "wal_log_hints = on\t# (restart)",
            "hot_standby = on\t# (restart)",
            "hot_standby_feedback = off",
        ], body);
        Assert.StartsWith("# pghaconsole.conf - managed by PgHaConsole", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wal_level", 11, true)]
    [InlineData("max_connections", 17, true)]
    [InlineData("max_wal_senders", 13, true)]
    [InlineData("wal_log_hints", 12, true)]
    [InlineData("listen_addresses", 15, true)]
    [InlineData("port", 15, true)]
    [InlineData("hot_standby", 15, true)]
    [InlineData("wal_keep_size", 13, false)]
    [InlineData("wal_keep_segments", 11, false)]
    [InlineData("wal_sender_timeout", 15, false)]
    [InlineData("wal_receiver_timeout", 11, false)]
    [InlineData("full_page_writes", 15, false)]
    [InlineData("hot_standby_feedback", 15, false)]
    [InlineData("primary_conninfo", 12, true)]
    [InlineData("primary_conninfo", 13, false)]
    [InlineData("recovery_target_timeline", 17, true)]
    [InlineData("some_unknown_setting", 15, true)]
    public void Restart_requirements_per_version(string name, int major, bool restart) =>
        Assert.Equal(restart, PostgresSettingsRenderer.RequiresRestart(name, major));

    [Fact]
    public void Unsupported_version_is_refused()
    {
        var c = Sample.Cluster() with { Postgres = Sample.Cluster().Postgres with { MajorVersion = 10 } };
        Assert.Throws<ArgumentOutOfRangeException>(() => PostgresSettingsRenderer.Settings(c, c.Node1));
    }

    [Fact]
    public async Task The_local_postgres_reads_the_include_file_and_auto_conf_lines_back()
    {
        // postgres -C parses the configuration files without starting a server: the rendered text is read back by
        // the real parser, hostile string included.
        var postgres = Directory.GetFiles("/usr/lib/postgresql", "postgres", SearchOption.AllDirectories).Order().Last();
        var major = int.Parse(postgres.Split('/')[4], System.Globalization.CultureInfo.InvariantCulture);
        var c = Sample.Cluster(major);
        var dir = Tool.TempDir();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "conf.d"));
            var settings = PostgresSettingsRenderer.Settings(c, c.Node1, new PostgresSettingsOptions { PrimaryMaxConnections = 300 }).ToList();
            var hostile = @"it's a \ test; $(id) ""x""";
            settings.Add(GucSetting.Text("cluster_name", hostile));
            File.WriteAllText(Path.Combine(dir.FullName, PostgresSettingsRenderer.IncludeFileRelativePath), PostgresSettingsRenderer.RenderIncludeFile(settings, major));
            File.WriteAllText(Path.Combine(dir.FullName, "postgresql.conf"), "# base\n" + PostgresSettingsRenderer.IncludeDirective() + "\n");
            var standby = RecoveryConfigRenderer.ForStandby(c, c.Node2);
            File.WriteAllText(Path.Combine(dir.FullName, "postgresql.auto.conf"), string.Join('\n', standby.AutoConfLines) + "\n");
            await Tool.RunAsync("chown", ["-R", "postgres", dir.FullName]);

            async Task<string> Show(string name) =>
                (await Tool.RunAsync("runuser", ["-u", "postgres", "--", postgres, "-D", dir.FullName, "-C", name])).Output.Split('\n')[0];

            Assert.Equal(hostile, await Show("cluster_name"));
            Assert.Equal("198.18.4.11,localhost", await Show("listen_addresses"));
            Assert.Equal("300", await Show("max_connections"));
            Assert.Equal("replica", await Show("wal_level"));
            Assert.Equal("on", await Show("wal_log_hints"));
            Assert.Equal(standby.Settings[0].Value, await Show("primary_conninfo"));
            Assert.Equal("latest", await Show("recovery_target_timeline"));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Lvs_dr_listens_on_every_address_because_dr_delivers_to_the_vips()
    {
        var c = Sample.Cluster(balancer: BalancerMode.LvsDr);
        foreach (var node in c.Nodes)
        {
            Assert.Equal("*", PostgresSettingsRenderer.Settings(c, node).Single(s => s.Name == "listen_addresses").Value);
        }

        var haproxy = Sample.Cluster(balancer: BalancerMode.Haproxy);
        Assert.Equal("198.18.4.11,localhost", PostgresSettingsRenderer.Settings(haproxy, haproxy.Node1).Single(s => s.Name == "listen_addresses").Value);
    }
}
