using PgHaConsole.Core.Topology;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>Configuration section <c>PgHaConsole:Topology</c>.</summary>
public sealed class TopologyOptions
{
    public const string SectionName = "PgHaConsole:Topology";

    /// <summary>How often every cluster is probed (default 2 s; 1–2 s is the intended range).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A standby further behind than this many bytes raises the lag alarm (default 64 MiB).</summary>
    public long LagBytesThreshold { get; set; } = AlarmThresholds.DefaultLagBytes;

    /// <summary>A standby further behind than this many seconds raises the lag alarm (default 30).</summary>
    public double LagSecondsThreshold { get; set; } = AlarmThresholds.DefaultLagSeconds;

    /// <summary>
    /// Upper bound of one node's probe (SSH connect + script, PostgreSQL queries); a host that does not answer
    /// within it is reported unreachable (default 5 s).
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True (default): each node keeps one long-lived SSH command reporting changes (VIPs, PostgreSQL start/stop/
    /// promotion/death, keepalived state, fence) and a report re-probes its cluster at once. Needs <see cref="Enabled"/>.
    /// </summary>
    public bool LiveUpdates { get; set; } = true;

    /// <summary>Reports within this window share one probe (default 20 ms: a VIP leaves one node and lands on the other).</summary>
    public TimeSpan LiveDebounce { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>False stops the background polling (pictures are then only taken on demand by ProbeNowAsync).</summary>
    public bool Enabled { get; set; } = true;

    public AlarmThresholds Thresholds => new() { LagBytes = LagBytesThreshold, LagSeconds = LagSecondsThreshold };
}
