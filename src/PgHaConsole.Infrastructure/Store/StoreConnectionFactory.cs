using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>Opens connections to the console's store (SQLite or PostgreSQL).</summary>
public interface IStoreConnectionFactory
{
    StoreKind Kind { get; }

    /// <summary>An open connection; for SQLite with WAL, <c>foreign_keys=ON</c> and a busy timeout.</summary>
    Task<DbConnection> OpenAsync(CancellationToken ct);
}

public static class StoreConnectionFactory
{
    public static IStoreConnectionFactory Create(StoreOptions options) => options.Kind switch
    {
        StoreKind.Postgres => new PostgresStoreConnectionFactory(options.PostgresConnectionString!),
        _ => new SqliteStoreConnectionFactory(options.SqlitePath, options.SqliteBusyTimeout),
    };
}

internal sealed class SqliteStoreConnectionFactory : IStoreConnectionFactory, IDisposable
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;
    private readonly SemaphoreSlim _walGate = new(1, 1);
    private volatile bool _walSet;

    public SqliteStoreConnectionFactory(string path, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        FilePath = full;
        _busyTimeoutMs = (int)busyTimeout.TotalMilliseconds;
        _connectionString = BuildConnectionString(full, busyTimeout);
    }

    internal static string BuildConnectionString(string path, TimeSpan busyTimeout) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        ForeignKeys = true,
        DefaultTimeout = Math.Max(1, (int)busyTimeout.TotalSeconds),
    }.ToString();

    public StoreKind Kind => StoreKind.Sqlite;

    public string FilePath { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            await using (var pragma = connection.CreateCommand())
            {
                // Per connection: foreign keys are off by default in SQLite, and the busy timeout makes a second
                // writer wait instead of failing at once.
                pragma.CommandText = string.Create(
                    CultureInfo.InvariantCulture,
                    $"PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {_busyTimeoutMs}; PRAGMA synchronous = NORMAL;");
                await pragma.ExecuteNonQueryAsync(ct);
            }

            if (!_walSet)
            {
                await EnableWalAsync(connection, ct);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // WAL is a property of the database file (persistent), so it is set once per process, not on every open.
    private async Task EnableWalAsync(SqliteConnection connection, CancellationToken ct)
    {
        await _walGate.WaitAsync(ct);
        try
        {
            if (_walSet)
            {
                return;
            }

            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = (string?)await cmd.ExecuteScalarAsync(ct);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite refused WAL journal mode for the store (answered '{mode}').");
            }

            _walSet = true;
        }
        finally
        {
            _walGate.Release();
        }
    }

    public void Dispose() => _walGate.Dispose();
}

internal sealed class PostgresStoreConnectionFactory : IStoreConnectionFactory, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresStoreConnectionFactory(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ConnectionString = connectionString;
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    public StoreKind Kind => StoreKind.Postgres;

    internal string ConnectionString { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken ct) => await _dataSource.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();
}
