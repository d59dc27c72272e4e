using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class RecoveryConfigRendererTests
{
    private const string PassFile = "/data10/.pghaconsole.pgpass";

    [Fact]
    public void Pg11_standby_gets_recovery_conf_written_by_hand()
    {
        var c = Sample.Cluster(11);
        var r = RecoveryConfigRenderer.ForStandby(c, c.Node2);
        var file = Assert.Single(r.Files);
        Assert.Equal("recovery.conf", file.Path);
        Assert.Equal("0600", file.Mode);
        var body = file.Content.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        Assert.Equal(
        [
            "standby_mode = 'on'",
            "primary_conninfo = 'host=198.18.4.11 port=5432 user=repli application_name=pg2 passfile=/data10/.pghaconsole.pgpass connect_timeout=5'",
            "recovery_target_timeline = 'latest'",
        ], body);
        Assert.Empty(r.Settings);
        Assert.Contains("recovery.done", r.FilesToRemove);
    }

    [Fact]
    public void Pg11_primary_gets_a_pre_staged_recovery_done_pointing_at_the_standby()
    {
        var c = Sample.Cluster(11);
        var r = RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1);
        var file = Assert.Single(r.Files);
        Assert.Equal("recovery.done", file.Path);
        Assert.Contains("host=198.18.4.12 ", file.Content, StringComparison.Ordinal);
        Assert.Contains("application_name=pg1", file.Content, StringComparison.Ordinal);
        Assert.Contains("standby_mode = 'on'", file.Content, StringComparison.Ordinal);
        Assert.Contains("recovery.conf", r.FilesToRemove);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void From_12_standby_signal_and_settings_never_recovery_conf_or_standby_mode(int major)
    {
        var c = Sample.Cluster(major);
        foreach (var r in new[] { RecoveryConfigRenderer.ForStandby(c, c.Node2), RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1) })
        {
            Assert.DoesNotContain(r.Files, f => f.Path is "recovery.conf" or "recovery.done");
            Assert.DoesNotContain(r.Files, f => f.Content.Contains("standby_mode", StringComparison.Ordinal));
            Assert.DoesNotContain(r.AutoConfLines, l => l.Contains("standby_mode", StringComparison.Ordinal));
            Assert.Contains("recovery.conf", r.FilesToRemove);
            Assert.Equal(["primary_conninfo", "recovery_target_timeline"], r.Settings.Select(s => s.Name).ToArray());
        }

        var standby = RecoveryConfigRenderer.ForStandby(c, c.Node2);
        var signal = Assert.Single(standby.Files);
        Assert.Equal("standby.signal", signal.Path);
        Assert.Equal("", signal.Content);
        Assert.Equal(
        [
            "primary_conninfo = 'host=198.18.4.11 port=5432 user=repli application_name=pg2 passfile=/data10/.pghaconsole.pgpass connect_timeout=5'",
            "recovery_target_timeline = 'latest'",
        ], standby.AutoConfLines);
        Assert.Equal("ALTER SYSTEM SET recovery_target_timeline = 'latest';", standby.AlterSystemStatements[1]);

        // The primary's counterpart: settings pointing at the standby, and no standby.signal (it would demote it).
        var primary = RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1);
        Assert.Empty(primary.Files);
        Assert.Contains("standby.signal", primary.FilesToRemove);
        Assert.Contains("host=198.18.4.12 ", primary.Settings[0].Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Pg11_never_gets_standby_signal()
    {
        var c = Sample.Cluster(11);
        Assert.DoesNotContain(RecoveryConfigRenderer.ForStandby(c, c.Node2).Files, f => f.Path == "standby.signal");
        Assert.DoesNotContain(RecoveryConfigRenderer.PreStagedForPrimary(c, c.Node1).Files, f => f.Path == "standby.signal");
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(17)]
    public void Never_a_password_in_primary_conninfo(int major)
    {
        var c = Sample.Cluster(major);
        var r = RecoveryConfigRenderer.ForStandby(c, c.Node2, PassFile);
        var all = string.Join('\n', r.Files.Select(f => f.Content).Concat(r.AutoConfLines));
        Assert.DoesNotContain("password=", all, StringComparison.Ordinal);
        Assert.Contains("passfile=" + PassFile, all, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_passfile_is_beside_the_data_directory_not_in_it()
    {
        var c = Sample.Cluster();
        var path = RecoveryConfigRenderer.DefaultPassFile(c.Postgres);
        Assert.Equal("/data10/.pghaconsole.pgpass", path);
        Assert.False(path.StartsWith(c.Postgres.DataDir + "/", StringComparison.Ordinal));
    }

    [Fact]
    public void Passfile_content_covers_both_nodes_for_replication_with_escaping()
    {
        var c = Sample.Cluster();
        var text = RecoveryConfigRenderer.PassFileContent(c, @"p:w\d");
        Assert.Equal(
            "198.18.4.11:5432:replication:repli:p\\:w\\\\d\n198.18.4.12:5432:replication:repli:p\\:w\\\\d\n"
            + "198.18.4.11:5432:postgres:repli:p\\:w\\\\d\n198.18.4.12:5432:postgres:repli:p\\:w\\\\d\n",
            text);
    }
}
