using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class BasebackupProgressParserTests
{
    [Fact]
    public void Verbose_output_into_a_pipe()
    {
        var result = BasebackupProgressParser.Parse(Fixture.Read("basebackup/pg15-verbose-pipe.txt"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var output = result.Value!;
        Assert.True(output.Completed);
        Assert.Equal(6, output.Progress.Count);
        var first = output.Progress[0];
        Assert.Equal(10262, first.DoneKb);
        Assert.Equal(43168, first.TotalKb);
        Assert.Equal(23, first.Percent);
        Assert.Equal(0, first.TablespacesDone);
        Assert.Equal(1, first.TablespacesTotal);
        Assert.Equal("/tmp/pghaparse-bb/base/5/16384", first.CurrentFile);
        Assert.False(first.IsFinished);
        var last = output.Last!;
        Assert.Equal(43179, last.DoneKb);
        Assert.Equal(43179, last.TotalKb);
        Assert.Equal(100, last.Percent);
        Assert.True(last.IsFinished);
        Assert.Null(last.CurrentFile);
        Assert.Equal(1.0, last.Fraction);
        Assert.Equal("/tmp/pghaparse-bb/global/pg_control", output.Progress[4].CurrentFile);
        Assert.Contains("pg_basebackup: write-ahead log start point: 0/4000028 on timeline 1", output.Messages);
    }

    [Fact]
    public void Terminal_output_separated_by_carriage_returns()
    {
        var output = BasebackupProgressParser.Parse(Fixture.Read("basebackup/pg15-progress-tty.txt")).Value!;
        Assert.Equal(6, output.Progress.Count);
        Assert.Equal(20502, output.Progress[1].DoneKb);
        Assert.Equal(47, output.Progress[1].Percent);
        Assert.Equal(41105, output.Progress[3].DoneKb);
        Assert.True(output.Last!.IsFinished);
        Assert.Contains("waiting for checkpoint", output.Messages);
        Assert.False(output.Completed);
    }

    [Fact]
    public void Verbose_terminal_output_with_shortened_file_names()
    {
        var output = BasebackupProgressParser.Parse(Fixture.Read("basebackup/pg15-verbose-tty.txt")).Value!;
        Assert.True(output.Completed);
        Assert.Equal(6, output.Progress.Count);
        Assert.Equal(".../pghaparse-bb2/global/pg_control", output.Progress[4].CurrentFile);
        Assert.Equal(42250, output.Progress[3].DoneKb);
        Assert.Equal(97, output.Progress[3].Percent);
    }

    [Fact]
    public void Tracker_holds_back_a_report_cut_by_the_transport()
    {
        var tracker = new BasebackupProgressTracker();
        Assert.Null(tracker.Feed("10262/4316"));
        var p = tracker.Feed("8 kB (23%), 0/1 tablespace\r21206/43");
        Assert.Equal(10262, p!.DoneKb);
        Assert.Equal(43168, p.TotalKb);
        Assert.Equal(10262, tracker.Feed("168 kB (49%), 0/1 tablespa")!.DoneKb);
        Assert.Equal(21206, tracker.Feed("ce\n")!.DoneKb);
    }

    [Fact]
    public void Tracker_fed_a_real_capture_in_small_chunks_ends_at_the_last_report()
    {
        var text = Fixture.Read("basebackup/pg15-verbose-tty.txt");
        var tracker = new BasebackupProgressTracker();
        var seen = new List<long>();
        for (var i = 0; i < text.Length; i += 7)
        {
            if (tracker.Feed(text.Substring(i, Math.Min(7, text.Length - i))) is { } p && (seen.Count == 0 || seen[^1] != p.DoneKb))
            {
                seen.Add(p.DoneKb);
            }
        }

        Assert.Equal([10262L, 21206L, 30801L, 42250L, 43179L], seen);
        Assert.True(tracker.Latest!.IsFinished);
        Assert.Contains("pg_basebackup: base backup completed", tracker.Messages);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  24577/24577 kB (100%")]
    [InlineData("pg_basebackup: checkpoint completed")]
    [InlineData("x/y kB (1%), 0/1 tablespace")]
    public void Non_progress_lines_are_not_progress(string line) => Assert.Null(BasebackupProgressParser.ParseLine(line));

    [Fact]
    public void Plural_tablespaces_and_leading_spaces()
    {
        var p = BasebackupProgressParser.ParseLine("  24577/98304 kB (25%), 1/3 tablespaces (/srv/ts2/PG_15_202209061/5/1234)")!;
        Assert.Equal(24577, p.DoneKb);
        Assert.Equal(3, p.TablespacesTotal);
        Assert.Equal(0.25, p.Fraction, 3);
        Assert.Equal("/srv/ts2/PG_15_202209061/5/1234", p.CurrentFile);
    }

    [Fact]
    public void An_error_is_reported_with_the_messages()
    {
        var result = BasebackupProgressParser.Parse("pg_basebackup: error: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n");
        Assert.False(result.Succeeded);
        Assert.Contains("Connection refused", result.Errors[0], StringComparison.Ordinal);
        Assert.Empty(result.Value!.Progress);
        Assert.False(result.Value.Completed);
    }

    [Fact]
    public void Empty_output_fails() => Assert.False(BasebackupProgressParser.Parse(string.Empty).Succeeded);
}
