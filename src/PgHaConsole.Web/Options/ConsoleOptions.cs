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

    public SecuritySection Security { get; set; } = new();

    public HttpsSection Https { get; set; } = new();

    public ReverseProxySection ReverseProxy { get; set; } = new();

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

    /// <summary>Brute-force limits and session lifetime (issue #15).</summary>
    public sealed class SecuritySection
    {
        /// <summary>Sign-in and first-admin posts per client address and minute (then 429).</summary>
        public int SignInPermitsPerMinute { get; set; } = 10;

        /// <summary>Failed API-token authentications per client address and minute; beyond, every token call from it is 429.</summary>
        public int FailedTokenPermitsPerMinute { get; set; } = 20;

        /// <summary>Failed sign-ins in a row before the user is locked out.</summary>
        public int MaxFailedSignIns { get; set; } = 5;

        public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>How often a session (cookie or open page) is checked against the store: a removed, disabled,
        /// demoted user or a changed password ends it within this time.</summary>
        public TimeSpan SessionRevalidationInterval { get; set; } = TimeSpan.FromMinutes(1);

        /// <summary>Sliding lifetime of the sign-in cookie.</summary>
        public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);
    }

    /// <summary>TLS: Kestrel's own certificate settings (<c>Kestrel:Endpoints:Https</c>) serve HTTPS; these add the policy.</summary>
    public sealed class HttpsSection
    {
        /// <summary>Cookies only over HTTPS (Secure), HTTP redirected to HTTPS, and HSTS sent. Set it when the console
        /// (or the proxy in front of it) serves HTTPS.</summary>
        public bool Require { get; set; }

        public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);
    }

    /// <summary>Behind a reverse proxy that terminates TLS: whose X-Forwarded-For/-Proto to believe.</summary>
    public sealed class ReverseProxySection
    {
        /// <summary>Addresses of the proxies (e.g. <c>10.0.0.5</c>); loopback is always trusted when forwarding is on.</summary>
        public string[] KnownProxies { get; set; } = [];

        /// <summary>Networks of the proxies in CIDR form (e.g. <c>10.0.0.0/24</c>).</summary>
        public string[] KnownNetworks { get; set; } = [];

        /// <summary>Apply X-Forwarded-For and X-Forwarded-Proto from the proxies above (and loopback).</summary>
        public bool Enabled { get; set; }
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

        if (options.Security.SignInPermitsPerMinute < 1 || options.Security.FailedTokenPermitsPerMinute < 1 || options.Security.MaxFailedSignIns < 1)
        {
            failures.Add($"{p}:Security: SignInPermitsPerMinute, FailedTokenPermitsPerMinute and MaxFailedSignIns must be at least 1.");
        }

        if (options.Security.LockoutDuration <= TimeSpan.Zero || options.Security.SessionRevalidationInterval <= TimeSpan.Zero
            || options.Security.SessionLifetime <= TimeSpan.Zero)
        {
            failures.Add($"{p}:Security: LockoutDuration, SessionRevalidationInterval and SessionLifetime must be positive.");
        }

        foreach (var proxy in options.ReverseProxy.KnownProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"{p}:ReverseProxy:KnownProxies: '{proxy}' is not an IP address.");
            }
        }

        foreach (var network in options.ReverseProxy.KnownNetworks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                failures.Add($"{p}:ReverseProxy:KnownNetworks: '{network}' is not a network in CIDR form (10.0.0.0/24).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
