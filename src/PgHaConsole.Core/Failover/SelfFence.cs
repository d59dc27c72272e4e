namespace PgHaConsole.Core.Failover;

/// <summary>
/// The timings that keep "the lost primary has fenced itself" before "the console promotes the standby" when the
/// console cannot reach the primary to fence it. On the node, the write VIP's check (run by keepalived every
/// <see cref="Keepalived.KeepalivedConfigRenderer.CheckInterval"/> s: the pair's advert_int) fences a primary that has seen neither a
/// streaming standby nor a console query for <see cref="DelaySeconds"/>. On the console, a failover of an unreachable
/// primary waits <see cref="UnreachableFailoverDelay"/> after the console's last successful observation of it.
/// </summary>
public static class SelfFence
{
    /// <summary>How long a primary tolerates seeing neither the standby nor the console before it fences itself (at the default pace).</summary>
    public const int DelaySeconds = 10;

    /// <summary>
    /// The delay at the pair's pace: <see cref="DelaySeconds"/>, or two check intervals when that is longer. The write
    /// check sees the standby only when it runs: at a pace of 10 s a healthy streaming standby is last seen a whole
    /// interval ago at every run, and one slow or timed-out run on a loaded host would let a fixed 10 s run out.
    /// </summary>
    public static int DelaySecondsFor(Model.VrrpSettings? vrrp) =>
        Math.Max(DelaySeconds, 2 * Keepalived.KeepalivedConfigRenderer.CheckInterval(vrrp ?? new Model.VrrpSettings()));

    /// <summary>
    /// <c>wal_sender_timeout</c> (and <c>wal_receiver_timeout</c>) the setup writes: after a partition the primary's
    /// pg_stat_replication row stays 'streaming' (and the standby's WAL receiver too) this long.
    /// </summary>
    public const int ReplicationTimeoutSeconds = 5;

    /// <summary>The check script's bound on its own query (psql connect and statement) at the default pace.</summary>
    public const int CheckQuerySeconds = 3;

    /// <summary>The bound at the pair's pace: <see cref="CheckQuerySeconds"/>, or the check interval less one second when that is longer.</summary>
    public static int CheckQuerySecondsFor(Model.VrrpSettings? vrrp) =>
        Math.Max(CheckQuerySeconds, Keepalived.KeepalivedConfigRenderer.CheckInterval(vrrp ?? new Model.VrrpSettings()) - 1);

    /// <summary>The fence's bound on stopping PostgreSQL (immediate mode, then SIGKILL).</summary>
    public const int StopSeconds = 5;

    /// <summary>Margin for the console's poll interval jitter, clock steps and SSH timeouts.</summary>
    public const int MarginSeconds = 3;

    /// <summary>
    /// The latest a primary cut off from both the standby and the console has stopped accepting writes, counted from
    /// the moment it was cut off: its replication row lingers, then the delay runs, then one check interval and one
    /// check query may pass before the check notices, then PostgreSQL stops.
    /// </summary>
    /// <remarks>The check interval is the cluster's (<paramref name="vrrp"/>); null means the default pace (1 s).</remarks>
    public static int WorstCaseSeconds(Model.VrrpSettings? vrrp = null) =>
        ReplicationTimeoutSeconds + DelaySecondsFor(vrrp) + Keepalived.KeepalivedConfigRenderer.CheckInterval(vrrp ?? new Model.VrrpSettings()) + CheckQuerySecondsFor(vrrp) + StopSeconds;

    /// <summary>
    /// How long after its last successful observation of an unreachable primary the console may promote the standby:
    /// never before the primary has surely fenced itself (the console's last observation may be up to one poll
    /// interval before the cut), and never before the policy's own delay.
    /// </summary>
    public static TimeSpan UnreachableFailoverDelay(int afterSeconds, TimeSpan pollInterval, Model.VrrpSettings? vrrp = null) =>
        TimeSpan.FromSeconds(Math.Max(afterSeconds, WorstCaseSeconds(vrrp) + pollInterval.TotalSeconds + MarginSeconds));
}
