using DbUp;
using DbUp.Engine;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>Applies the plain SQL scripts under <c>migrations/&lt;dialect&gt;/</c> (embedded in this assembly) with DbUp.</summary>
public sealed class StoreMigrator
{
    private readonly StoreOptions _options;
    private readonly ILogger<StoreMigrator> _logger;

    public StoreMigrator(StoreOptions options, ILogger<StoreMigrator>? logger = null)
    {
        _options = options;
        _logger = logger ?? NullLogger<StoreMigrator>.Instance;
    }

    /// <summary>Resource-name prefix of the scripts for a dialect (set by the csproj's LogicalName).</summary>
    public static string ScriptPrefix(StoreKind kind) => kind == StoreKind.Postgres ? "migrations.postgresql." : "migrations.sqlite.";

    /// <summary>Names of the scripts this build carries for a dialect, in the order DbUp runs them.</summary>
    public static IReadOnlyList<string> ScriptNames(StoreKind kind)
    {
        var prefix = ScriptPrefix(kind);
        return typeof(StoreMigrator).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Applies the scripts not yet applied; returns their names. Throws <see cref="StoreMigrationException"/> when one fails.</summary>
    public Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct) =>
        // DbUp is synchronous; run it off the caller's thread so start-up code can await it.
        Task.Run(() => Migrate(ct), ct);

    private IReadOnlyList<string> Migrate(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var kind = _options.Kind;
        var prefix = ScriptPrefix(kind);
        if (kind == StoreKind.Sqlite)
        {
            // SQLite creates the file but not its directory.
            var dir = Path.GetDirectoryName(Path.GetFullPath(_options.SqlitePath));
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }
        }

        var builder = kind == StoreKind.Postgres
            ? DeployChanges.To.PostgresqlDatabase(_options.PostgresConnectionString!)
            : DeployChanges.To.SqliteDatabase(SqliteStoreConnectionFactory.BuildConnectionString(_options.SqlitePath, _options.SqliteBusyTimeout));

        var engine = builder
            .WithScriptsEmbeddedInAssembly(typeof(StoreMigrator).Assembly, name => name.StartsWith(prefix, StringComparison.Ordinal))
            .WithTransactionPerScript()
            .LogTo(new DbUpLog(_logger))
            .Build();

        var result = engine.PerformUpgrade();
        if (!result.Successful)
        {
            var script = result.ErrorScript?.Name ?? "(unknown script)";
            throw new StoreMigrationException(
                $"The {kind} store migration '{script}' failed: {result.Error?.Message}", script, result.Error);
        }

        var applied = result.Scripts.Select(s => s.Name).ToList();
        _logger.LogInformation("Store ({Kind}) migrated: {Count} script(s) applied", kind, applied.Count);
        return applied;
    }

    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogTrace("DbUp: {Message}", Format(format, args));

        public void LogDebug(string format, params object[] args) => logger.LogDebug("DbUp: {Message}", Format(format, args));

        public void LogInformation(string format, params object[] args) => logger.LogDebug("DbUp: {Message}", Format(format, args));

        public void LogWarning(string format, params object[] args) => logger.LogWarning("DbUp: {Message}", Format(format, args));

        public void LogError(string format, params object[] args) => logger.LogError("DbUp: {Message}", Format(format, args));

        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, "DbUp: {Message}", Format(format, args));

        private static string Format(string format, object[] args) =>
            args.Length == 0 ? format : string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args);
    }
}

/// <summary>A migration script failed; the store is left at the last script that succeeded (one transaction per script).</summary>
public sealed class StoreMigrationException : Exception
{
    public StoreMigrationException(string message, string scriptName, Exception? inner)
        : base(message, inner) => ScriptName = scriptName;

    public string ScriptName { get; }
}
