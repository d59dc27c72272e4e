using Dapper;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>What the console's own store is (the settings page) and whether it answers (/healthz).</summary>
public sealed class StoreStatus(IStoreConnectionFactory store, StoreOptions options)
{
    public StoreKind Kind => store.Kind;

    public string Description => store.Kind == StoreKind.Postgres ? "PostgreSQL" : $"SQLite ({options.SqlitePath})";

    /// <summary>Throws when the store does not answer a trivial query.</summary>
    public async Task PingAsync(CancellationToken ct)
    {
        await using var connection = await store.OpenAsync(ct);
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("select 1", cancellationToken: ct));
    }
}
