namespace PgHaConsole.Infrastructure.Store;

/// <summary>Where the console keeps its own data.</summary>
public sealed record StoreOptions
{
    /// <summary>
    /// Npgsql connection string of a PostgreSQL database for the store. When set, the store is PostgreSQL and
    /// <see cref="SqlitePath"/> is ignored. The web app binds it from <c>ConnectionStrings:Store</c>.
    /// </summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>Path of the SQLite file used when no PostgreSQL connection string is set (<c>&lt;dataDir&gt;/pghaconsole.db</c>).</summary>
    public string SqlitePath { get; init; } = "pghaconsole.db";

    /// <summary>How long a SQLite connection waits for another writer before failing with SQLITE_BUSY.</summary>
    public TimeSpan SqliteBusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public StoreKind Kind => string.IsNullOrWhiteSpace(PostgresConnectionString) ? StoreKind.Sqlite : StoreKind.Postgres;
}

public enum StoreKind
{
    Sqlite,
    Postgres,
}
