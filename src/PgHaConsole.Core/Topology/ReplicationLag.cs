using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Topology;

/// <summary>Lag arithmetic shared by the prober and the assembler, with the guard against "idle looks like lag".</summary>
public static class ReplicationLag
{
    /// <summary>
    /// Seconds the standby is behind, from its own point of view. <c>now − pg_last_xact_replay_timestamp()</c>
    /// grows without bound while the primary is idle, so it is only lag when something received is still
    /// waiting to be replayed: received = replayed means caught up (0).
    /// </summary>
    public static double? StandbyDelaySeconds(Lsn? received, Lsn? replayed, DateTimeOffset? lastReplayAt, DateTimeOffset now)
    {
        if (received is { } r && replayed is { } p && p >= r)
        {
            return 0;
        }

        if (received is null || replayed is null || lastReplayAt is null)
        {
            return null;
        }

        return Math.Max(0, (now - lastReplayAt.Value).TotalSeconds);
    }

    /// <summary>Bytes received but not replayed yet (never negative); null when either is unknown.</summary>
    public static long? StandbyPendingBytes(Lsn? received, Lsn? replayed) =>
        received is { } r && replayed is { } p ? Math.Max(0, r - p) : null;
}
