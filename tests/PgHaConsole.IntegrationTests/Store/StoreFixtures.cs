using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

/// <summary>One kind of store for the shared repository tests: makes empty stores and dumps what they hold.</summary>
public interface IStoreHarness : IAsyncDisposable
{
    StoreKind Kind { get; }

    /// <summary>Options of a new, empty store (nothing migrated yet).</summary>
    Task<StoreOptions> CreateStoreAsync(CancellationToken ct);

    /// <summary>Everything the store holds, as raw bytes (the SQLite files; for PostgreSQL pg_dump plus every row as text).</summary>
    Task<byte[]> DumpRawAsync(CancellationToken ct);

    /// <summary>A scratch directory removed on dispose.</summary>
    string ScratchDirectory { get; }
}

public sealed class SqliteStoreHarness : IStoreHarness
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgha-store-sqlite-");
    private int _stores;
    private string? _path;

    public StoreKind Kind => StoreKind.Sqlite;

    public string ScratchDirectory => _dir.FullName;

    public Task<StoreOptions> CreateStoreAsync(CancellationToken ct)
    {
        // Each call a new file; the dump reads the latest.
        _path = Path.Combine(_dir.FullName, $"data{++_stores}", "pghaconsole.db");
        return Task.FromResult(new StoreOptions { SqlitePath = _path });
    }

    public async Task<byte[]> DumpRawAsync(CancellationToken ct)
    {
        // The main file and the WAL (recent commits live there until a checkpoint) and its index.
        using var all = new MemoryStream();
        foreach (var file in new[] { _path!, _path + "-wal", _path + "-shm", _path + "-journal" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            await stream.CopyToAsync(all, ct);
        }

        return all.ToArray();
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A pooled handle still open elsewhere: the OS temp cleanup takes it.
        }

        return ValueTask.CompletedTask;
    }
}

public sealed class PostgresStoreHarness(StorePostgresFixture server) : IStoreHarness
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgha-store-pgh-");
    private readonly List<string> _databases = [];
    private string? _connectionString;

    public StoreKind Kind => StoreKind.Postgres;

    public string ScratchDirectory => _dir.FullName;

    public async Task<StoreOptions> CreateStoreAsync(CancellationToken ct)
    {
        // Each call a new database; the dump reads the latest.
        (var database, _connectionString) = await server.CreateDatabaseAsync(ct);
        _databases.Add(database);
        return new StoreOptions { PostgresConnectionString = _connectionString, SqlitePath = Path.Combine(_dir.FullName, "unused.db") };
    }

    public async Task<byte[]> DumpRawAsync(CancellationToken ct)
    {
        using var all = new MemoryStream();
        var dump = await server.PgDumpDataAsync(_connectionString!, ct);
        all.Write(dump);

        // Plus every row of every table as text, which does not depend on pg_dump matching the server's version.
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(ct);
        var tables = new List<string>();
        await using (var cmd = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            await using var cmd = new NpgsqlCommand($"SELECT t::text FROM public.\"{table}\" t", connection);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                all.Write(Encoding.UTF8.GetBytes(reader.GetString(0) + "\n"));
            }
        }

        return all.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        foreach (var database in _databases)
        {
            await server.DropDatabaseAsync(database, CancellationToken.None);
        }

        _dir.Delete(recursive: true);
    }
}

/// <summary>
/// A throwaway PostgreSQL 15 server for the store tests, started from scratch with initdb (tests run as root, the server
/// as the postgres user) on a free loopback port and stopped on dispose. When PGHA_TEST_STORE_PG holds a connection
/// string, that server is used instead (its user needs CREATEDB).
/// </summary>
public sealed class StorePostgresFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "PGHA_TEST_STORE_PG";
    private const string BinDir = "/usr/lib/postgresql/15/bin";

    private string? _root;
    private string? _dataDir;

    public string AdminConnectionString { get; private set; } = "";

    public bool OwnsServer => _dataDir is not null;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            AdminConnectionString = external;
            return;
        }

        _root = Directory.CreateTempSubdirectory("pgha-store-pg-").FullName;
        _dataDir = Path.Combine(_root, "data");
        await RunAsync("chown", ["-R", "postgres:postgres", _root]);
        await RunAsync("runuser", ["-u", "postgres", "--", $"{BinDir}/initdb", "-D", _dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);

        var port = FreePort();
        var serverOptions = $"-k {_root} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        await RunAsync("runuser", ["-u", "postgres", "--", $"{BinDir}/pg_ctl", "-D", _dataDir, "-l", Path.Combine(_root, "server.log"), "-o", serverOptions, "-w", "-t", "60", "start"]);
        AdminConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false;GSS Encryption Mode=Disable";
    }

    public async Task DisposeAsync()
    {
        if (_dataDir is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsync("runuser", ["-u", "postgres", "--", $"{BinDir}/pg_ctl", "-D", _dataDir, "-m", "immediate", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
            // pg_ctl could not stop it: end the postmaster we started, by the PID it wrote.
            var pidFile = Path.Combine(_dataDir, "postmaster.pid");
            if (File.Exists(pidFile) && int.TryParse((await File.ReadAllLinesAsync(pidFile))[0], out var pid))
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
        }

        Directory.Delete(_root!, recursive: true);
    }

    public async Task<(string Database, string ConnectionString)> CreateDatabaseAsync(CancellationToken ct)
    {
        var name = "pgha_store_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(ct);
            // FILE_COPY (15+) skips WAL-logging the template's pages: about twice as fast with fsync off.
            var strategy = connection.PostgreSqlVersion.Major >= 15 ? " STRATEGY = FILE_COPY" : "";
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}{strategy}", connection);
            await cmd.ExecuteNonQueryAsync(ct);
        }

        var builder = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true };
        return (name, builder.ConnectionString);
    }

    public async Task DropDatabaseAsync(string name, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary><c>pg_dump --data-only</c> of a database; empty when the local pg_dump cannot dump that server (another major version).</summary>
    public async Task<byte[]> PgDumpDataAsync(string connectionString, CancellationToken ct)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var psi = new ProcessStartInfo($"{BinDir}/pg_dump")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--data-only", "-h", b.Host!, "-p", b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", b.Username!, "-d", b.Database! })
        {
            psi.ArgumentList.Add(arg);
        }

        if (b.Password is not null)
        {
            psi.Environment["PGPASSWORD"] = b.Password;
        }

        using var process = Process.Start(psi)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output, ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        await copy;
        if (process.ExitCode != 0)
        {
            if (OwnsServer)
            {
                throw new InvalidOperationException($"pg_dump failed: {await error}");
            }

            return [];
        }

        return output.ToArray();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class StorePostgresCollection : ICollectionFixture<StorePostgresFixture>
{
    public const string Name = "store-postgres";
}
