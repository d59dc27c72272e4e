using System.Globalization;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Failover;

/// <summary>What the console does about <c>synchronous_standby_names</c> on the primary after one observation.</summary>
public enum SynchronousAction
{
    None,

    /// <summary>Set it to <see cref="SynchronousReplication.StandbyNames"/>: the standby streams again (or just came).</summary>
    Enable,

    /// <summary>Clear it: the standby has been lost for longer than the bound; writes must not hang.</summary>
    Degrade,

    /// <summary>Clear it: the policy no longer asks for synchronous replication.</summary>
    Disable,
}

/// <summary>One decision with the reason for the event timeline.</summary>
public sealed record SynchronousDecision(SynchronousAction Action, string Reason);

/// <summary>
/// Synchronous replication without <c>strict</c> (Patroni's <c>synchronous_mode</c>): the standby is synchronous while
/// it streams, so an acknowledged commit is on both nodes; when it is lost, the primary degrades to asynchronous after
/// a bounded time (writes wait at most that long), and returns to synchronous once the standby streams again.
/// Changing <c>synchronous_standby_names</c> needs only a reload (<c>ALTER SYSTEM</c> + <c>pg_reload_conf()</c>).
/// </summary>
public static class SynchronousReplication
{
    /// <summary>How long the standby may be lost before the primary degrades to asynchronous.</summary>
    public static readonly TimeSpan DefaultDegradeAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The value for the primary: both node names (each standby connects with its node name as application_name),
    /// first one: whichever node is the standby. The same on both nodes, so a copy by pg_rewind or pg_basebackup
    /// of <c>postgresql.auto.conf</c> never names the wrong node.
    /// </summary>
    public static string StandbyNames(ClusterSpec cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return $"FIRST 1 (\"{cluster.Node1.Name}\", \"{cluster.Node2.Name}\")";
    }

    /// <summary>Whether a <c>synchronous_standby_names</c> value asks for a synchronous standby at all.</summary>
    public static bool IsSynchronous(string? setting) => !string.IsNullOrWhiteSpace(setting);

    /// <param name="policySynchronous">The cluster's policy.</param>
    /// <param name="currentSetting">The primary's <c>synchronous_standby_names</c> now.</param>
    /// <param name="standbyStreaming">The primary has a 'streaming' pg_stat_replication row for the standby.</param>
    /// <param name="notStreamingFor">How long the standby has not been streaming (null while it streams).</param>
    /// <param name="degradeAfter">The bound on how long writes may wait for a lost standby.</param>
    public static SynchronousDecision Decide(ClusterSpec cluster, bool policySynchronous, string? currentSetting, bool standbyStreaming, TimeSpan? notStreamingFor, TimeSpan degradeAfter)
    {
        var wanted = StandbyNames(cluster);
        var on = IsSynchronous(currentSetting);
        if (!policySynchronous)
        {
            return on
                ? new(SynchronousAction.Disable, "the failover policy does not ask for synchronous replication")
                : new(SynchronousAction.None, "asynchronous, as the policy says");
        }

        if (!on)
        {
            return standbyStreaming
                ? new(SynchronousAction.Enable, "the standby streams: synchronous replication in force")
                : new(SynchronousAction.None, "degraded to asynchronous until the standby streams again");
        }

        if (standbyStreaming)
        {
            return currentSetting == wanted
                ? new(SynchronousAction.None, "synchronous replication in force")
                : new(SynchronousAction.Enable, "synchronous_standby_names set to the cluster's nodes");
        }

        return notStreamingFor is { } lost && lost >= degradeAfter
            ? new(SynchronousAction.Degrade, string.Create(CultureInfo.InvariantCulture, $"the standby has not streamed for {lost.TotalSeconds:0.#} s: degraded to asynchronous so that writes do not wait for it"))
            : new(SynchronousAction.None, "the standby is not streaming; writes wait for it at most until the degrade bound");
    }
}
