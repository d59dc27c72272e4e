using Dapper;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>Another operation holds the cluster; nothing was started.</summary>
public sealed class ClusterLockedException : Exception
{
    public ClusterLockedException(Guid clusterId, Guid holderOperationId, string? holderKind, string? holderStatus)
        : base($"The cluster {clusterId} is locked by the {holderKind ?? "unknown"} operation {holderOperationId} ({holderStatus ?? "unknown status"}); "
            + "finish, resume or roll back that operation first.")
    {
        ClusterId = clusterId;
        HolderOperationId = holderOperationId;
        HolderKind = holderKind;
        HolderStatus = holderStatus;
    }

    public Guid ClusterId { get; }

    public Guid HolderOperationId { get; }

    public string? HolderKind { get; }

    public string? HolderStatus { get; }
}

/// <summary>
/// One operation per cluster. The lock is a row in <c>cluster_locks</c>, so it survives a console restart: an
/// interrupted operation keeps its cluster until the operator resumes or rolls it back.
/// </summary>
public interface IClusterLock
{
    /// <summary>
    /// Takes the cluster's lock for the operation. Re-entrant for the same operation (a resume). Throws
    /// <see cref="ClusterLockedException"/> naming the holder when another operation has it.
    /// </summary>
    Task AcquireAsync(Guid clusterId, Guid operationId, CancellationToken ct);

    /// <summary>Releases the lock if this operation holds it; false when it did not.</summary>
    Task<bool> ReleaseAsync(Guid clusterId, Guid operationId, CancellationToken ct);

    /// <summary>The operation holding the cluster, or null.</summary>
    Task<Guid?> GetHolderAsync(Guid clusterId, CancellationToken ct);
}

public sealed class ClusterLock : IClusterLock
{
    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public ClusterLock(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    public async Task AcquireAsync(Guid clusterId, Guid operationId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Insert-or-nothing then read back: atomic in both dialects without a read-then-write race between two
        // consoles (or two jobs) asking at the same moment.
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO cluster_locks (cluster_id, operation_id, acquired_at) VALUES (@ClusterId, @OperationId, @Now) ON CONFLICT (cluster_id) DO NOTHING",
            new { ClusterId = clusterId, OperationId = operationId, Now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow()) },
            tx,
            cancellationToken: ct));
        var holder = await connection.QuerySingleAsync<HolderRow>(new CommandDefinition(
            """
            SELECT l.operation_id AS OperationId, o.kind AS Kind, o.status AS Status
            FROM cluster_locks l LEFT JOIN operations o ON o.id = l.operation_id
            WHERE l.cluster_id = @ClusterId
            """,
            new { ClusterId = clusterId },
            tx,
            cancellationToken: ct));
        await tx.CommitAsync(ct);
        if (holder.OperationId != operationId)
        {
            throw new ClusterLockedException(clusterId, holder.OperationId, holder.Kind, holder.Status);
        }
    }

    public async Task<bool> ReleaseAsync(Guid clusterId, Guid operationId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM cluster_locks WHERE cluster_id = @ClusterId AND operation_id = @OperationId",
            new { ClusterId = clusterId, OperationId = operationId },
            cancellationToken: ct));
        return deleted > 0;
    }

    public async Task<Guid?> GetHolderAsync(Guid clusterId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<HolderRow>(new CommandDefinition(
            "SELECT operation_id AS OperationId FROM cluster_locks WHERE cluster_id = @ClusterId",
            new { ClusterId = clusterId },
            cancellationToken: ct));
        return row?.OperationId;
    }

    private sealed class HolderRow
    {
        public Guid OperationId { get; init; }

        public string? Kind { get; init; }

        public string? Status { get; init; }
    }
}
