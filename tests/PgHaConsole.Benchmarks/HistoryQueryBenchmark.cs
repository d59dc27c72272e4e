using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// history-query: thirty days of history for 2 nodes at 15 s, stored as retention keeps it (48 h raw, 30 days of
/// 1-minute rollups, hour rollups), on SQLite and on PostgreSQL; times the 30-day and 1-hour graph queries (50 runs
/// each: median and p95, measured around the store call in this process) and prints store growth per node-day.
/// PostgreSQL: PGHA_BENCH_PG (a connection string whose user may create databases), else a throwaway PostgreSQL 15.
/// </summary>
public static class HistoryQueryBenchmark
{
    private const int Runs = 50;
    private const int Nodes = 2;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    public static async Task<int> RunAsync(string[] args)
    {
        _ = args;
        var now = new DateTimeOffset(2026, 3, 31, 12, 0, 7, TimeSpan.Zero);
        var cluster = Guid.NewGuid();
        var (raw, minutes, hours) = Generate(cluster, now);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"history-query: 30 days × {Nodes} nodes × 15 s = {raw.Count} samples generated; stored: {raw.Count(s => s.AtMs >= now.AddHours(-48).ToUnixTimeMilliseconds())} raw (48 h), {minutes.Count} minute rollups, {hours.Count} hour rollups"));

        var dir = Directory.CreateTempSubdirectory("pgha-bench-history-");
        try
        {
            var sqlite = new StoreOptions { SqlitePath = Path.Combine(dir.FullName, "store.db") };
            await MeasureAsync("SQLite", sqlite, cluster, now, raw, minutes, hours, sizes: () => SqliteSizesAsync(sqlite.SqlitePath));
            SqliteConnection.ClearAllPools();

            var external = Environment.GetEnvironmentVariable("PGHA_BENCH_PG");
            await using var server = string.IsNullOrWhiteSpace(external) ? await ThrowawayPostgres.StartAsync(dir.FullName) : null;
            var admin = external ?? server!.ConnectionString;
            var db = "pgha_bench_" + Guid.NewGuid().ToString("N")[..10];
            await using (var c = new NpgsqlConnection(admin))
            {
                await c.OpenAsync();
                await c.ExecuteAsync($"CREATE DATABASE {db}");
            }

            var pg = new StoreOptions { PostgresConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = db, Pooling = true }.ConnectionString };
            try
            {
                await MeasureAsync("PostgreSQL", pg, cluster, now, raw, minutes, hours, sizes: () => PostgresSizesAsync(pg.PostgresConnectionString!));
            }
            finally
            {
                NpgsqlConnection.ClearAllPools();
                await using var c = new NpgsqlConnection(admin);
                await c.OpenAsync();
                await c.ExecuteAsync($"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            }

            return 0;
        }
        finally
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // temp; best effort
            }
        }
    }

    private static (List<HealthSample> Raw, IReadOnlyList<HealthRollup> Minutes, IReadOnlyList<HealthRollup> Hours) Generate(Guid cluster, DateTimeOffset now)
    {
        var end = now.ToUnixTimeMilliseconds() / 15_000 * 15_000;
        var start = end - (long)TimeSpan.FromDays(30).TotalMilliseconds;
        var random = new Random(7);
        var raw = new List<HealthSample>(345_600);
        for (var at = start; at < end; at += 15_000)
        {
            var lag = random.Next(0, 200_000);
            raw.Add(new HealthSample
            {
                ClusterId = cluster, Node = "pg1", AtMs = at, Reachable = true, PgUp = true, Role = NodeRole.Primary, Timeline = 3,
                Connections = 20 + random.Next(0, 30), MaxConnections = 200, HoldsWriteVip = true, HoldsReadVip = true, VrrpState = "Master",
                SlotRetainedBytes = 16_777_216 + lag,
            });
            raw.Add(new HealthSample
            {
                ClusterId = cluster, Node = "pg2", AtMs = at, Reachable = true, PgUp = random.Next(0, 1000) != 0, Role = NodeRole.Standby, Timeline = 3,
                LagBytes = lag, LagSeconds = lag / 100_000.0, Connections = random.Next(0, 10), MaxConnections = 200, VrrpState = "Backup",
            });
        }

        var minutes = Rollups.FromSamples(raw, Rollups.Minute);
        var hours = Rollups.FromRollups(minutes.Where(m => m.BucketMs < Rollups.BucketOf(end, Rollups.Hour)), Rollups.Hour);
        return (raw, minutes, hours);
    }

    private static async Task MeasureAsync(
        string name, StoreOptions options, Guid cluster, DateTimeOffset now,
        List<HealthSample> raw, IReadOnlyList<HealthRollup> minutes, IReadOnlyList<HealthRollup> hours, Func<Task<(long Raw, long Rollup)>> sizes)
    {
        StoreTypeHandlers.Register();
        await new StoreMigrator(options).MigrateAsync(CancellationToken.None);
        var factory = StoreConnectionFactory.Create(options);
        var store = new HistoryStore(factory, Interval);
        var ct = CancellationToken.None;

        var seed = Stopwatch.StartNew();
        var kept = raw.Where(s => s.AtMs >= now.AddHours(-48).ToUnixTimeMilliseconds()).ToList();
        var empty = await FileSizeAsync(options);
        await store.InsertSamplesAsync(kept, ct);
        var withRaw = await FileSizeAsync(options);
        await store.UpsertRollupsAsync(minutes, ct);
        await store.UpsertRollupsAsync(hours, ct);
        var withRollups = await FileSizeAsync(options);
        seed.Stop();
        _fileDeltas = (withRaw - empty, withRollups - withRaw);

        var month = await TimeAsync(() => store.QueryGraphAsync(cluster, now.AddDays(-30), now, ct));
        var hour = await TimeAsync(() => store.QueryGraphAsync(cluster, now.AddHours(-1), now, ct));
        var (rawBytes, rollupBytes) = await sizes();

        var minuteRows = minutes.Count;
        var hourRows = hours.Count;
        // Bytes per row of each level (rollup bytes split by row count: both levels share one table), then per node-day.
        var rawPerRow = (double)rawBytes / kept.Count;
        var rollupPerRow = (double)rollupBytes / (minuteRows + hourRows);
        var rawPerNodeDay = rawPerRow * 5760;
        var minutePerNodeDay = rollupPerRow * 1440;
        var hourPerNodeDay = rollupPerRow * 24;
        var steadyPerNode = (rawPerNodeDay * 2) + (minutePerNodeDay * 30) + (hourPerNodeDay * 365);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            [{name}] seeded in {seed.Elapsed.TotalSeconds:0.0} s
              30-day graph ({month.Points} points, resolution {month.Resolution} s): median {month.Median:0.00} ms, p95 {month.P95:0.00} ms  (target ≤ 50 ms)
              1-hour graph ({hour.Points} points, raw samples):        median {hour.Median:0.00} ms, p95 {hour.P95:0.00} ms  (target ≤ 10 ms)
              store: raw samples {rawBytes / 1024.0 / 1024.0:0.00} MiB for {kept.Count} rows ({rawPerRow:0} B/row), rollups {rollupBytes / 1024.0 / 1024.0:0.00} MiB for {minuteRows + hourRows} rows ({rollupPerRow:0} B/row)
              growth per node-day: raw {rawPerNodeDay / 1024:0} KiB (kept 2 days), minute rollups {minutePerNodeDay / 1024:0} KiB (kept 30 days), hour rollups {hourPerNodeDay / 1024:0.0} KiB (kept 365 days)
              steady state per node with default retention: {steadyPerNode / 1024 / 1024:0.0} MiB
            """));
        if (factory is IAsyncDisposable d)
        {
            await d.DisposeAsync();
        }
    }

    private static (long Raw, long Rollup) _fileDeltas;

    // SQLite: the database file's size after a checkpoint (0 for PostgreSQL, measured per table instead).
    private static async Task<long> FileSizeAsync(StoreOptions options)
    {
        if (options.Kind != StoreKind.Sqlite)
        {
            return 0;
        }

        // The store's pooled connections would keep the checkpoint from moving every page into the main file.
        SqliteConnection.ClearAllPools();
        await using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = options.SqlitePath }.ToString());
        await c.OpenAsync();
        await c.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE)");
        return new FileInfo(options.SqlitePath).Length;
    }

    private static async Task<(double Median, double P95, int Points, int Resolution)> TimeAsync(Func<Task<HistorySeries>> query)
    {
        var warm = await query();
        var times = new List<double>(Runs);
        for (var i = 0; i < Runs; i++)
        {
            var sw = Stopwatch.StartNew();
            await query();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return (times[Runs / 2], times[(int)Math.Ceiling(Runs * 0.95) - 1], warm.Points.Count, warm.ResolutionSeconds);
    }

    private static async Task<(long Raw, long Rollup)> SqliteSizesAsync(string path)
    {
        await using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path }.ToString());
        await c.OpenAsync();
        await c.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE)");
        try
        {
            // dbstat gives bytes per table and index when SQLite was built with it.
            var rawBytes = await c.ExecuteScalarAsync<long>("SELECT SUM(pgsize) FROM dbstat WHERE name IN ('health_sample', 'ix_health_sample_at')");
            var rollupBytes = await c.ExecuteScalarAsync<long>("SELECT SUM(pgsize) FROM dbstat WHERE name IN ('health_rollup', 'ix_health_rollup_res_bucket')");
            return (rawBytes, rollupBytes);
        }
        catch (SqliteException)
        {
            // No dbstat in this SQLite build: the growth of the file while each level was written.
            return _fileDeltas;
        }
    }

    private static async Task<(long Raw, long Rollup)> PostgresSizesAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await c.ExecuteAsync("VACUUM ANALYZE health_sample");
        await c.ExecuteAsync("VACUUM ANALYZE health_rollup");
        var raw = await c.ExecuteScalarAsync<long>("SELECT pg_total_relation_size('health_sample')");
        var rollup = await c.ExecuteScalarAsync<long>("SELECT pg_total_relation_size('health_rollup')");
        return (raw, rollup);
    }

    /// <summary>A PostgreSQL 15 started with initdb/pg_ctl in a temp directory on a free loopback port (as postgres when root).</summary>
    private sealed class ThrowawayPostgres : IAsyncDisposable
    {
        private const string BinDir = "/usr/lib/postgresql/15/bin";
        private readonly string _dataDir;
        private readonly string _root;

        private ThrowawayPostgres(string dataDir, string connectionString)
        {
            _dataDir = dataDir;
            _root = Path.GetDirectoryName(dataDir)!;
            ConnectionString = connectionString;
        }

        public string ConnectionString { get; }

        public static async Task<ThrowawayPostgres> StartAsync(string scratch)
        {
            // Its own temp directory, handed to the postgres user whole (the scratch directory is root's, mode 0700).
            _ = scratch;
            var root = Directory.CreateTempSubdirectory("pgha-bench-pg-").FullName;
            var data = Path.Combine(root, "data");
            var asRoot = Environment.UserName == "root";
            if (asRoot)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", root]);
            }

            await RunAsUserAsync(asRoot, $"{BinDir}/initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
            int port;
            using (var l = new TcpListener(IPAddress.Loopback, 0))
            {
                l.Start();
                port = ((IPEndPoint)l.LocalEndpoint).Port;
            }

            await RunAsUserAsync(asRoot, $"{BinDir}/pg_ctl",
                ["-D", data, "-l", Path.Combine(root, "server.log"), "-o", $"-k {root} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off", "-w", "-t", "60", "start"]);
            return new ThrowawayPostgres(data, $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false;GSS Encryption Mode=Disable");
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await RunAsUserAsync(Environment.UserName == "root", $"{BinDir}/pg_ctl", ["-D", _dataDir, "-m", "immediate", "-w", "stop"]);
            Directory.Delete(_root, recursive: true);
        }

        private static Task RunAsUserAsync(bool asRoot, string file, IReadOnlyList<string> args) =>
            asRoot ? RunAsync("runuser", ["-u", "postgres", "--", file, .. args]) : RunAsync(file, args);

        private static async Task RunAsync(string file, IReadOnlyList<string> args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} exited {p.ExitCode}: {await stdout}{await stderr}");
            }
        }
    }
}
