using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Topology;

/// <summary>What a node's PostgreSQL is, as last observed.</summary>
public enum NodeRole
{
    /// <summary>Not observed yet, or the host answered but PostgreSQL's state could not be read.</summary>
    Unknown,
    Primary,
    Standby,

    /// <summary>PostgreSQL does not answer (stopped, crashed, host unreachable).</summary>
    Down,
}

public enum AlarmSeverity
{
    Warning,
    Critical,
}

/// <summary>Stable alarm codes: the API, the history's events and the alert rules key on them.</summary>
public static class AlarmCodes
{
    public const string SplitBrainPrimaries = "split-brain-primaries";
    public const string SplitBrainVip = "split-brain-vip";
    public const string WriteVipNotOnPrimary = "write-vip-not-on-primary";
    public const string NoPrimary = "no-primary";
    public const string StandbyNotStreaming = "standby-not-streaming";
    public const string LagOverThreshold = "lag-over-threshold";
    public const string HostUnreachable = "host-unreachable";
    public const string PostgresDown = "postgres-down";
    public const string HostKeyMismatch = "host-key-mismatch";
    public const string KeepalivedDown = "keepalived-down";
    public const string LvsRealServerMissing = "lvs-real-server-missing";
    public const string LvsRealServerQuiesced = "lvs-real-server-quiesced";
    public const string HaproxyDown = "haproxy-down";
    public const string NodeFenced = "node-fenced";
}

/// <summary>One alarm: a one-line title, what it means and what to do.</summary>
/// <param name="Node">Node name the alarm is about; null for cluster-wide alarms.</param>
public sealed record Alarm(string Code, AlarmSeverity Severity, string? Node, string Title, string Explanation, string Action)
{
    /// <summary>Identity for raise/clear bookkeeping (dedup): the same code on the same node is the same alarm.</summary>
    public string Key => Node is null ? Code : Code + "@" + Node;
}

/// <summary>A replication slot on a node and the WAL it keeps.</summary>
public sealed record SlotState(string Name, string SlotType, bool Active, long? RetainedBytes);

/// <summary>One row of <c>pg_stat_replication</c> on a primary.</summary>
public sealed record ReplicationRow
{
    public required string ApplicationName { get; init; }

    public string? ClientAddress { get; init; }

    /// <summary>streaming, catchup, startup, backup…</summary>
    public required string State { get; init; }

    /// <summary>async, sync, potential, quorum.</summary>
    public string? SyncState { get; init; }

    public Lsn? SentLsn { get; init; }

    public Lsn? WriteLsn { get; init; }

    public Lsn? FlushLsn { get; init; }

    public Lsn? ReplayLsn { get; init; }

    /// <summary><c>pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)</c>: bytes the standby has yet to replay.</summary>
    public long? LagBytes { get; init; }

    /// <summary>NULL in PostgreSQL when idle and caught up: then <see cref="CaughtUp"/> says so.</summary>
    public TimeSpan? WriteLag { get; init; }

    public TimeSpan? FlushLag { get; init; }

    public TimeSpan? ReplayLag { get; init; }

    /// <summary>The standby has replayed everything sent (replay LSN = current LSN).</summary>
    public bool CaughtUp => LagBytes is 0;
}

/// <summary>The standby's side: <c>pg_stat_wal_receiver</c> and replay progress.</summary>
public sealed record WalReceiverState
{
    /// <summary>streaming, starting, waiting, stopping…; null when no WAL receiver runs.</summary>
    public string? Status { get; init; }

    public string? SenderHost { get; init; }

    public int? SenderPort { get; init; }

    public Lsn? ReceivedLsn { get; init; }

    public Lsn? ReplayedLsn { get; init; }

    public DateTimeOffset? LastReplayAt { get; init; }

    /// <summary>
    /// Seconds since the last replayed transaction, only when something is left to replay (received ≠ replayed);
    /// 0 when caught up: an idle primary must not look like growing lag.
    /// </summary>
    public double? ReplayDelaySeconds { get; init; }
}

/// <summary>keepalived on a node: VRRP state from the notify script's state file, and whether it runs.</summary>
public sealed record KeepalivedNodeState(bool Running, VrrpState State, int? Priority, DateTimeOffset? Since, string? Detail);

/// <summary>The read balancer as seen on one node.</summary>
public sealed record BalancerNodeState
{
    /// <summary>LVS mode: the tables; null when not gathered.</summary>
    public IpvsTable? Ipvs { get; init; }

    /// <summary>LVS mode: the director's connection table (<c>ipvsadm -Lnc</c>); null when not gathered or unreadable.</summary>
    public IpvsConnectionTable? Connections { get; init; }

    /// <summary>LVS mode: iptables mangle rules that mark read-VIP packets (iptables -S output lines).</summary>
    public IReadOnlyList<string> MangleRules { get; init; } = [];

    /// <summary>HAProxy mode: proxies with frontend, backend and server states.</summary>
    public IReadOnlyList<HaproxyProxy>? Haproxy { get; init; }

    /// <summary>Plain statement when the balancer cannot be read ("IPVS not available in this kernel").</summary>
    public string? Unavailable { get; init; }
}

/// <summary>Everything observed on one node in one probe.</summary>
public sealed record NodeState
{
    public required Guid NodeId { get; init; }

    public required string Name { get; init; }

    public required string Address { get; init; }

    public bool SshReachable { get; init; }

    public bool PgReachable { get; init; }

    public bool HostKeyMismatch { get; init; }

    public NodeRole Role { get; init; }

    /// <summary>server_version, e.g. "15.8".</summary>
    public string? Version { get; init; }

    public int? Timeline { get; init; }

    /// <summary>Primary: pg_current_wal_lsn(). Standby: null.</summary>
    public Lsn? CurrentLsn { get; init; }

    public Lsn? ReceivedLsn { get; init; }

    public Lsn? ReplayedLsn { get; init; }

    public TimeSpan? Uptime { get; init; }

    public int? Connections { get; init; }

    public int? MaxConnections { get; init; }

    /// <summary>wal_log_hints on, or data checksums: pg_rewind can be used on this node.</summary>
    public bool? RewindReady { get; init; }

    public WalReceiverState? WalReceiver { get; init; }

    /// <summary>Primary only: its pg_stat_replication rows.</summary>
    public IReadOnlyList<ReplicationRow> Replication { get; init; } = [];

    public IReadOnlyList<SlotState> Slots { get; init; } = [];

    /// <summary>Which VIPs this host has on an interface (from <c>ip -j addr</c>).</summary>
    public bool HoldsWriteVip { get; init; }

    public bool HoldsReadVip { get; init; }

    public KeepalivedNodeState? Keepalived { get; init; }

    public BalancerNodeState? Balancer { get; init; }

    /// <summary>HAProxy mode: whether this host's HAProxy runs (its pid file names a live process); null when not observed.</summary>
    public bool? HaproxyRunning { get; init; }

    /// <summary>From the host: a live postmaster owns the data directory; null when SSH did not answer.</summary>
    public bool? PostmasterRunning { get; init; }

    /// <summary>From the host: it could open the peer's PostgreSQL port (TCP, 1 s); null when not observed.</summary>
    public bool? PeerPortOpen { get; init; }

    /// <summary>The fence marker's line when the node is fenced ("needs rejoin"); null when it is not (or not observed).</summary>
    public string? Fenced { get; init; }

    /// <summary>The node's <c>synchronous_standby_names</c> (meaningful on the primary).</summary>
    public string? SynchronousStandbyNames { get; init; }

    /// <summary>Why something could not be observed (SSH error, PostgreSQL error), secrets masked.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Lag of this node as a standby, bytes (from the primary's pg_stat_replication; else received−replayed).</summary>
    public long? LagBytes { get; init; }

    /// <summary>Lag of this node as a standby, seconds (replay_lag, or 0 when caught up).</summary>
    public double? LagSeconds { get; init; }
}

/// <summary>The whole picture of a cluster at one instant: what the page, the API, the history and the alerts use.</summary>
public sealed record ClusterTopology
{
    public required Guid ClusterId { get; init; }

    public required string ClusterName { get; init; }

    public required DateTimeOffset ObservedAt { get; init; }

    /// <summary>
    /// When the probe behind this picture was asked for by a change a host reported on its live channel (the first such
    /// report since the previous probe); null for a probe of the polling rhythm or one asked for by hand. A change
    /// this picture shows for the first time happened at about this moment.
    /// </summary>
    public DateTimeOffset? TriggeredAt { get; init; }

    /// <summary>When the probe behind this picture started (null in pictures made before this was recorded).</summary>
    public DateTimeOffset? ProbeStartedAt { get; init; }

    /// <summary>
    /// The best estimate of when what this picture shows first became true: the live report that triggered its probe,
    /// else the moment its probe started (a change seen only by the poll happened before that, within one interval).
    /// </summary>
    public DateTimeOffset ChangeTime => TriggeredAt ?? ProbeStartedAt ?? ObservedAt;

    public required IReadOnlyList<NodeState> Nodes { get; init; }

    /// <summary>Node name holding the write VIP; null when nobody; "pg1,pg2" never: see alarms (both → split brain).</summary>
    public string? WriteVipHolder { get; init; }

    public string? ReadVipHolder { get; init; }

    public IReadOnlyList<Alarm> Alarms { get; init; } = [];

    public NodeState? Primary => Nodes.Count(n => n.Role == NodeRole.Primary) == 1 ? Nodes.First(n => n.Role == NodeRole.Primary) : null;
}
