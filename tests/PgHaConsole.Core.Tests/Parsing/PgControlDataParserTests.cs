using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class PgControlDataParserTests
{
    private static PgControlData ParseFixture(string name)
    {
        var result = PgControlDataParser.Parse(Fixture.Read($"pgcontroldata/{name}"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        return result.Value!;
    }

    [Fact]
    public void Running_primary()
    {
        var data = ParseFixture("pg15-in-production.txt");
        Assert.Equal(PgClusterState.InProduction, data.State);
        Assert.Equal("in production", data.StateText);
        Assert.Equal(7712478091101299797UL, data.SystemIdentifier);
        Assert.Equal(Lsn.Parse("0/3302498"), data.LatestCheckpoint);
        Assert.Equal(Lsn.Parse("0/3302418"), data.Redo);
        Assert.Equal(1, data.TimeLineId);
        Assert.Equal(1, data.PrevTimeLineId);
        Assert.True(data.FullPageWrites);
        Assert.Equal(Lsn.Zero, data.MinRecoveryEnd);
        Assert.True(data.WalLogHints);
        Assert.Equal(1, data.DataChecksumVersion);
        Assert.Equal("replica", data.WalLevel);
        Assert.Equal(1300, data.PgControlVersion);
        Assert.True(data.RewindPossible);
        Assert.False(data.IsCleanlyShutDown);
        Assert.Equal("0:725", data.Fields["Latest checkpoint's NextXID"]);
        Assert.Equal("Thu Nov 26 13:54:00 2026", data.Fields["Time of latest checkpoint"]);
        Assert.Equal("0", data.Fields["Latest checkpoint's oldestCommitTsXid"]);
    }

    [Fact]
    public void Fresh_initdb_is_shut_down_with_checksums_but_no_wal_log_hints()
    {
        var data = ParseFixture("pg15-initdb-shutdown.txt");
        Assert.Equal(PgClusterState.ShutDown, data.State);
        Assert.True(data.IsCleanlyShutDown);
        Assert.Equal(Lsn.Parse("0/17529B0"), data.LatestCheckpoint);
        Assert.Equal(data.LatestCheckpoint, data.Redo);
        Assert.False(data.WalLogHints);
        Assert.Equal(1, data.DataChecksumVersion);
        Assert.True(data.RewindPossible);
    }

    [Fact]
    public void Primary_after_fast_stop_has_its_shutdown_checkpoint()
    {
        var data = ParseFixture("pg15-shut-down.txt");
        Assert.Equal(PgClusterState.ShutDown, data.State);
        Assert.Equal(Lsn.Parse("0/8012170"), data.LatestCheckpoint);
        Assert.Equal(Lsn.Parse("0/8012170"), data.Redo);
        Assert.Equal(7712478091101299797UL, data.SystemIdentifier);
    }

    [Fact]
    public void Running_standby_is_in_archive_recovery_with_a_min_recovery_point()
    {
        var data = ParseFixture("pg15-in-archive-recovery.txt");
        Assert.Equal(PgClusterState.InArchiveRecovery, data.State);
        Assert.Equal(Lsn.Parse("0/4000060"), data.LatestCheckpoint);
        Assert.Equal(Lsn.Parse("0/4000028"), data.Redo);
        Assert.Equal(Lsn.Parse("0/5000000"), data.MinRecoveryEnd);
        Assert.Equal(1, data.MinRecoveryEndTimeLineId);
    }

    [Fact]
    public void Stopped_standby_is_shut_down_in_recovery()
    {
        var data = ParseFixture("pg15-shut-down-in-recovery.txt");
        Assert.Equal(PgClusterState.ShutDownInRecovery, data.State);
        Assert.True(data.IsCleanlyShutDown);
        Assert.Equal(Lsn.Parse("0/5000000"), data.MinRecoveryEnd);
    }

    [Fact]
    public void Promoted_standby_is_on_timeline_two()
    {
        var data = ParseFixture("pg15-promoted-timeline2.txt");
        Assert.Equal(PgClusterState.InProduction, data.State);
        Assert.Equal(2, data.TimeLineId);
        Assert.Equal(2, data.PrevTimeLineId);
        Assert.Equal(Lsn.Parse("0/5004620"), data.LatestCheckpoint);
        Assert.Equal(Lsn.Parse("0/50045E8"), data.Redo);
        // Same cluster as the primary it was cloned from.
        Assert.Equal(7712478091101299797UL, data.SystemIdentifier);
    }

    [Theory]
    [InlineData("starting up", PgClusterState.StartingUp)]
    [InlineData("shutting down", PgClusterState.ShuttingDown)]
    [InlineData("in crash recovery", PgClusterState.InCrashRecovery)]
    [InlineData("unrecognized status code", PgClusterState.Unknown)]
    public void Other_cluster_states(string text, PgClusterState expected) =>
        Assert.Equal(expected, PgControlDataParser.ParseState(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("pg_controldata: error: could not open file \"/x/global/pg_control\" for reading: No such file or directory\n")]
    [InlineData("something else entirely")]
    public void Errors_and_foreign_text_fail_without_throwing(string? text)
    {
        var result = PgControlDataParser.Parse(text);
        Assert.False(result.Succeeded);
        Assert.Null(result.Value);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Missing_error_text_is_kept_as_the_error()
    {
        var result = PgControlDataParser.Parse("pg_controldata: error: could not open file \"/x/global/pg_control\" for reading: No such file or directory\n");
        Assert.StartsWith("pg_controldata: error: could not open file", result.Errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Garbled_values_become_null_not_exceptions()
    {
        var result = PgControlDataParser.Parse("Database cluster state: in production\nLatest checkpoint location: 0/ZZ\nLatest checkpoint's TimeLineID: one\nnonsense line\n");
        Assert.True(result.Succeeded);
        Assert.Single(result.Warnings);
        Assert.Null(result.Value!.LatestCheckpoint);
        Assert.Null(result.Value.TimeLineId);
        Assert.Null(result.Value.WalLogHints);
        Assert.False(result.Value.RewindPossible);
    }
}
