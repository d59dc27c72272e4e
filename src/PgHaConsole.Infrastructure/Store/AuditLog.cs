using System.Text;
using Dapper;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>One audited action: who, when, what, on which cluster, with what result. Never put a secret in it.</summary>
public sealed record AuditEntry
{
    /// <summary>Assigned by the store.</summary>
    public long Id { get; init; }

    /// <summary>When unset (default), the store's clock is used.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>User name, or <c>token:&lt;name&gt;</c> for an API token, or <c>system</c>.</summary>
    public required string Actor { get; init; }

    /// <summary>A dotted verb, e.g. <c>cluster.create</c>, <c>cluster.switchover</c>, <c>user.create</c>.</summary>
    public required string Action { get; init; }

    public Guid? ClusterId { get; init; }

    /// <summary>What was acted on, e.g. the cluster or user name.</summary>
    public string? Target { get; init; }

    /// <summary>See <see cref="AuditResults"/>.</summary>
    public required string Result { get; init; }

    public string? Detail { get; init; }
}

public static class AuditResults
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Denied = "denied";
}

/// <summary>Filters of the audit page; every set filter must match. Newest first.</summary>
public sealed record AuditQuery
{
    /// <summary>Inclusive.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Exclusive.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Exact match.</summary>
    public string? Actor { get; init; }

    public Guid? ClusterId { get; init; }

    /// <summary>Exact match.</summary>
    public string? Action { get; init; }

    /// <summary>Case-insensitive substring of actor, action, target, result or detail.</summary>
    public string? Text { get; init; }

    public int Limit { get; init; } = 200;
}

public interface IAuditLog
{
    /// <summary>Appends the entry; returns its id.</summary>
    Task<long> WriteAsync(AuditEntry entry, CancellationToken ct);

    Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken ct);
}

public sealed class AuditLog : IAuditLog
{
    public const int MaximumLimit = 5000;

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public AuditLog(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    public async Task<long> WriteAsync(AuditEntry entry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Action);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Result);
        var at = StoreTypeHandlers.ToStoreTime(entry.At == default ? _time.GetUtcNow() : entry.At);

        var p = new DynamicParameters();
        p.Add("At", at);
        p.Add("Actor", entry.Actor);
        p.Add("Action", entry.Action);
        p.Add("ClusterId", entry.ClusterId);
        p.Add("Target", entry.Target, System.Data.DbType.String);
        p.Add("Result", entry.Result);
        p.Add("Detail", entry.Detail, System.Data.DbType.String);

        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO audit_log (at, actor, action, cluster_id, target, result, detail)
            VALUES (@At, @Actor, @Action, @ClusterId, @Target, @Result, @Detail)
            RETURNING id
            """,
            p,
            cancellationToken: ct));
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);

        // Only the filters that are set become SQL: "@x IS NULL OR …" would leave PostgreSQL guessing a null's type.
        var where = new List<string>();
        var p = new DynamicParameters();
        if (query.From is { } from)
        {
            where.Add("at >= @From");
            p.Add("From", from);
        }

        if (query.To is { } to)
        {
            where.Add("at < @To");
            p.Add("To", to);
        }

        if (!string.IsNullOrEmpty(query.Actor))
        {
            where.Add("actor = @Actor");
            p.Add("Actor", query.Actor);
        }

        if (query.ClusterId is { } clusterId)
        {
            where.Add("cluster_id = @ClusterId");
            p.Add("ClusterId", clusterId);
        }

        if (!string.IsNullOrEmpty(query.Action))
        {
            where.Add("action = @Action");
            p.Add("Action", query.Action);
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Add("""
                LOWER(actor || ' ' || action || ' ' || COALESCE(target, '') || ' ' || result || ' ' || COALESCE(detail, ''))
                LIKE @Text ESCAPE '\'
                """);
            p.Add("Text", "%" + EscapeLike(query.Text.Trim().ToLowerInvariant()) + "%");
        }

        p.Add("Limit", Math.Clamp(query.Limit, 1, MaximumLimit));
        var sql = new StringBuilder(
            "SELECT id AS Id, at AS At, actor AS Actor, action AS Action, cluster_id AS ClusterId, target AS Target, result AS Result, detail AS Detail FROM audit_log");
        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(" ORDER BY at DESC, id DESC LIMIT @Limit");

        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<AuditRow>(new CommandDefinition(sql.ToString(), p, cancellationToken: ct));
        return rows.Select(r => new AuditEntry
        {
            Id = r.Id,
            At = r.At,
            Actor = r.Actor,
            Action = r.Action,
            ClusterId = r.ClusterId,
            Target = r.Target,
            Result = r.Result,
            Detail = r.Detail,
        }).ToList();
    }

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal);

    private sealed class AuditRow
    {
        public long Id { get; init; }

        public DateTimeOffset At { get; init; }

        public string Actor { get; init; } = "";

        public string Action { get; init; } = "";

        public Guid? ClusterId { get; init; }

        public string? Target { get; init; }

        public string Result { get; init; } = "";

        public string? Detail { get; init; }
    }
}
