using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The console's recovery include file (<c>conf.d/pghaconsole-recovery.conf</c>, PostgreSQL 12+) and the include lines
/// appended to postgresql.conf, written by hand. Facts from the PostgreSQL documentation: from 12 primary_conninfo and
/// recovery_target_timeline are ordinary configuration parameters (12 release notes: recovery.conf settings moved into
/// postgresql.conf, standby_mode removed); <c>include_if_exists</c> behaves like include but a missing file is only
/// logged (postgresql.conf docs, "Managing Configuration File Contents"), and a relative path is taken relative to the
/// directory of the including file.
/// </summary>
public sealed class PostgresConfFilesTests
{
    private const string Settings = "include_if_exists = 'conf.d/pghaconsole.conf'";
    private const string Recovery = "include_if_exists = 'conf.d/pghaconsole-recovery.conf'";
    private const string Comment = "# Added by PgHaConsole: the console's settings and replication source (conf.d/).";

    private static ClusterSpec Lab(int major) => new()
    {
        Name = "lab",
        Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.247" },
        Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.248" },
        WriteVip = "198.18.4.251",
        ReadVip = "198.18.4.252",
        Postgres = new PostgresSettings { MajorVersion = major, BinDir = $"/usr/lib/postgresql/{major}/bin", DataDir = "/data10/pgdata" },
    };

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void Recovery_include_for_the_standby_written_by_hand(int major)
    {
        var c = Lab(major);
        Assert.Equal(
            "# pghaconsole-recovery.conf - managed by PgHaConsole for pg2\n" +
            "# Where this node streams from when it runs as a standby (standby.signal present). Inert on a primary.\n" +
            "# The replication password is read from the passfile, never written here.\n" +
            "primary_conninfo = 'host=198.18.4.247 port=5432 user=repli application_name=pg2 passfile=/data10/.pghaconsole.pgpass connect_timeout=5'\n" +
            "recovery_target_timeline = 'latest'\n",
            PostgresConfFiles.RecoveryContent(RecoveryConfigRenderer.ForStandby(c, c.Node2), "pg2"));
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void Recovery_include_pre_staged_on_the_primary_points_at_the_standby(int major)
    {
        var c = Lab(major);
        var text = PostgresConfFiles.RecoveryContent(RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1), "pg1");
        var body = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal(
        [
            "primary_conninfo = 'host=198.18.4.248 port=5432 user=repli application_name=pg1 passfile=/data10/.pghaconsole.pgpass connect_timeout=5'",
            "recovery_target_timeline = 'latest'",
        ], body);
        Assert.StartsWith("# pghaconsole-recovery.conf - managed by PgHaConsole for pg1\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void Recovery_include_never_has_standby_mode_wal_keep_segments_or_a_password(int major)
    {
        var c = Lab(major);
        foreach (var config in new[] { RecoveryConfigRenderer.ForStandby(c, c.Node2), RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1) })
        {
            var text = PostgresConfFiles.RecoveryContent(config, "node");
            Assert.DoesNotContain("standby_mode", text, StringComparison.Ordinal);
            Assert.DoesNotContain("wal_keep_segments", text, StringComparison.Ordinal);
            Assert.DoesNotContain("password=", text, StringComparison.Ordinal);
            if (major == 11)
            {
                // 11 reads these only from recovery.conf; in postgresql.conf they would stop the server. The step
                // writes no recovery include for 11 (no settings), and the content would hold no setting anyway.
                Assert.Empty(config.Settings);
                Assert.DoesNotContain(text.Split('\n'), l => l.Length > 0 && !l.StartsWith('#'));
            }
        }
    }

    [Fact]
    public void Directives_are_appended_with_a_comment()
    {
        Assert.Equal(
            "listen_addresses = '*'\n" +
            "\n" + Comment + "\n" +
            Settings + "\n" +
            Recovery + "\n",
            PostgresConfFiles.WithDirectives("listen_addresses = '*'\n"));
    }

    [Fact]
    public void A_last_line_without_newline_gets_one_first()
    {
        Assert.Equal(
            "port = 5432\n\n" + Comment + "\n" + Settings + "\n" + Recovery + "\n",
            PostgresConfFiles.WithDirectives("port = 5432"));
    }

    [Fact]
    public void Empty_file()
    {
        Assert.Equal("\n" + Comment + "\n" + Settings + "\n" + Recovery + "\n", PostgresConfFiles.WithDirectives(""));
    }

    [Fact]
    public void Idempotent()
    {
        var once = PostgresConfFiles.WithDirectives("# base\nport = 5432\n");
        Assert.Equal(once, PostgresConfFiles.WithDirectives(once));
    }

    [Fact]
    public void Directives_already_present_are_not_repeated()
    {
        // Indented or not, both present: unchanged.
        var both = "port = 5432\n  " + Settings + "\n" + Recovery + "\t\n";
        Assert.Same(both, PostgresConfFiles.WithDirectives(both));

        // Only the settings line present: only the recovery line is added.
        var one = "port = 5432\n" + Settings + "\n";
        Assert.Equal(one + "\n" + Comment + "\n" + Recovery + "\n", PostgresConfFiles.WithDirectives(one));
    }

    [Fact]
    public void A_commented_out_directive_does_not_count()
    {
        var current = "#" + Settings + "\n# " + Recovery + "\n";
        Assert.Equal(current + "\n" + Comment + "\n" + Settings + "\n" + Recovery + "\n", PostgresConfFiles.WithDirectives(current));
    }

    [Fact]
    public void The_directives_name_the_files_the_console_writes()
    {
        Assert.Equal(Settings, PostgresSettingsRenderer.IncludeDirective());
        Assert.Equal(Recovery, PostgresConfFiles.RecoveryIncludeDirective);
        Assert.Equal("/etc/postgresql/17/main/conf.d/pghaconsole.conf", PostgresConfFiles.SettingsPath("/etc/postgresql/17/main/postgresql.conf"));
        Assert.Equal("/data10/pgdata/conf.d/pghaconsole-recovery.conf", PostgresConfFiles.RecoveryPath("/data10/pgdata/postgresql.conf"));
    }
}
