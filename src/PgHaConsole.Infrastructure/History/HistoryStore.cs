using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.History;

/// <summary>What retention removed.</summary>
public sealed record RetentionResult(int Samples, int MinuteRollups, int HourRollups, int Events);

/// <summary>The health history in the store: samples, rollups, events; the graph and timeline queries.</summary>
public interface IHistoryStore
{
    Task InsertSamplesAsync(IReadOnlyList<HealthSample> samples, CancellationToken ct);

    /// <summary>Appends events; an operation event already recorded (same cluster, operation and kind) is skipped.</summary>
    Task<int> InsertEventsAsync(IReadOnlyList<HealthEvent> events, CancellationToken ct);

    Task UpsertRollupsAsync(IReadOnlyList<HealthRollup> rollups, CancellationToken ct);

    Task<IReadOnlyList<HealthSample>> GetSamplesAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    Task<IReadOnlyList<HealthRollup>> GetRollupsAsync(Guid clusterId, int resolutionSeconds, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>
    /// The graphs of a cluster over [from, to): raw samples for short ranges, 1-minute or 1-hour rollups for long ones
    /// (at most ~1500 points per node), the not-yet-rolled-up tail filled from the finer level.
    /// </summary>
    Task<HistorySeries> QueryGraphAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);

    /// <summary>Events in [from, to), oldest first, at most <paramref name="limit"/> (the newest ones when more).</summary>
    Task<IReadOnlyList<HealthEvent>> GetEventsAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct);

    /// <summary>Rolls complete minutes of raw samples into 1-minute rollups and complete hours of those into 1-hour rollups; returns rows written.</summary>
    Task<int> RollupAsync(DateTimeOffset now, CancellationToken ct);

    Task<RetentionResult> EnforceRetentionAsync(DateTimeOffset now, HistoryOptions options, CancellationToken ct);
}

public sealed class HistoryStore : IHistoryStore
{
    public const int MaximumEvents = 5000;

    // Rows per multi-row INSERT. PostgreSQL: 16 columns × 400 rows stays under its 65535 parameters. SQLite: small
    // batches, because Microsoft.Data.Sqlite binds each named parameter by a linear search (quadratic in the batch).
    private int BatchRows => _factory.Kind == StoreKind.Sqlite ? 25 : 400;

    private const string SampleColumns = """
        cluster_id AS ClusterId, at_ms AS AtMs, node_name AS Node, reachable AS Reachable, pg_up AS PgUp, role AS Role,
        timeline AS Timeline, lag_bytes AS LagBytes, lag_seconds AS LagSeconds, connections AS Connections,
        max_connections AS MaxConnections, holds_write_vip AS HoldsWriteVip, holds_read_vip AS HoldsReadVip,
        vrrp_state AS VrrpState, slot_retained_bytes AS SlotRetainedBytes
        """;

    private const string RollupColumns = """
        cluster_id AS ClusterId, resolution_s AS ResolutionSeconds, bucket_ms AS BucketMs, node_name AS Node, samples AS Samples,
        up_samples AS UpSamples, primary_samples AS PrimarySamples, lag_bytes_n AS LagBytesN, lag_bytes_avg AS LagBytesAvg,
        lag_bytes_max AS LagBytesMax, lag_seconds_n AS LagSecondsN, lag_seconds_avg AS LagSecondsAvg, lag_seconds_max AS LagSecondsMax,
        connections_n AS ConnectionsN, connections_avg AS ConnectionsAvg, connections_max AS ConnectionsMax
        """;

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeSpan _sampleInterval;

    public HistoryStore(IStoreConnectionFactory factory, TimeSpan? sampleInterval = null)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _sampleInterval = sampleInterval ?? TimeSpan.FromSeconds(15);
    }

    public async Task InsertSamplesAsync(IReadOnlyList<HealthSample> samples, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            return;
        }

        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var chunk in samples.Chunk(BatchRows))
        {
            var sql = new StringBuilder("""
                INSERT INTO health_sample (cluster_id, at_ms, node_name, reachable, pg_up, role, timeline, lag_bytes, lag_seconds,
                    connections, max_connections, holds_write_vip, holds_read_vip, vrrp_state, slot_retained_bytes) VALUES
                """);
            var p = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
            {
                var s = chunk[i];
                sql.Append(i == 0 ? "\n" : ",\n").Append(CultureInfo.InvariantCulture,
                    $"(@c{i}, @a{i}, @n{i}, @r{i}, @u{i}, @o{i}, @t{i}, @lb{i}, @ls{i}, @k{i}, @mk{i}, @w{i}, @rv{i}, @v{i}, @sr{i})");
                p.Add($"c{i}", s.ClusterId);
                p.Add($"a{i}", s.AtMs);
                p.Add($"n{i}", s.Node);
                p.Add($"r{i}", Flag(s.Reachable), System.Data.DbType.Int16);
                p.Add($"u{i}", Flag(s.PgUp), System.Data.DbType.Int16);
                p.Add($"o{i}", (short)s.Role, System.Data.DbType.Int16);
                p.Add($"t{i}", s.Timeline, System.Data.DbType.Int32);
                p.Add($"lb{i}", s.LagBytes, System.Data.DbType.Int64);
                p.Add($"ls{i}", s.LagSeconds, System.Data.DbType.Double);
                p.Add($"k{i}", s.Connections, System.Data.DbType.Int32);
                p.Add($"mk{i}", s.MaxConnections, System.Data.DbType.Int32);
                p.Add($"w{i}", Flag(s.HoldsWriteVip), System.Data.DbType.Int16);
                p.Add($"rv{i}", Flag(s.HoldsReadVip), System.Data.DbType.Int16);
                p.Add($"v{i}", s.VrrpState, System.Data.DbType.String);
                p.Add($"sr{i}", s.SlotRetainedBytes, System.Data.DbType.Int64);
            }

            // A snapshot already recorded for that instant (a job that ran twice) is kept, not duplicated.
            sql.Append("\nON CONFLICT (cluster_id, at_ms, node_name) DO NOTHING");
            await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
        }

        await tx.CommitAsync(ct);
    }

    public async Task<int> InsertEventsAsync(IReadOnlyList<HealthEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return 0;
        }

        var written = 0;
        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var e in events)
        {
            var p = new DynamicParameters();
            p.Add("ClusterId", e.ClusterId);
            p.Add("AtMs", e.AtMs);
            p.Add("Kind", e.Kind);
            p.Add("Node", e.Node, System.Data.DbType.String);
            p.Add("Severity", (short)e.Severity, System.Data.DbType.Int16);
            p.Add("Message", e.Message);
            p.Add("OperationId", e.OperationId);
            p.Add("AlarmKey", e.AlarmKey, System.Data.DbType.String);
            written += await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO health_event (cluster_id, at_ms, kind, node_name, severity, message, operation_id, alarm_key)
                VALUES (@ClusterId, @AtMs, @Kind, @Node, @Severity, @Message, @OperationId, @AlarmKey)
                ON CONFLICT DO NOTHING
                """,
                p,
                tx,
                cancellationToken: ct));
        }

        await tx.CommitAsync(ct);
        return written;
    }

    public async Task UpsertRollupsAsync(IReadOnlyList<HealthRollup> rollups, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(rollups);
        if (rollups.Count == 0)
        {
            return;
        }

        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await UpsertRollupsAsync(connection, tx, rollups, ct);
        await tx.CommitAsync(ct);
    }

    private async Task UpsertRollupsAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<HealthRollup> rollups, CancellationToken ct)
    {
        foreach (var chunk in rollups.Chunk(BatchRows))
        {
            var sql = new StringBuilder("""
                INSERT INTO health_rollup (cluster_id, resolution_s, bucket_ms, node_name, samples, up_samples, primary_samples,
                    lag_bytes_n, lag_bytes_avg, lag_bytes_max, lag_seconds_n, lag_seconds_avg, lag_seconds_max,
                    connections_n, connections_avg, connections_max) VALUES
                """);
            var p = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
            {
                var r = chunk[i];
                sql.Append(i == 0 ? "\n" : ",\n").Append(CultureInfo.InvariantCulture,
                    $"(@c{i}, @r{i}, @b{i}, @n{i}, @s{i}, @u{i}, @p{i}, @lbn{i}, @lba{i}, @lbm{i}, @lsn{i}, @lsa{i}, @lsm{i}, @kn{i}, @ka{i}, @km{i})");
                p.Add($"c{i}", r.ClusterId);
                p.Add($"r{i}", r.ResolutionSeconds);
                p.Add($"b{i}", r.BucketMs);
                p.Add($"n{i}", r.Node);
                p.Add($"s{i}", r.Samples);
                p.Add($"u{i}", r.UpSamples);
                p.Add($"p{i}", r.PrimarySamples);
                p.Add($"lbn{i}", r.LagBytesN);
                p.Add($"lba{i}", r.LagBytesAvg, System.Data.DbType.Double);
                p.Add($"lbm{i}", r.LagBytesMax, System.Data.DbType.Int64);
                p.Add($"lsn{i}", r.LagSecondsN);
                p.Add($"lsa{i}", r.LagSecondsAvg, System.Data.DbType.Double);
                p.Add($"lsm{i}", r.LagSecondsMax, System.Data.DbType.Double);
                p.Add($"kn{i}", r.ConnectionsN);
                p.Add($"ka{i}", r.ConnectionsAvg, System.Data.DbType.Double);
                p.Add($"km{i}", r.ConnectionsMax, System.Data.DbType.Int32);
            }

            // Re-rolling a bucket (the last one, which may have gained a late sample) replaces it.
            sql.Append("""

                ON CONFLICT (cluster_id, resolution_s, bucket_ms, node_name) DO UPDATE SET
                    samples = excluded.samples, up_samples = excluded.up_samples, primary_samples = excluded.primary_samples,
                    lag_bytes_n = excluded.lag_bytes_n, lag_bytes_avg = excluded.lag_bytes_avg, lag_bytes_max = excluded.lag_bytes_max,
                    lag_seconds_n = excluded.lag_seconds_n, lag_seconds_avg = excluded.lag_seconds_avg, lag_seconds_max = excluded.lag_seconds_max,
                    connections_n = excluded.connections_n, connections_avg = excluded.connections_avg, connections_max = excluded.connections_max
                """);
            await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
        }
    }

    public async Task<IReadOnlyList<HealthSample>> GetSamplesAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await ReadSamplesAsync(connection, clusterId, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), ct);
    }

    private static async Task<IReadOnlyList<HealthSample>> ReadSamplesAsync(DbConnection connection, Guid? clusterId, long fromMs, long toMs, CancellationToken ct)
    {
        var where = clusterId is null ? "" : "cluster_id = @ClusterId AND ";
        var rows = await connection.QueryAsync<SampleRow>(new CommandDefinition(
            $"SELECT {SampleColumns} FROM health_sample WHERE {where}at_ms >= @From AND at_ms < @To ORDER BY at_ms, node_name",
            new { ClusterId = clusterId ?? Guid.Empty, From = fromMs, To = toMs },
            cancellationToken: ct));
        return rows.Select(r => r.ToSample()).ToList();
    }

    public async Task<IReadOnlyList<HealthRollup>> GetRollupsAsync(Guid clusterId, int resolutionSeconds, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await ReadRollupsAsync(connection, clusterId, resolutionSeconds, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), ct);
    }

    private static async Task<IReadOnlyList<HealthRollup>> ReadRollupsAsync(DbConnection connection, Guid? clusterId, int resolution, long fromMs, long toMs, CancellationToken ct)
    {
        var where = clusterId is null ? "" : "cluster_id = @ClusterId AND ";
        var rows = await connection.QueryAsync<RollupRow>(new CommandDefinition(
            $"SELECT {RollupColumns} FROM health_rollup WHERE {where}resolution_s = @Resolution AND bucket_ms >= @From AND bucket_ms < @To ORDER BY bucket_ms, node_name",
            new { ClusterId = clusterId ?? Guid.Empty, Resolution = resolution, From = fromMs, To = toMs },
            cancellationToken: ct));
        return rows.Select(r => r.ToRollup()).ToList();
    }

    public async Task<HistorySeries> QueryGraphAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var resolution = Rollups.ChooseResolution(to - from, _sampleInterval);
        var fromMs = from.ToUnixTimeMilliseconds();
        var toMs = to.ToUnixTimeMilliseconds();
        await using var connection = await _factory.OpenAsync(ct);
        List<HistoryPoint> points;
        if (resolution == 0)
        {
            // Only the graph's columns: this is the hot query of the 1-hour view.
            var rows = await connection.QueryAsync<GraphSampleRow>(new CommandDefinition(
                """
                SELECT node_name AS Node, at_ms AS AtMs, lag_bytes AS LagBytes, lag_seconds AS LagSeconds, connections AS Connections, pg_up AS PgUp
                FROM health_sample WHERE cluster_id = @ClusterId AND at_ms >= @From AND at_ms < @To ORDER BY at_ms, node_name
                """,
                new { ClusterId = clusterId, From = fromMs, To = toMs },
                cancellationToken: ct));
            points = rows.Select(r => new HistoryPoint(r.Node, r.AtMs, r.LagBytes, r.LagSeconds, r.Connections, r.PgUp != 0 ? 1 : 0)).ToList();
        }
        else
        {
            var startBucket = Rollups.BucketOf(fromMs, resolution);
            var rows = (await connection.QueryAsync<GraphRollupRow>(new CommandDefinition(
                """
                SELECT node_name AS Node, bucket_ms AS BucketMs, lag_bytes_avg AS LagBytesAvg, lag_seconds_avg AS LagSecondsAvg,
                       connections_avg AS ConnectionsAvg, samples AS Samples, up_samples AS UpSamples
                FROM health_rollup WHERE cluster_id = @ClusterId AND resolution_s = @Resolution AND bucket_ms >= @From AND bucket_ms < @To
                ORDER BY bucket_ms, node_name
                """,
                new { ClusterId = clusterId, Resolution = resolution, From = startBucket, To = toMs },
                cancellationToken: ct))).ToList();
            points = rows.Select(r => new HistoryPoint(r.Node, r.BucketMs, r.LagBytesAvg, r.LagSecondsAvg, r.ConnectionsAvg,
                r.Samples == 0 ? 0 : (double)r.UpSamples / r.Samples)).ToList();

            // The buckets the maintenance job has not rolled up yet (the current minute or hour) come from the finer level.
            var tailFrom = rows.Count == 0 ? startBucket : rows[^1].BucketMs + (resolution * 1000L);
            if (tailFrom < toMs)
            {
                var tail = resolution == Rollups.Minute
                    ? await MinutesAsync(connection, clusterId, tailFrom, toMs, ct)
                    : Rollups.FromRollups(await MinutesAsync(connection, clusterId, tailFrom, toMs, ct), Rollups.Hour);
                points.AddRange(tail.Select(r => new HistoryPoint(r.Node, r.BucketMs, r.LagBytesAvg, r.LagSecondsAvg, r.ConnectionsAvg, r.Availability)));
            }
        }

        return new HistorySeries(clusterId, from, to, resolution, points);
    }

    // Minute rollups in [fromMs, toMs), the minutes not rolled up yet computed from the raw samples.
    private static async Task<IReadOnlyList<HealthRollup>> MinutesAsync(DbConnection connection, Guid clusterId, long fromMs, long toMs, CancellationToken ct)
    {
        var minutes = (await ReadRollupsAsync(connection, clusterId, Rollups.Minute, fromMs, toMs, ct)).ToList();
        var rawFrom = minutes.Count == 0 ? fromMs : minutes.Max(m => m.BucketMs) + (Rollups.Minute * 1000L);
        if (rawFrom < toMs)
        {
            minutes.AddRange(Rollups.FromSamples(await ReadSamplesAsync(connection, clusterId, rawFrom, toMs, ct), Rollups.Minute));
        }

        return minutes;
    }

    public async Task<IReadOnlyList<HealthEvent>> GetEventsAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<EventRow>(new CommandDefinition(
            """
            SELECT id AS Id, cluster_id AS ClusterId, at_ms AS AtMs, kind AS Kind, node_name AS Node, severity AS Severity,
                   message AS Message, operation_id AS OperationId, alarm_key AS AlarmKey
            FROM health_event WHERE cluster_id = @ClusterId AND at_ms >= @From AND at_ms < @To
            ORDER BY at_ms DESC, id DESC LIMIT @Limit
            """,
            new { ClusterId = clusterId, From = from.ToUnixTimeMilliseconds(), To = to.ToUnixTimeMilliseconds(), Limit = Math.Clamp(limit, 1, MaximumEvents) },
            cancellationToken: ct));
        return rows.Select(r => new HealthEvent
        {
            Id = r.Id,
            ClusterId = r.ClusterId,
            AtMs = r.AtMs,
            Kind = r.Kind,
            Node = r.Node,
            Severity = (HealthEventSeverity)r.Severity,
            Message = r.Message,
            OperationId = r.OperationId,
            AlarmKey = r.AlarmKey,
        }).Reverse().ToList();
    }

    public async Task<int> RollupAsync(DateTimeOffset now, CancellationToken ct)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var connection = await _factory.OpenAsync(ct);
        var written = 0;

        // Minutes: from the last minute rolled up (again: it may have gained a late sample) to the last complete minute.
        var minuteEnd = Rollups.BucketOf(nowMs, Rollups.Minute);
        var lastMinute = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MAX(bucket_ms) FROM health_rollup WHERE resolution_s = 60", cancellationToken: ct));
        var minuteStart = lastMinute ?? Rollups.BucketOf(
            await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MIN(at_ms) FROM health_sample", cancellationToken: ct)) ?? minuteEnd,
            Rollups.Minute);
        if (minuteStart < minuteEnd)
        {
            var minutes = Rollups.FromSamples(await ReadSamplesAsync(connection, null, minuteStart, minuteEnd, ct), Rollups.Minute);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await UpsertRollupsAsync(connection, tx, minutes, ct);
            await tx.CommitAsync(ct);
            written += minutes.Count;
        }

        // Hours: the same from the minute rollups, complete hours only.
        var hourEnd = Rollups.BucketOf(nowMs, Rollups.Hour);
        var lastHour = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MAX(bucket_ms) FROM health_rollup WHERE resolution_s = 3600", cancellationToken: ct));
        var hourStart = lastHour ?? Rollups.BucketOf(
            await connection.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MIN(bucket_ms) FROM health_rollup WHERE resolution_s = 60", cancellationToken: ct)) ?? hourEnd,
            Rollups.Hour);
        if (hourStart < hourEnd)
        {
            var hours = Rollups.FromRollups(await ReadRollupsAsync(connection, null, Rollups.Minute, hourStart, hourEnd, ct), Rollups.Hour);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await UpsertRollupsAsync(connection, tx, hours, ct);
            await tx.CommitAsync(ct);
            written += hours.Count;
        }

        return written;
    }

    public async Task<RetentionResult> EnforceRetentionAsync(DateTimeOffset now, HistoryOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var connection = await _factory.OpenAsync(ct);
        var samples = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM health_sample WHERE at_ms < @Before", new { Before = nowMs - (long)options.RawRetention.TotalMilliseconds }, cancellationToken: ct));
        var minutes = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM health_rollup WHERE resolution_s = 60 AND bucket_ms < @Before", new { Before = nowMs - (long)options.MinuteRetention.TotalMilliseconds }, cancellationToken: ct));
        var hours = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM health_rollup WHERE resolution_s = 3600 AND bucket_ms < @Before", new { Before = nowMs - (long)options.HourRetention.TotalMilliseconds }, cancellationToken: ct));
        var events = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM health_event WHERE at_ms < @Before", new { Before = nowMs - (long)options.EventRetention.TotalMilliseconds }, cancellationToken: ct));
        return new RetentionResult(samples, minutes, hours, events);
    }

    private static short Flag(bool value) => value ? (short)1 : (short)0;

    private sealed class SampleRow
    {
        public Guid ClusterId { get; init; }

        public long AtMs { get; init; }

        public string Node { get; init; } = "";

        public long Reachable { get; init; }

        public long PgUp { get; init; }

        public long Role { get; init; }

        public long? Timeline { get; init; }

        public long? LagBytes { get; init; }

        public double? LagSeconds { get; init; }

        public long? Connections { get; init; }

        public long? MaxConnections { get; init; }

        public long HoldsWriteVip { get; init; }

        public long HoldsReadVip { get; init; }

        public string? VrrpState { get; init; }

        public long? SlotRetainedBytes { get; init; }

        public HealthSample ToSample() => new()
        {
            ClusterId = ClusterId,
            AtMs = AtMs,
            Node = Node,
            Reachable = Reachable != 0,
            PgUp = PgUp != 0,
            Role = (NodeRole)Role,
            Timeline = (int?)Timeline,
            LagBytes = LagBytes,
            LagSeconds = LagSeconds,
            Connections = (int?)Connections,
            MaxConnections = (int?)MaxConnections,
            HoldsWriteVip = HoldsWriteVip != 0,
            HoldsReadVip = HoldsReadVip != 0,
            VrrpState = VrrpState,
            SlotRetainedBytes = SlotRetainedBytes,
        };
    }

    private sealed class RollupRow
    {
        public Guid ClusterId { get; init; }

        public long ResolutionSeconds { get; init; }

        public long BucketMs { get; init; }

        public string Node { get; init; } = "";

        public long Samples { get; init; }

        public long UpSamples { get; init; }

        public long PrimarySamples { get; init; }

        public long LagBytesN { get; init; }

        public double? LagBytesAvg { get; init; }

        public long? LagBytesMax { get; init; }

        public long LagSecondsN { get; init; }

        public double? LagSecondsAvg { get; init; }

        public double? LagSecondsMax { get; init; }

        public long ConnectionsN { get; init; }

        public double? ConnectionsAvg { get; init; }

        public long? ConnectionsMax { get; init; }

        public HealthRollup ToRollup() => new()
        {
            ClusterId = ClusterId,
            Node = Node,
            ResolutionSeconds = (int)ResolutionSeconds,
            BucketMs = BucketMs,
            Samples = (int)Samples,
            UpSamples = (int)UpSamples,
            PrimarySamples = (int)PrimarySamples,
            LagBytesN = (int)LagBytesN,
            LagBytesAvg = LagBytesAvg,
            LagBytesMax = LagBytesMax,
            LagSecondsN = (int)LagSecondsN,
            LagSecondsAvg = LagSecondsAvg,
            LagSecondsMax = LagSecondsMax,
            ConnectionsN = (int)ConnectionsN,
            ConnectionsAvg = ConnectionsAvg,
            ConnectionsMax = (int?)ConnectionsMax,
        };
    }

    private sealed class GraphSampleRow
    {
        public string Node { get; init; } = "";

        public long AtMs { get; init; }

        public long? LagBytes { get; init; }

        public double? LagSeconds { get; init; }

        public long? Connections { get; init; }

        public long PgUp { get; init; }
    }

    private sealed class GraphRollupRow
    {
        public string Node { get; init; } = "";

        public long BucketMs { get; init; }

        public double? LagBytesAvg { get; init; }

        public double? LagSecondsAvg { get; init; }

        public double? ConnectionsAvg { get; init; }

        public long Samples { get; init; }

        public long UpSamples { get; init; }
    }

    private sealed class EventRow
    {
        public long Id { get; init; }

        public Guid ClusterId { get; init; }

        public long AtMs { get; init; }

        public string Kind { get; init; } = "";

        public string? Node { get; init; }

        public long Severity { get; init; }

        public string Message { get; init; } = "";

        public Guid? OperationId { get; init; }

        public string? AlarmKey { get; init; }
    }
}
