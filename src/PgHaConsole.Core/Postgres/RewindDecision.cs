using System.Globalization;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Postgres;

/// <summary>
/// Whether a stopped node must be rewound before it can follow a primary on another timeline: the rule pg_rewind
/// itself applies. The node's WAL ends at its last checkpoint, or at its minimum recovery point when it replayed WAL as
/// a standby past that checkpoint (a killed primary started again with a standby signal does exactly that: its
/// restartpoint stays old while it replays its own WAL past the fork). No rewind is needed only when that end is at
/// or before the switch point of the node's timeline in the primary's history and the node was shut down cleanly.
/// </summary>
public static class RewindDecision
{
    public static (bool Needed, string Reason) Decide(string nodeName, PgControlData control, int primaryTimeline, string? primaryHistory)
    {
        ArgumentNullException.ThrowIfNull(control);
        var nodeTli = NodeTimeline(control);
        var tli = primaryTimeline.ToString(CultureInfo.InvariantCulture);
        if (nodeTli == primaryTimeline)
        {
            return (false, $"{nodeName} is on the primary's timeline {tli}");
        }

        var switchPoint = SwitchPoint(primaryHistory, nodeTli);
        if (switchPoint is not { } sp || control.LatestCheckpoint is not { } checkpoint)
        {
            return (true, $"{nodeName}'s timeline {nodeTli.ToString(CultureInfo.InvariantCulture)} is not an ancestor of the primary's timeline {tli}");
        }

        var end = WalEnd(control) ?? checkpoint;
        if (!control.IsCleanlyShutDown)
        {
            return (true, $"{nodeName} crashed (state '{control.StateText}') after its last checkpoint {checkpoint}: its WAL end is unknown, so it is rewound against the switch point {sp} of timeline {tli}");
        }

        // A clean shutdown checkpoint ends after its own start, so the checkpoint must lie strictly before the switch
        // point; a replayed minimum recovery point may end exactly at it.
        var diverged = end > checkpoint ? end > sp : checkpoint >= sp;
        var what = end > checkpoint ? $"replayed WAL up to {end}" : $"stopped at {checkpoint}";
        return diverged
            ? (true, $"{nodeName} {what} on timeline {nodeTli.ToString(CultureInfo.InvariantCulture)}, past the switch point {sp} of timeline {tli}: it has diverged")
            : (false, $"{nodeName} {what} on timeline {nodeTli.ToString(CultureInfo.InvariantCulture)}, before the switch point {sp}: its WAL is part of the new timeline");
    }

    /// <summary>The timeline the node's WAL ends on: its minimum recovery point's when that is set, else its checkpoint's.</summary>
    public static int NodeTimeline(PgControlData control)
    {
        ArgumentNullException.ThrowIfNull(control);
        var checkpointTli = control.TimeLineId ?? 0;
        return control.MinRecoveryEnd is { IsZero: false } && control.MinRecoveryEndTimeLineId is { } m && m > checkpointTli ? m : checkpointTli;
    }

    /// <summary>The minimum recovery point when the node replayed past its checkpoint (standby or fenced node), else null.</summary>
    public static Lsn? WalEnd(PgControlData control)
    {
        ArgumentNullException.ThrowIfNull(control);
        return control.MinRecoveryEnd is { IsZero: false } m && control.LatestCheckpoint is { } c && m > c ? m : null;
    }

    /// <summary>Where <paramref name="parentTimeline"/> ends in a timeline history file ("1\t0/3004A80\tno recovery target specified").</summary>
    public static Lsn? SwitchPoint(string? history, int parentTimeline) =>
        (history ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Where(f => f.Length >= 2 && int.TryParse(f[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parent) && parent == parentTimeline)
            .Select(f => Lsn.TryParse(f[1], out var lsn) ? lsn : (Lsn?)null)
            .FirstOrDefault();
}
