using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>Every action that changes anything is written here: who, when, what, which cluster, result.</summary>
public sealed class AuditService(IAuditLog log, TimeProvider time)
{
    public Task WriteAsync(string actor, string action, Guid? clusterId, string target, string result, string? detail, CancellationToken ct) =>
        log.WriteAsync(
            new AuditEntry
            {
                At = time.GetUtcNow(),
                Actor = actor,
                Action = action,
                ClusterId = clusterId,
                Target = target,
                Result = result,
                Detail = detail,
            },
            ct);

    public Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken ct) => log.QueryAsync(query, ct);
}
