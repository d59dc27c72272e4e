using System.Data.Common;
using Dapper;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>One step of a journaled operation.</summary>
public sealed record OperationStepRecord(int Ordinal, string Name, StepStatus Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Message);

/// <summary>A journaled operation with its steps in order.</summary>
public sealed record OperationRecord
{
    public required Guid Id { get; init; }

    public required Guid ClusterId { get; init; }

    public required string Kind { get; init; }

    public required OperationStatus Status { get; init; }

    /// <summary>1-based ordinal of the step running, or last run.</summary>
    public int? CurrentStep { get; init; }

    public required string RequestedBy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Why it failed or stopped (masked); null while fine.</summary>
    public string? Error { get; init; }

    public string? ReportJson { get; init; }

    /// <summary>The operator's request (JSON) it was started or last resumed with.</summary>
    public string? ParametersJson { get; init; }

    /// <summary>The console instance that runs (or last ran) it: its id and its name.</summary>
    public Guid? OwnerInstance { get; init; }

    public string? OwnerName { get; init; }

    /// <summary>The owner's last heartbeat while it ran.</summary>
    public DateTimeOffset? HeartbeatAt { get; init; }

    public required IReadOnlyList<OperationStepRecord> Steps { get; init; }
}

/// <summary>
/// The operations journal: the source of truth for every multi-step job. Hangfire only executes; after a restart this
/// says which step was running. Every text handed to it must already be masked.
/// </summary>
public interface IOperationJournal
{
    /// <summary>Creates a Pending operation with its steps (all Pending). <paramref name="operationId"/> null assigns one.</summary>
    Task<OperationRecord> CreateAsync(Guid clusterId, string kind, IReadOnlyList<string> stepNames, string requestedBy, Guid? operationId, CancellationToken ct);

    Task<OperationRecord?> GetAsync(Guid operationId, CancellationToken ct);

    /// <summary>The cluster's operations, newest first.</summary>
    Task<IReadOnlyList<OperationRecord>> ListByClusterAsync(Guid clusterId, int limit, CancellationToken ct);

    /// <summary>
    /// Sets the operation's status. Running stamps <c>started_at</c> (first time only), clears <c>finished_at</c> and the
    /// error; a finished status stamps <c>finished_at</c> and records <paramref name="error"/>.
    /// </summary>
    Task SetOperationStatusAsync(Guid operationId, OperationStatus status, string? error, CancellationToken ct);

    /// <summary>
    /// Sets a step's status and message. Running stamps <c>started_at</c>, clears <c>finished_at</c> and makes it the
    /// operation's current step; any other non-Pending status stamps <c>finished_at</c>.
    /// </summary>
    Task SetStepStatusAsync(Guid operationId, int ordinal, StepStatus status, string? message, CancellationToken ct);

    Task SetReportAsync(Guid operationId, string? reportJson, CancellationToken ct);

    /// <summary>The operator's request the operation was started (or last resumed) with, as JSON.</summary>
    Task SetParametersAsync(Guid operationId, string? parametersJson, CancellationToken ct);

    /// <summary>Appends lines whose sequence numbers the caller assigned (the runner, so live and journaled lines agree).</summary>
    Task AppendLogAsync(Guid operationId, IReadOnlyList<OperationLogLine> lines, CancellationToken ct);

    /// <summary>Lines with <c>seq &gt; afterSeq</c>, in order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<OperationLogLine>> ReadLogAsync(Guid operationId, long afterSeq, int limit, CancellationToken ct);

    /// <summary>The highest sequence number journaled for the operation, 0 when none.</summary>
    Task<long> GetLastLogSeqAsync(Guid operationId, CancellationToken ct);

    /// <summary>
    /// Makes the operation Running as <paramref name="instanceId"/>'s (owner, first heartbeat now) unless it is Running
    /// or Succeeded already: one compare-and-set, so of two instances (or two deliveries of one job) only one runs it.
    /// False when another holds it or it is done.
    /// </summary>
    Task<bool> ClaimAsync(Guid operationId, Guid instanceId, string instanceName, CancellationToken ct);

    /// <summary>Renews the heartbeat of an operation this instance runs; false when it is no longer Running as this instance's.</summary>
    Task<bool> HeartbeatAsync(Guid operationId, Guid instanceId, CancellationToken ct);

    /// <summary>
    /// Every Running operation whose heartbeat is older than <paramref name="heartbeatBefore"/> (or has none: journaled
    /// before instances had heartbeats) becomes Interrupted with the error "Interrupted at step N (name)" and the name
    /// of the instance that stopped renewing it. Run at start and by every instance's sweeper: an operation whose
    /// instance died becomes resumable from any instance, and a live instance's operation is never touched. Locks are
    /// kept on purpose: the operator decides to resume or roll back. Returns the ids changed.
    /// </summary>
    Task<IReadOnlyList<Guid>> MarkStaleInterruptedAsync(DateTimeOffset heartbeatBefore, CancellationToken ct);
}

public sealed class OperationJournal : IOperationJournal
{
    public const int MaximumLimit = 5000;

    private const string OperationColumns = """
        id AS Id, cluster_id AS ClusterId, kind AS Kind, status AS Status, current_step AS CurrentStep,
        requested_by AS RequestedBy, created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt,
        error AS Error, report_json AS ReportJson, parameters_json AS ParametersJson,
        owner_instance AS OwnerInstance, owner_name AS OwnerName, heartbeat_at AS HeartbeatAt
        """;

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public OperationJournal(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    private DateTimeOffset Now => StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());

    public async Task<OperationRecord> CreateAsync(Guid clusterId, string kind, IReadOnlyList<string> stepNames, string requestedBy, Guid? operationId, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(stepNames);
        ArgumentException.ThrowIfNullOrWhiteSpace(requestedBy);
        if (stepNames.Count == 0)
        {
            throw new ArgumentException("An operation needs at least one step.", nameof(stepNames));
        }

        var id = operationId ?? Guid.NewGuid();
        var now = Now;
        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO operations (id, cluster_id, kind, status, current_step, requested_by, created_at)
            VALUES (@Id, @ClusterId, @Kind, @Status, NULL, @RequestedBy, @CreatedAt)
            """,
            new { Id = id, ClusterId = clusterId, Kind = kind, Status = nameof(OperationStatus.Pending), RequestedBy = requestedBy, CreatedAt = now },
            tx,
            cancellationToken: ct));
        for (var i = 0; i < stepNames.Count; i++)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO operation_steps (operation_id, ordinal, name, status) VALUES (@Id, @Ordinal, @Name, @Status)",
                new { Id = id, Ordinal = i + 1, Name = stepNames[i], Status = nameof(StepStatus.Pending) },
                tx,
                cancellationToken: ct));
        }

        await tx.CommitAsync(ct);
        return (await GetAsync(connection, id, ct))!;
    }

    public async Task<OperationRecord?> GetAsync(Guid operationId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await GetAsync(connection, operationId, ct);
    }

    public async Task<IReadOnlyList<OperationRecord>> ListByClusterAsync(Guid clusterId, int limit, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var rows = (await connection.QueryAsync<OperationRow>(new CommandDefinition(
            $"SELECT {OperationColumns} FROM operations WHERE cluster_id = @ClusterId ORDER BY created_at DESC, id DESC LIMIT @Limit",
            new { ClusterId = clusterId, Limit = Math.Clamp(limit, 1, MaximumLimit) },
            cancellationToken: ct))).ToList();
        var result = new List<OperationRecord>(rows.Count);
        foreach (var row in rows)
        {
            result.Add(ToRecord(row, await ReadStepsAsync(connection, row.Id, ct)));
        }

        return result;
    }

    public async Task SetOperationStatusAsync(Guid operationId, OperationStatus status, string? error, CancellationToken ct)
    {
        var now = Now;
        var sql = status switch
        {
            OperationStatus.Running =>
                "UPDATE operations SET status = @Status, started_at = COALESCE(started_at, @Now), finished_at = NULL, error = NULL WHERE id = @Id",
            OperationStatus.Pending =>
                "UPDATE operations SET status = @Status WHERE id = @Id",
            _ => "UPDATE operations SET status = @Status, finished_at = @Now, error = @Error WHERE id = @Id",
        };
        var p = new DynamicParameters();
        p.Add("Id", operationId);
        p.Add("Status", status.ToString());
        p.Add("Now", now);
        p.Add("Error", error, System.Data.DbType.String);
        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(sql, p, cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException("operation", operationId);
        }
    }

    public async Task SetStepStatusAsync(Guid operationId, int ordinal, StepStatus status, string? message, CancellationToken ct)
    {
        var p = new DynamicParameters();
        p.Add("Id", operationId);
        p.Add("Ordinal", ordinal);
        p.Add("Status", status.ToString());
        p.Add("Now", Now);
        p.Add("Message", message, System.Data.DbType.String);
        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var sql = status switch
        {
            StepStatus.Running =>
                "UPDATE operation_steps SET status = @Status, started_at = @Now, finished_at = NULL, message = @Message WHERE operation_id = @Id AND ordinal = @Ordinal",
            StepStatus.Pending =>
                "UPDATE operation_steps SET status = @Status, started_at = NULL, finished_at = NULL, message = @Message WHERE operation_id = @Id AND ordinal = @Ordinal",
            _ => "UPDATE operation_steps SET status = @Status, started_at = COALESCE(started_at, @Now), finished_at = @Now, message = @Message WHERE operation_id = @Id AND ordinal = @Ordinal",
        };
        var changed = await connection.ExecuteAsync(new CommandDefinition(sql, p, tx, cancellationToken: ct));
        if (changed == 0)
        {
            throw new InvalidOperationException($"The operation {operationId} has no step {ordinal}.");
        }

        if (status == StepStatus.Running)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE operations SET current_step = @Ordinal WHERE id = @Id", p, tx, cancellationToken: ct));
        }

        await tx.CommitAsync(ct);
    }

    public async Task SetParametersAsync(Guid operationId, string? parametersJson, CancellationToken ct)
    {
        var p = new DynamicParameters();
        p.Add("Id", operationId);
        p.Add("Parameters", parametersJson, System.Data.DbType.String);
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE operations SET parameters_json = @Parameters WHERE id = @Id", p, cancellationToken: ct));
    }

    public async Task SetReportAsync(Guid operationId, string? reportJson, CancellationToken ct)
    {
        var p = new DynamicParameters();
        p.Add("Id", operationId);
        p.Add("Report", reportJson, System.Data.DbType.String);
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE operations SET report_json = @Report WHERE id = @Id", p, cancellationToken: ct));
    }

    public async Task AppendLogAsync(Guid operationId, IReadOnlyList<OperationLogLine> lines, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count == 0)
        {
            return;
        }

        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var line in lines)
        {
            var p = new DynamicParameters();
            p.Add("Id", operationId);
            p.Add("Seq", line.Seq);
            p.Add("At", StoreTypeHandlers.ToStoreTime(line.At));
            p.Add("Step", line.Step, System.Data.DbType.Int32);
            p.Add("Host", line.Host, System.Data.DbType.String);
            p.Add("Stream", line.Stream.ToStoreText());
            p.Add("Line", line.Line);
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO operation_log (operation_id, seq, at, step, host, stream, line) VALUES (@Id, @Seq, @At, @Step, @Host, @Stream, @Line)",
                p,
                tx,
                cancellationToken: ct));
        }

        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<OperationLogLine>> ReadLogAsync(Guid operationId, long afterSeq, int limit, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<LogRow>(new CommandDefinition(
            """
            SELECT seq AS Seq, at AS At, step AS Step, host AS Host, stream AS Stream, line AS Line
            FROM operation_log WHERE operation_id = @Id AND seq > @After ORDER BY seq LIMIT @Limit
            """,
            new { Id = operationId, After = afterSeq, Limit = Math.Clamp(limit, 1, MaximumLimit) },
            cancellationToken: ct));
        return rows.Select(r => new OperationLogLine(r.Seq, r.At, r.Step, r.Host, OperationStatusExtensions.ParseLogStream(r.Stream), r.Line)).ToList();
    }

    public async Task<long> GetLastLogSeqAsync(Guid operationId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MAX(seq) FROM operation_log WHERE operation_id = @Id", new { Id = operationId }, cancellationToken: ct)) ?? 0;
    }

    public async Task<bool> ClaimAsync(Guid operationId, Guid instanceId, string instanceName, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE operations SET status = @Running, started_at = COALESCE(started_at, @Now), finished_at = NULL, error = NULL,
                owner_instance = @Instance, owner_name = @Name, heartbeat_at = @Now
            WHERE id = @Id AND status <> @Running AND status <> @Succeeded
            """,
            new
            {
                Id = operationId,
                Running = nameof(OperationStatus.Running),
                Succeeded = nameof(OperationStatus.Succeeded),
                Now,
                Instance = instanceId,
                Name = instanceName,
            },
            cancellationToken: ct)) == 1;
    }

    public async Task<bool> HeartbeatAsync(Guid operationId, Guid instanceId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE operations SET heartbeat_at = @Now WHERE id = @Id AND owner_instance = @Instance AND status = @Running",
            new { Id = operationId, Instance = instanceId, Running = nameof(OperationStatus.Running), Now },
            cancellationToken: ct)) == 1;
    }

    public async Task<IReadOnlyList<Guid>> MarkStaleInterruptedAsync(DateTimeOffset heartbeatBefore, CancellationToken ct)
    {
        var before = StoreTypeHandlers.ToStoreTime(heartbeatBefore);
        await using var connection = await _factory.OpenAsync(ct);
        var running = (await connection.QueryAsync<RunningRow>(new CommandDefinition(
            """
            SELECT o.id AS Id, o.current_step AS Step, s.name AS Name, o.owner_name AS Owner
            FROM operations o LEFT JOIN operation_steps s ON s.operation_id = o.id AND s.ordinal = o.current_step
            WHERE o.status = @Running AND (o.heartbeat_at IS NULL OR o.heartbeat_at < @Before)
            """,
            new { Running = nameof(OperationStatus.Running), Before = before },
            cancellationToken: ct))).ToList();
        var now = Now;
        var changed = new List<Guid>();
        foreach (var r in running)
        {
            // The running step keeps its Running state: whether its effect landed is unknown, and its check decides
            // on resume.
            var where = r.Step is null ? "Interrupted before its first step" : $"Interrupted at step {r.Step} ({r.Name})";
            var why = r.Owner is null ? "." : $": the console instance {r.Owner} running it stopped renewing its heartbeat.";
            // Guarded by the same condition: a heartbeat renewed meanwhile keeps it running.
            var updated = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE operations SET status = @Status, finished_at = @Now, error = @Error
                WHERE id = @Id AND status = @Running AND (heartbeat_at IS NULL OR heartbeat_at < @Before)
                """,
                new { r.Id, Status = nameof(OperationStatus.Interrupted), Now = now, Error = where + why, Running = nameof(OperationStatus.Running), Before = before },
                cancellationToken: ct));
            if (updated == 1)
            {
                changed.Add(r.Id);
            }
        }

        return changed;
    }

    private static async Task<OperationRecord?> GetAsync(DbConnection connection, Guid operationId, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<OperationRow>(new CommandDefinition(
            $"SELECT {OperationColumns} FROM operations WHERE id = @Id", new { Id = operationId }, cancellationToken: ct));
        return row is null ? null : ToRecord(row, await ReadStepsAsync(connection, operationId, ct));
    }

    private static async Task<IReadOnlyList<OperationStepRecord>> ReadStepsAsync(DbConnection connection, Guid operationId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<StepRow>(new CommandDefinition(
            """
            SELECT ordinal AS Ordinal, name AS Name, status AS Status, started_at AS StartedAt, finished_at AS FinishedAt, message AS Message
            FROM operation_steps WHERE operation_id = @Id ORDER BY ordinal
            """,
            new { Id = operationId },
            cancellationToken: ct));
        return rows.Select(r => new OperationStepRecord(r.Ordinal, r.Name, Enum.Parse<StepStatus>(r.Status), r.StartedAt, r.FinishedAt, r.Message)).ToList();
    }

    private static OperationRecord ToRecord(OperationRow row, IReadOnlyList<OperationStepRecord> steps) => new()
    {
        Id = row.Id,
        ClusterId = row.ClusterId,
        Kind = row.Kind,
        Status = Enum.Parse<OperationStatus>(row.Status),
        CurrentStep = row.CurrentStep,
        RequestedBy = row.RequestedBy,
        CreatedAt = row.CreatedAt,
        StartedAt = row.StartedAt,
        FinishedAt = row.FinishedAt,
        Error = row.Error,
        ReportJson = row.ReportJson,
        ParametersJson = row.ParametersJson,
        OwnerInstance = row.OwnerInstance,
        OwnerName = row.OwnerName,
        HeartbeatAt = row.HeartbeatAt,
        Steps = steps,
    };

    private sealed class OperationRow
    {
        public Guid Id { get; init; }

        public Guid ClusterId { get; init; }

        public string Kind { get; init; } = "";

        public string Status { get; init; } = "";

        public int? CurrentStep { get; init; }

        public string RequestedBy { get; init; } = "";

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset? StartedAt { get; init; }

        public DateTimeOffset? FinishedAt { get; init; }

        public string? Error { get; init; }

        public string? ReportJson { get; init; }

        public string? ParametersJson { get; init; }

        public Guid? OwnerInstance { get; init; }

        public string? OwnerName { get; init; }

        public DateTimeOffset? HeartbeatAt { get; init; }
    }

    private sealed class StepRow
    {
        public int Ordinal { get; init; }

        public string Name { get; init; } = "";

        public string Status { get; init; } = "";

        public DateTimeOffset? StartedAt { get; init; }

        public DateTimeOffset? FinishedAt { get; init; }

        public string? Message { get; init; }
    }

    private sealed class RunningRow
    {
        public Guid Id { get; init; }

        public int? Step { get; init; }

        public string? Name { get; init; }

        public string? Owner { get; init; }
    }

    private sealed class LogRow
    {
        public long Seq { get; init; }

        public DateTimeOffset At { get; init; }

        public int? Step { get; init; }

        public string? Host { get; init; }

        public string Stream { get; init; } = "";

        public string Line { get; init; } = "";
    }
}
