namespace PgHaConsole.Core.Topology;

/// <summary>When replication lag becomes an alarm.</summary>
public sealed record AlarmThresholds
{
    public const long DefaultLagBytes = 64L * 1024 * 1024;
    public const double DefaultLagSeconds = 30;

    public static AlarmThresholds Default { get; } = new();

    /// <summary>Bytes of WAL a standby may have left to replay before it is an alarm (default 64 MiB).</summary>
    public long LagBytes { get; init; } = DefaultLagBytes;

    /// <summary>Seconds a standby may be behind before it is an alarm (default 30).</summary>
    public double LagSeconds { get; init; } = DefaultLagSeconds;
}
