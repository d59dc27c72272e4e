using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

/// <summary>
/// Every file the setup wizard generates for PostgreSQL, rendered for 11, 12, 13 and 17 on the lab's pair, compared
/// with text written by hand from the PostgreSQL documentation. The facts each expectation rests on:
/// <list type="bullet">
/// <item>[PG11-RECOVERY] PostgreSQL 11 docs, "Recovery Configuration" (chapter 27): a standby is configured by
/// <c>recovery.conf</c> in the data directory with <c>standby_mode = 'on'</c>, <c>primary_conninfo</c> and
/// <c>recovery_target_timeline</c>; these are not postgresql.conf parameters in 11 (an unknown parameter there stops the
/// server from starting); at the end of recovery the file is renamed <c>recovery.done</c>. 11 knows no standby.signal.</item>
/// <item>[PG12-SIGNAL] PostgreSQL 12 release notes, "Move recovery.conf settings into postgresql.conf": recovery.conf
/// is no longer used and the server refuses to start if it exists; <c>standby.signal</c> (or recovery.signal) switches
/// into non-primary mode; <c>standby_mode</c> has been removed.</item>
/// <item>[PG13-WALKEEP] PostgreSQL 13 release notes: <c>wal_keep_segments</c> renamed to <c>wal_keep_size</c>,
/// specified in megabytes rather than a number of files (256 segments x 16 MB default segment size = 4096MB).
/// 12 does not know wal_keep_size; 13+ do not know wal_keep_segments.</item>
/// <item>[WAL-LEVEL] postgresql.conf docs, wal_level: since 9.6 the values archive and hot_standby are still accepted
/// but mapped to <c>replica</c>; the console writes the canonical name.</item>
/// <item>[TIMELINE] recovery_target_timeline <c>'latest'</c> follows the newest timeline, i.e. a standby keeps
/// following its peer after a promotion (the default from 12; 11's default was the current timeline).</item>
/// <item>[CONNINFO] libpq docs: <c>passfile</c> names the password file (format
/// <c>hostname:port:database:username:password</c>, database <c>replication</c> for physical replication, see the
/// high-availability chapter's "Authentication"); <c>application_name</c> is what the primary shows in
/// pg_stat_replication (and what synchronous_standby_names matches).</item>
/// <item>[RESTART] pg_settings context postmaster (listen_addresses, port, max_connections, wal_level, max_wal_senders,
/// wal_log_hints, hot_standby) needs a restart; wal_keep_*, wal_sender_timeout, full_page_writes and
/// hot_standby_feedback are sighup (reload).</item>
/// </list>
/// </summary>
public sealed class VersionMatrixTests
{
    private const string PassFile = "/data10/.pghaconsole.pgpass";
    private const string ReplicationPassword = "Repl1cation-S3cret!";

    public static readonly TheoryData<int> Majors = new() { 11, 12, 13, 17 };

    /// <summary>The lab's pair: pg1 198.18.4.247 (initial primary), pg2 198.18.4.248, /data10/pgdata, 5432, repli.</summary>
    private static ClusterSpec Lab(int major)
    {
        var c = Sample.Cluster(major);
        return c with
        {
            Node1 = c.Node1 with { Name = "pg1", Address = "198.18.4.247" },
            Node2 = c.Node2 with { Name = "pg2", Address = "198.18.4.248" },
            Postgres = c.Postgres with { DataDir = "/data10/pgdata", Port = 5432, ReplicationUser = "repli" },
        };
    }

    /// <summary>One generated file by a name for messages: path and text as they would land on the host.</summary>
    private sealed record Rendered(string What, string Path, string Text);

    /// <summary>Everything generated for one major version, both nodes (the standby is pg2, the primary pg1).</summary>
    private static List<Rendered> RenderAll(int major)
    {
        var c = Lab(major);
        var all = new List<Rendered>();
        foreach (var node in c.Nodes)
        {
            var text = PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, node), major);
            all.Add(new Rendered($"include file of {node.Name}", PostgresSettingsRenderer.IncludeFileRelativePath, text));
        }

        foreach (var (what, config) in new[]
                 {
                     ("standby pg2", RecoveryConfigRenderer.ForStandby(c, c.Node2)),
                     ("pre-staged primary pg1", RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1)),
                 })
        {
            all.AddRange(config.Files.Select(f => new Rendered($"{what}: {f.Path}", f.Path, f.Content)));
            if (config.Settings.Count > 0)
            {
                all.Add(new Rendered($"{what}: settings", "(postgresql.auto.conf / conf.d)", string.Join('\n', config.AutoConfLines) + "\n"));
                all.Add(new Rendered($"{what}: ALTER SYSTEM", "(sql)", string.Join('\n', config.AlterSystemStatements) + "\n"));
            }
        }

        return all;
    }

    private static string Header(int major) =>
        $"# pghaconsole.conf - managed by PgHaConsole for PostgreSQL {major}\n" +
        "# Written by the setup wizard; local edits are overwritten on the next run.\n" +
        "# Read through: include_if_exists = 'conf.d/pghaconsole.conf'\n" +
        "# Settings marked (restart) take effect only after a restart.\n" +
        "\n";

    private static string ConninfoTo(string host, string applicationName) =>
        $"host={host} port=5432 user=repli application_name={applicationName} passfile={PassFile} connect_timeout=5";

    // ---------------------------------------------------------------------------------------------------------------
    // Full-text expectations: 11 and 17.
    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("pg1", "198.18.4.247")]
    [InlineData("pg2", "198.18.4.248")]
    public void Pg11_include_file_full_text(string nodeName, string address)
    {
        var c = Lab(11);
        var node = c.Nodes.Single(n => n.Name == nodeName);
        // [PG13-WALKEEP] 11 keeps WAL by segment count; [WAL-LEVEL] replica; [RESTART] marks; [PG11-RECOVERY] nothing
        // recovery-related in postgresql.conf.
        var expected = Header(11) +
            $"listen_addresses = '{address},localhost'\t# (restart)\n" +
            "port = 5432\t# (restart)\n" +
            "max_connections = 100\t# (restart)\n" +
            "wal_level = replica\t# (restart)\n" +
            "max_wal_senders = 10\t# (restart)\n" +
            "wal_keep_segments = 256\n" +
            "wal_sender_timeout = '5s'\n" +
            "wal_receiver_timeout = '5s'\n" +
            "full_page_writes = on\n" +
            "wal_log_hints = on\t# (restart)\n" +
            "hot_standby = on\t# (restart)\n" +
            "hot_standby_feedback = off\n";
        Assert.Equal(expected, PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, node), 11));
    }

    [Theory]
    [InlineData("pg1", "198.18.4.247")]
    [InlineData("pg2", "198.18.4.248")]
    public void Pg17_include_file_full_text(string nodeName, string address)
    {
        var c = Lab(17);
        var node = c.Nodes.Single(n => n.Name == nodeName);
        // [PG13-WALKEEP] wal_keep_size = 256 x 16MB, a string with a unit.
        var expected = Header(17) +
            $"listen_addresses = '{address},localhost'\t# (restart)\n" +
            "port = 5432\t# (restart)\n" +
            "max_connections = 100\t# (restart)\n" +
            "wal_level = replica\t# (restart)\n" +
            "max_wal_senders = 10\t# (restart)\n" +
            "wal_keep_size = '4096MB'\n" +
            "wal_sender_timeout = '5s'\n" +
            "wal_receiver_timeout = '5s'\n" +
            "full_page_writes = on\n" +
            "wal_log_hints = on\t# (restart)\n" +
            "hot_standby = on\t# (restart)\n" +
            "hot_standby_feedback = off\n";
        Assert.Equal(expected, PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, node), 17));
    }

    [Fact]
    public void Pg11_standby_recovery_conf_full_text()
    {
        var c = Lab(11);
        var r = RecoveryConfigRenderer.ForStandby(c, c.Node2);

        // [PG11-RECOVERY] recovery.conf, standby_mode on, streaming from pg1; [TIMELINE]; [CONNINFO] passfile, no password.
        var file = Assert.Single(r.Files);
        Assert.Equal("recovery.conf", file.Path);
        Assert.Equal("0600", file.Mode);
        Assert.Equal(
            "# recovery.conf for pg2 as standby - managed by PgHaConsole\n" +
            "# The replication password is read from the passfile, never written here.\n" +
            "standby_mode = 'on'\n" +
            $"primary_conninfo = '{ConninfoTo("198.18.4.247", "pg2")}'\n" +
            "recovery_target_timeline = 'latest'\n",
            file.Content);

        // [PG11-RECOVERY] none of these are postgresql.conf parameters in 11: nothing for ALTER SYSTEM.
        Assert.Empty(r.Settings);
        // A recovery.done left over would be renamed over later: it goes.
        Assert.Equal(["recovery.done"], r.FilesToRemove);
    }

    [Fact]
    public void Pg11_primary_pre_staged_recovery_done_full_text()
    {
        var c = Lab(11);
        var r = RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1);

        // [PG11-RECOVERY] recovery.done is inert (only recovery.conf is read); renaming it demotes pg1 to follow pg2.
        var file = Assert.Single(r.Files);
        Assert.Equal("recovery.done", file.Path);
        Assert.Equal("0600", file.Mode);
        Assert.Equal(
            "# recovery.conf for pg1 as primary (pre-staged: rename to recovery.conf to demote) - managed by PgHaConsole\n" +
            "# The replication password is read from the passfile, never written here.\n" +
            "standby_mode = 'on'\n" +
            $"primary_conninfo = '{ConninfoTo("198.18.4.248", "pg1")}'\n" +
            "recovery_target_timeline = 'latest'\n",
            file.Content);
        Assert.Empty(r.Settings);
        // A recovery.conf on the primary would make it a standby at its next start.
        Assert.Equal(["recovery.conf"], r.FilesToRemove);
    }

    [Fact]
    public void Pg17_standby_full_expectation()
    {
        var c = Lab(17);
        var r = RecoveryConfigRenderer.ForStandby(c, c.Node2);

        // [PG12-SIGNAL] an empty standby.signal and no recovery.conf.
        var signal = Assert.Single(r.Files);
        Assert.Equal(new GeneratedFile("standby.signal", "", "0600"), signal);

        // [PG12-SIGNAL] primary_conninfo and recovery_target_timeline are ordinary parameters; [TIMELINE]; [CONNINFO].
        Assert.Equal(
        [
            $"primary_conninfo = '{ConninfoTo("198.18.4.247", "pg2")}'",
            "recovery_target_timeline = 'latest'",
        ], r.AutoConfLines);
        Assert.Equal(
        [
            $"ALTER SYSTEM SET primary_conninfo = '{ConninfoTo("198.18.4.247", "pg2")}';",
            "ALTER SYSTEM SET recovery_target_timeline = 'latest';",
        ], r.AlterSystemStatements);

        // [PG12-SIGNAL] the server refuses to start while a recovery.conf exists.
        Assert.Equal(["recovery.conf", "recovery.done"], r.FilesToRemove);
    }

    [Fact]
    public void Pg17_primary_pre_staged_full_expectation()
    {
        var c = Lab(17);
        var r = RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1);

        // [PG12-SIGNAL] without standby.signal the settings are inert on a primary; a standby.signal would demote it.
        Assert.Empty(r.Files);
        Assert.Equal(
        [
            $"primary_conninfo = '{ConninfoTo("198.18.4.248", "pg1")}'",
            "recovery_target_timeline = 'latest'",
        ], r.AutoConfLines);
        Assert.Equal(["standby.signal", "recovery.conf"], r.FilesToRemove);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 12 and 13: the lines that tell them apart.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Per version: the WAL-keeping line that must be in the include file and the one that must not.</summary>
    public static readonly TheoryData<int, string, string> WalKeepLines = new()
    {
        // [PG13-WALKEEP]
        { 11, "wal_keep_segments = 256", "wal_keep_size" },
        { 12, "wal_keep_segments = 256", "wal_keep_size" },
        { 13, "wal_keep_size = '4096MB'", "wal_keep_segments" },
        { 17, "wal_keep_size = '4096MB'", "wal_keep_segments" },
    };

    [Theory]
    [MemberData(nameof(WalKeepLines))]
    public void Wal_keep_line_per_version(int major, string present, string absent)
    {
        var c = Lab(major);
        foreach (var node in c.Nodes)
        {
            var lines = PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, node), major).Split('\n');
            Assert.Contains(present, lines);
            Assert.DoesNotContain(lines, l => l.Contains(absent, StringComparison.Ordinal));
            Assert.StartsWith($"# pghaconsole.conf - managed by PgHaConsole for PostgreSQL {major}\n",
                PostgresSettingsRenderer.RenderIncludeFile(PostgresSettingsRenderer.Settings(c, node), major), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    public void Pg12_and_13_recovery_is_standby_signal_plus_settings(int major)
    {
        var c = Lab(major);
        var standby = RecoveryConfigRenderer.ForStandby(c, c.Node2);
        Assert.Equal([new GeneratedFile("standby.signal", "", "0600")], standby.Files);
        Assert.Equal(
        [
            $"primary_conninfo = '{ConninfoTo("198.18.4.247", "pg2")}'",
            "recovery_target_timeline = 'latest'",
        ], standby.AutoConfLines);
        Assert.Equal(["recovery.conf", "recovery.done"], standby.FilesToRemove);

        var primary = RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1);
        Assert.Empty(primary.Files);
        Assert.Equal(
        [
            $"primary_conninfo = '{ConninfoTo("198.18.4.248", "pg1")}'",
            "recovery_target_timeline = 'latest'",
        ], primary.AutoConfLines);
        Assert.Equal(["standby.signal", "recovery.conf"], primary.FilesToRemove);
    }

    [Theory]
    [InlineData(12, true)]
    [InlineData(13, false)]
    [InlineData(17, false)]
    public void Primary_conninfo_needs_a_restart_only_in_12(int major, bool restart) =>
        // PG 12 docs: primary_conninfo "can only be set at server start"; PG 13 docs: "in the postgresql.conf file or on
        // the server command line" (a reload restarts the WAL receiver with the new value).
        Assert.Equal(restart, PostgresSettingsRenderer.RequiresRestart("primary_conninfo", major));

    // ---------------------------------------------------------------------------------------------------------------
    // The issue's three invariants, for every version and every generated file.
    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Majors))]
    public void Invariant_12_and_later_never_get_recovery_conf_or_standby_mode(int major)
    {
        var rendered = RenderAll(major);
        Assert.NotEmpty(rendered);
        foreach (var f in rendered)
        {
            if (major >= 12)
            {
                // [PG12-SIGNAL]
                Assert.False(f.Path == "recovery.conf", $"{major}: {f.What} is a recovery.conf");
                Assert.False(f.Path == "recovery.done", $"{major}: {f.What} is a recovery.done");
                Assert.False(f.Text.Contains("standby_mode", StringComparison.Ordinal), $"{major}: {f.What} mentions standby_mode");
            }
        }

        if (major >= 12)
        {
            var c = Lab(major);
            Assert.Contains("recovery.conf", RecoveryConfigRenderer.ForStandby(c, c.Node2).FilesToRemove);
            Assert.Contains("recovery.conf", RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1).FilesToRemove);
        }
        else
        {
            // The contrast: 11 does get them (and standby_mode), [PG11-RECOVERY].
            Assert.Contains(rendered, f => f.Path == "recovery.conf" && f.Text.Contains("standby_mode = 'on'\n", StringComparison.Ordinal));
            Assert.Contains(rendered, f => f.Path == "recovery.done");
        }
    }

    [Theory]
    [MemberData(nameof(Majors))]
    public void Invariant_13_and_later_never_get_wal_keep_segments(int major)
    {
        var rendered = RenderAll(major);
        foreach (var f in rendered)
        {
            if (major >= 13)
            {
                // [PG13-WALKEEP]
                Assert.False(f.Text.Contains("wal_keep_segments", StringComparison.Ordinal), $"{major}: {f.What} has wal_keep_segments");
            }
            else
            {
                Assert.False(f.Text.Contains("wal_keep_size", StringComparison.Ordinal), $"{major}: {f.What} has wal_keep_size, unknown before 13");
            }
        }

        var c = Lab(major);
        foreach (var node in c.Nodes)
        {
            var names = PostgresSettingsRenderer.Settings(c, node).Select(s => s.Name).ToList();
            Assert.Equal(major >= 13, names.Contains("wal_keep_size"));
            Assert.Equal(major < 13, names.Contains("wal_keep_segments"));
        }
    }

    [Theory]
    [MemberData(nameof(Majors))]
    public void Invariant_11_never_gets_standby_signal(int major)
    {
        var rendered = RenderAll(major);
        if (major == 11)
        {
            foreach (var f in rendered)
            {
                // [PG11-RECOVERY] 11 ignores standby.signal: it would be a file that does nothing and misleads.
                Assert.False(f.Path == "standby.signal", $"11: {f.What} is a standby.signal");
                Assert.False(f.Text.Contains("standby.signal", StringComparison.Ordinal), $"11: {f.What} mentions standby.signal");
            }

            // [PG11-RECOVERY] and no recovery parameter may reach postgresql.conf / ALTER SYSTEM in 11.
            var c = Lab(11);
            Assert.Empty(RecoveryConfigRenderer.ForStandby(c, c.Node2).Settings);
            Assert.Empty(RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1).Settings);
            Assert.DoesNotContain(rendered, f => f.Path == PostgresSettingsRenderer.IncludeFileRelativePath
                && (f.Text.Contains("primary_conninfo", StringComparison.Ordinal) || f.Text.Contains("recovery_target", StringComparison.Ordinal)));
        }
        else
        {
            // The contrast: from 12 the standby gets exactly one file, standby.signal, and the primary none.
            Assert.Single(rendered, f => f.Path == "standby.signal");
        }
    }

    [Theory]
    [MemberData(nameof(Majors))]
    public void Include_files_never_carry_recovery_settings_and_use_canonical_wal_level(int major)
    {
        foreach (var f in RenderAll(major).Where(f => f.Path == PostgresSettingsRenderer.IncludeFileRelativePath))
        {
            var lines = f.Text.Split('\n');
            // [WAL-LEVEL] the canonical name, not the pre-9.6 alias.
            Assert.Contains("wal_level = replica\t# (restart)", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("wal_level = hot_standby", StringComparison.Ordinal));
            foreach (var name in new[] { "standby_mode", "primary_conninfo", "recovery_target_timeline", "restore_command", "promote_trigger_file", "trigger_file" })
            {
                Assert.DoesNotContain(lines, l => l.StartsWith(name, StringComparison.Ordinal));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Secrets and identity in the replication connection.
    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Majors))]
    public void The_replication_password_is_only_in_the_passfile(int major)
    {
        var c = Lab(major);

        // [CONNINFO] the .pgpass is the only place that holds it: one line per node for database "replication"
        // (streaming) and one for "postgres" (pg_rewind's source connection).
        var pgpass = RecoveryConfigRenderer.PassFileContent(c, ReplicationPassword);
        Assert.Equal(
            $"198.18.4.247:5432:replication:repli:{ReplicationPassword}\n" +
            $"198.18.4.248:5432:replication:repli:{ReplicationPassword}\n" +
            $"198.18.4.247:5432:postgres:repli:{ReplicationPassword}\n" +
            $"198.18.4.248:5432:postgres:repli:{ReplicationPassword}\n",
            pgpass);
        Assert.Equal(PassFile, RecoveryConfigRenderer.DefaultPassFile(c.Postgres));

        var conninfos = new[]
        {
            RecoveryConfigRenderer.ConninfoFor(c, c.Node2, c.Node1, PassFile).ToString(),
            RecoveryConfigRenderer.ConninfoFor(c, c.Node1, c.Node2, PassFile).ToString(),
        };
        foreach (var (what, text) in RenderAll(major).Select(f => (f.What, f.Text)).Concat(conninfos.Select(ci => ("conninfo", ci))))
        {
            Assert.False(text.Contains(ReplicationPassword, StringComparison.Ordinal), $"{major}: {what} has the password");
            Assert.False(text.Contains("password=", StringComparison.OrdinalIgnoreCase), $"{major}: {what} has password=");
        }

        foreach (var ci in conninfos)
        {
            Assert.Contains(" passfile=" + PassFile + " ", ci, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Majors))]
    public void Primary_conninfo_names_the_node_itself_and_follows_the_latest_timeline(int major)
    {
        var c = Lab(major);
        foreach (var (node, upstream, config) in new[]
                 {
                     (c.Node2, c.Node1, RecoveryConfigRenderer.ForStandby(c, c.Node2)),
                     (c.Node1, c.Node2, RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1)),
                 })
        {
            // The same lines whether they sit in recovery.conf (11) or are settings (12+).
            var lines = major <= 11
                ? config.Files.Single().Content.Split('\n')
                : [.. config.AutoConfLines];
            var conninfo = Assert.Single(lines, l => l.StartsWith("primary_conninfo = ", StringComparison.Ordinal));
            Assert.Contains("recovery_target_timeline = 'latest'", lines);   // [TIMELINE]

            // [CONNINFO] application_name is the node's own name (how the primary lists it), host is its peer.
            var pairs = conninfo["primary_conninfo = '".Length..^1].Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(node.Name, pairs["application_name"]);
            Assert.Equal(upstream.Address, pairs["host"]);
            Assert.Equal("5432", pairs["port"]);
            Assert.Equal("repli", pairs["user"]);
            Assert.Equal(PassFile, pairs["passfile"]);
            Assert.False(pairs.ContainsKey("password"));
        }
    }
}
