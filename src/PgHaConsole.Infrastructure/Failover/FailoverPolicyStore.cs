using Dapper;
using PgHaConsole.Core.Failover;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Failover;

/// <summary>A cluster's failover policy with who changed it last (null: never set, the default applies).</summary>
public sealed record StoredFailoverPolicy(FailoverPolicy Policy, DateTimeOffset? UpdatedAt, string? UpdatedBy);

/// <summary>The failover policy of each cluster (table <c>failover_policies</c>; no row = <see cref="FailoverPolicy.Default"/>).</summary>
public interface IFailoverPolicyStore
{
    Task<StoredFailoverPolicy> GetAsync(Guid clusterId, CancellationToken ct);

    Task SaveAsync(Guid clusterId, FailoverPolicy policy, string updatedBy, CancellationToken ct);
}

public sealed class FailoverPolicyStore(IStoreConnectionFactory factory, TimeProvider time) : IFailoverPolicyStore
{
    public async Task<StoredFailoverPolicy> GetAsync(Guid clusterId, CancellationToken ct)
    {
        StoreTypeHandlers.Register();
        await using var connection = await factory.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT automatic AS Automatic, synchronous AS Synchronous, after_seconds AS AfterSeconds, updated_at AS UpdatedAt, updated_by AS UpdatedBy FROM failover_policies WHERE cluster_id = @Id",
            new { Id = clusterId }, cancellationToken: ct));
        return row is null
            ? new StoredFailoverPolicy(FailoverPolicy.Default, null, null)
            : new StoredFailoverPolicy(new FailoverPolicy { Automatic = row.Automatic, Synchronous = row.Synchronous, AfterSeconds = (int)row.AfterSeconds }, row.UpdatedAt, row.UpdatedBy);
    }

    public async Task SaveAsync(Guid clusterId, FailoverPolicy policy, string updatedBy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var errors = FailoverPolicy.Validate(policy);
        if (errors.Count > 0)
        {
            throw new ArgumentException(errors[0].Message, nameof(policy));
        }

        StoreTypeHandlers.Register();
        await using var connection = await factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO failover_policies (cluster_id, automatic, synchronous, after_seconds, updated_at, updated_by)
            VALUES (@Id, @Automatic, @Synchronous, @AfterSeconds, @Now, @By)
            ON CONFLICT (cluster_id) DO UPDATE SET automatic = excluded.automatic, synchronous = excluded.synchronous,
                after_seconds = excluded.after_seconds, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """,
            new { Id = clusterId, policy.Automatic, policy.Synchronous, policy.AfterSeconds, Now = StoreTypeHandlers.ToStoreTime(time.GetUtcNow()), By = updatedBy },
            cancellationToken: ct));
    }

    private sealed class Row
    {
        public bool Automatic { get; init; }

        public bool Synchronous { get; init; }

        public long AfterSeconds { get; init; }

        public DateTimeOffset? UpdatedAt { get; init; }

        public string? UpdatedBy { get; init; }
    }
}
