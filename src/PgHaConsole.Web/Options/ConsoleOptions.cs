using Microsoft.Extensions.Options;

namespace PgHaConsole.Web.Options;

/// <summary>Configuration section <c>PgHaConsole</c>.</summary>
public sealed class ConsoleOptions
{
    public const string SectionName = "PgHaConsole";

    /// <summary>Where the embedded store, the key ring and logs live. Relative paths are resolved against the
    /// current directory at start.</summary>
    public string DataDirectory { get; set; } = ".data";

    public StoreSection Store { get; set; } = new();

    public DataProtectionSection DataProtection { get; set; } = new();

    public BootstrapSection Bootstrap { get; set; } = new();

    public LabSection Lab { get; set; } = new();

    public sealed class StoreSection
    {
        /// <summary>When set, the console's data (and Hangfire's) live in this PostgreSQL database instead of the
        /// embedded SQLite file.</summary>
        public string? PostgresConnectionString { get; set; }
    }

    public sealed class DataProtectionSection
    {
        /// <summary>Key ring directory; defaults to <c>{DataDirectory}/keys</c>.</summary>
        public string? KeyRingDirectory { get; set; }
    }

    public sealed class BootstrapSection
    {
        /// <summary>Used only while the store has no users: creates the first admin with this password.</summary>
        public string? AdminPassword { get; set; }

        public string AdminUserName { get; set; } = "admin";

        /// <summary>Used only while the store has no users: creates an admin API token with exactly this value.</summary>
        public string? ApiToken { get; set; }
    }

    public sealed class LabSection
    {
        /// <summary>The lab's <c>lab.json</c>, offered by "Import lab" (the file's content can also be pasted).</summary>
        public string? LabFile { get; set; }
    }

    public string ResolvedDataDirectory => Path.GetFullPath(DataDirectory);

    public string ResolvedKeyRingDirectory =>
        Path.GetFullPath(DataProtection.KeyRingDirectory ?? Path.Combine(ResolvedDataDirectory, "keys"));

    public string SqlitePath => Path.Combine(ResolvedDataDirectory, "pghaconsole.db");
}

/// <summary>Names every bad key at start instead of failing later on first use.</summary>
public sealed class ConsoleOptionsValidator : IValidateOptions<ConsoleOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var failures = new List<string>();
        const string p = ConsoleOptions.SectionName;
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{p}:DataDirectory must be set (a directory for the embedded store and the key ring).");
        }

        if (options.Store.PostgresConnectionString is { } cs)
        {
            try
            {
                var b = new Npgsql.NpgsqlConnectionStringBuilder(cs);
                if (string.IsNullOrEmpty(b.Host))
                {
                    failures.Add($"{p}:Store:PostgresConnectionString has no Host.");
                }
            }
            catch (ArgumentException ex)
            {
                failures.Add($"{p}:Store:PostgresConnectionString is not a valid connection string: {ex.Message}");
            }
        }

        if (options.Bootstrap.AdminPassword is { Length: > 0 and < 12 })
        {
            failures.Add($"{p}:Bootstrap:AdminPassword must be at least 12 characters.");
        }

        if (options.Bootstrap.ApiToken is { Length: > 0 and < 24 })
        {
            failures.Add($"{p}:Bootstrap:ApiToken must be at least 24 characters.");
        }

        if (string.IsNullOrWhiteSpace(options.Bootstrap.AdminUserName))
        {
            failures.Add($"{p}:Bootstrap:AdminUserName must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
