using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Failover;

/// <summary>The witness's last automatic failover launch for a cluster: which primary it was lost, and when.</summary>
public sealed record FailoverLaunch(string LostPrimary, DateTimeOffset At);

/// <summary>
/// One automatic failover per loss: while the same primary stays lost and no primary has answered since, the witness
/// does not launch again within the backoff (a refused or failed launch is not retried in a tight loop). A new
/// incident — a primary answered since, or another node is the one lost — is never held back by an earlier one: after
/// a failover and a rejoin, the new primary's death fails over at once (it waited out the previous launch's 60 s
/// before, 40 s of write outage in the benchmark's second scenario).
/// </summary>
public static class LaunchBackoff
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(60);

    /// <summary>The launch still relevant after <paramref name="picture"/>: none once a single primary answers.</summary>
    public static FailoverLaunch? AfterPicture(FailoverLaunch? last, ClusterTopology picture)
    {
        ArgumentNullException.ThrowIfNull(picture);
        return picture.Primary is not null ? null : last;
    }

    public static bool MayLaunch(FailoverLaunch? last, string lostPrimary, DateTimeOffset now, TimeSpan backoff) =>
        last is null || last.LostPrimary != lostPrimary || now - last.At >= backoff;
}
