using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.History;

/// <summary>One node's health at one instant: a row of the raw history (kept 48 h by default).</summary>
public sealed record HealthSample
{
    public required Guid ClusterId { get; init; }

    public required string Node { get; init; }

    /// <summary>Unix milliseconds, on the recorder's grid (a multiple of the snapshot interval).</summary>
    public required long AtMs { get; init; }

    /// <summary>The host answered over SSH.</summary>
    public bool Reachable { get; init; }

    /// <summary>PostgreSQL answered.</summary>
    public bool PgUp { get; init; }

    public NodeRole Role { get; init; }

    public int? Timeline { get; init; }

    public long? LagBytes { get; init; }

    public double? LagSeconds { get; init; }

    public int? Connections { get; init; }

    public int? MaxConnections { get; init; }

    public bool HoldsWriteVip { get; init; }

    public bool HoldsReadVip { get; init; }

    /// <summary>keepalived's VRRP state name (MASTER, BACKUP, FAULT…), null when not observed.</summary>
    public string? VrrpState { get; init; }

    /// <summary>WAL retained by this node's replication slots, bytes (sum over slots).</summary>
    public long? SlotRetainedBytes { get; init; }

    /// <summary>Available = PostgreSQL answered; the availability graph is the share of available samples.</summary>
    public bool Available => PgUp;

    /// <summary>The node's picture as a sample at <paramref name="atMs"/>.</summary>
    public static HealthSample From(Guid clusterId, NodeState node, long atMs)
    {
        ArgumentNullException.ThrowIfNull(node);
        long? retained = null;
        foreach (var slot in node.Slots)
        {
            if (slot.RetainedBytes is { } r)
            {
                retained = (retained ?? 0) + r;
            }
        }

        return new HealthSample
        {
            ClusterId = clusterId,
            Node = node.Name,
            AtMs = atMs,
            Reachable = node.SshReachable,
            PgUp = node.PgReachable,
            Role = node.Role,
            Timeline = node.Timeline,
            LagBytes = node.LagBytes,
            LagSeconds = node.LagSeconds,
            Connections = node.Connections,
            MaxConnections = node.MaxConnections,
            HoldsWriteVip = node.HoldsWriteVip,
            HoldsReadVip = node.HoldsReadVip,
            VrrpState = node.Keepalived is { Running: true } k ? k.State.ToString() : null,
            SlotRetainedBytes = retained,
        };
    }
}

/// <summary>
/// One node over one bucket (a minute or an hour): what the long-range graphs read. Averages are over the samples
/// that had the value (<c>*N</c>), so rollups merge exactly: a weighted average of averages.
/// </summary>
public sealed record HealthRollup
{
    public required Guid ClusterId { get; init; }

    public required string Node { get; init; }

    /// <summary>60 or 3600.</summary>
    public required int ResolutionSeconds { get; init; }

    /// <summary>Start of the bucket, Unix milliseconds.</summary>
    public required long BucketMs { get; init; }

    public int Samples { get; init; }

    /// <summary>Samples where PostgreSQL answered.</summary>
    public int UpSamples { get; init; }

    public int PrimarySamples { get; init; }

    public int LagBytesN { get; init; }

    public double? LagBytesAvg { get; init; }

    public long? LagBytesMax { get; init; }

    public int LagSecondsN { get; init; }

    public double? LagSecondsAvg { get; init; }

    public double? LagSecondsMax { get; init; }

    public int ConnectionsN { get; init; }

    public double? ConnectionsAvg { get; init; }

    public int? ConnectionsMax { get; init; }

    /// <summary>Share of samples in which PostgreSQL answered, 0..1.</summary>
    public double Availability => Samples == 0 ? 0 : (double)UpSamples / Samples;
}

/// <summary>Kinds of events on the one timeline.</summary>
public static class HealthEventKinds
{
    public const string RoleChanged = "role-changed";
    public const string TimelineChanged = "timeline-changed";
    public const string WriteVipMoved = "write-vip-moved";
    public const string ReadVipMoved = "read-vip-moved";
    public const string ReplicationChanged = "replication-changed";
    public const string KeepalivedChanged = "keepalived-changed";
    public const string ReachabilityChanged = "reachability-changed";
    public const string AlarmRaised = "alarm-raised";
    public const string AlarmCleared = "alarm-cleared";
    public const string OperationStarted = "operation-started";
    public const string OperationFinished = "operation-finished";
}

public enum HealthEventSeverity
{
    Info,
    Warning,
    Critical,
}

/// <summary>One entry of the event timeline.</summary>
public sealed record HealthEvent
{
    /// <summary>Assigned by the store.</summary>
    public long Id { get; init; }

    public required Guid ClusterId { get; init; }

    public required long AtMs { get; init; }

    public required string Kind { get; init; }

    public string? Node { get; init; }

    public HealthEventSeverity Severity { get; init; }

    public required string Message { get; init; }

    /// <summary>Set on operation events: the page links to /operations/{id}.</summary>
    public Guid? OperationId { get; init; }

    /// <summary>Set on alarm events: <see cref="Alarm.Key"/>.</summary>
    public string? AlarmKey { get; init; }

    public DateTimeOffset At => DateTimeOffset.FromUnixTimeMilliseconds(AtMs);
}

/// <summary>One point of a node's graphs: a raw sample or a rollup bucket's averages.</summary>
/// <param name="Availability">Share of samples in which PostgreSQL answered, 0..1 (a raw sample is 0 or 1).</param>
public sealed record HistoryPoint(string Node, long AtMs, double? LagBytes, double? LagSeconds, double? Connections, double Availability);

/// <summary>A cluster's graphs over a range: the points of every node and the resolution they were read at.</summary>
/// <param name="ResolutionSeconds">0 for raw samples, else 60 or 3600.</param>
public sealed record HistorySeries(Guid ClusterId, DateTimeOffset From, DateTimeOffset To, int ResolutionSeconds, IReadOnlyList<HistoryPoint> Points);
