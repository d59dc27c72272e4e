using System.Text.RegularExpressions;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Tests.Parsing;

namespace PgHaConsole.Core.Tests.Postgres;

public sealed partial class RewindDecisionTests
{
    private const string History = "1\t0/3004A80\tno recovery target specified\n";

    private static PgControlData Control(string fixture, string checkpoint, string minRecoveryEnd, int minRecoveryTli)
    {
        var text = Fixture.Read($"pgcontroldata/{fixture}");
        text = Field("Latest checkpoint location").Replace(text, "${k}" + checkpoint);
        text = Field("Minimum recovery ending location").Replace(text, "${k}" + minRecoveryEnd);
        text = Field("Min recovery ending loc's timeline").Replace(text, "${k}" + minRecoveryTli);
        return PgControlDataParser.Parse(text).Value!;
    }

    private static Regex Field(string key) => new($"(?<k>^{Regex.Escape(key)}:\\s*)\\S+", RegexOptions.Multiline);

    [Fact]
    public void A_killed_primary_fenced_as_a_standby_that_replayed_past_the_fork_needs_a_rewind()
    {
        // The lab case: pg1 killed at 0/3004C00, started again with a standby signal (fencing), replayed its own WAL past
        // the switch point 0/3004A80 and stopped: "shut down in recovery", restartpoint still at 0/2000060.
        var control = Control("pg15-shut-down-in-recovery.txt", "0/2000060", "0/3004C00", 1);

        var (needed, reason) = RewindDecision.Decide("pg1", control, 2, History);

        Assert.True(needed, reason);
        Assert.Contains("replayed WAL up to 0/3004C00", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_standby_that_stopped_at_the_switch_point_follows_without_a_rewind()
    {
        var control = Control("pg15-shut-down-in-recovery.txt", "0/2000060", "0/3004A80", 1);

        var (needed, reason) = RewindDecision.Decide("pg2", control, 2, History);

        Assert.False(needed, reason);
    }

    [Fact]
    public void A_primary_shut_down_cleanly_before_the_switch_point_follows_without_a_rewind()
    {
        var control = Control("pg15-shut-down.txt", "0/3004A08", "0/0", 0);

        var (needed, reason) = RewindDecision.Decide("pg1", control, 2, History);

        Assert.False(needed, reason);
        Assert.Contains("stopped at 0/3004A08", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_primary_that_wrote_past_the_switch_point_needs_a_rewind()
    {
        var control = Control("pg15-shut-down.txt", "0/3005000", "0/0", 0);

        Assert.True(RewindDecision.Decide("pg1", control, 2, History).Needed);
    }

    [Fact]
    public void A_crashed_node_is_always_rewound()
    {
        var control = Control("pg15-in-production.txt", "0/2000060", "0/0", 0);

        var (needed, reason) = RewindDecision.Decide("pg1", control, 2, History);

        Assert.True(needed);
        Assert.Contains("crashed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_already_on_the_primarys_timeline_needs_nothing()
    {
        var control = Control("pg15-shut-down-in-recovery.txt", "0/2000060", "0/3010000", 2);

        var (needed, reason) = RewindDecision.Decide("pg2", control, 2, History);

        Assert.False(needed, reason);
        Assert.Equal(2, RewindDecision.NodeTimeline(control));
    }

    [Fact]
    public void A_timeline_missing_from_the_history_needs_a_rewind()
    {
        var control = Control("pg15-shut-down.txt", "0/1000000", "0/0", 0);

        Assert.True(RewindDecision.Decide("pg1", control, 3, "2\t0/5000000\tno recovery target specified\n").Needed);
        Assert.True(RewindDecision.Decide("pg1", control, 2, null).Needed);
    }

    [Theory]
    [InlineData("1\t0/3004A80\treason\n2\t0/4000000\treason\n", 1, "0/3004A80")]
    [InlineData("1\t0/3004A80\treason\n2\t0/4000000\treason\n", 2, "0/4000000")]
    [InlineData("garbage\n\n", 1, null)]
    public void Switch_points_come_from_the_history_file(string history, int parent, string? expected)
    {
        Assert.Equal(expected is null ? null : Lsn.Parse(expected), RewindDecision.SwitchPoint(history, parent));
    }
}
