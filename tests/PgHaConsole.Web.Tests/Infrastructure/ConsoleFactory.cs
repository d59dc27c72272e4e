using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PgHaConsole.Web.Tests.Infrastructure;

/// <summary>
/// The real console in-process on its embedded SQLite store (a temp directory), bootstrapped with an admin API
/// token; every log line is captured so tests can search it for secrets.
/// </summary>
public class ConsoleFactory : WebApplicationFactory<Program>
{
    public const string AdminToken = "phc_test-admin-token-0123456789abcdef";
    public const string AdminPassword = "test-admin-password";

    private readonly string? _createdDataDirectory;

    public ConsoleFactory() => DataDirectory = _createdDataDirectory = Directory.CreateTempSubdirectory("pghaconsole-web-").FullName;

    /// <summary>Used by <see cref="OnStoreOf"/> (xUnit wants one public constructor on a fixture).</summary>
    private ConsoleFactory(string dataDirectory) => DataDirectory = dataDirectory;

    /// <summary>A second instance on the store (and key ring, unless <paramref name="keyRingDirectory"/> says otherwise) of <paramref name="dataDirectory"/>.</summary>
    public static ConsoleFactory OnStoreOf(string dataDirectory, string? keyRingDirectory = null) =>
        new(dataDirectory) { KeyRingDirectory = keyRingDirectory };

    public string DataDirectory { get; }

    /// <summary>Overrides <c>PgHaConsole:DataProtection:KeyRingDirectory</c> (default: under the data directory).</summary>
    public string? KeyRingDirectory { get; init; }

    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>The host environment (Development unless a test is about the production profile).</summary>
    protected virtual string EnvironmentName => "Development";

    /// <summary>False for a console that starts on an empty store (the first admin is created through the form).</summary>
    protected virtual bool Bootstrap => true;

    /// <summary>Extra configuration a derived factory needs.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        // Generous limits: many tests of one class sign in or fail a token from one client.
        ["PgHaConsole:Security:SignInPermitsPerMinute"] = "1000",
        ["PgHaConsole:Security:FailedTokenPermitsPerMinute"] = "1000",
        // Sessions are checked against the store at most this often: short, so a test sees a demotion take effect.
        ["PgHaConsole:Security:SessionRevalidationInterval"] = "00:00:00.200",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        builder.UseSetting("PgHaConsole:DataDirectory", DataDirectory);
        if (KeyRingDirectory is not null)
        {
            builder.UseSetting("PgHaConsole:DataProtection:KeyRingDirectory", KeyRingDirectory);
        }

        if (Bootstrap)
        {
            builder.UseSetting("PgHaConsole:Bootstrap:AdminPassword", AdminPassword);
            builder.UseSetting("PgHaConsole:Bootstrap:ApiToken", AdminToken);
        }

        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Debug);
            logging.AddProvider(new CollectingLoggerProvider(Logs));
        });
    }

    public HttpClient CreateClientWithToken(string? token)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Creates a token of the given role through the API (as the admin) and returns its value.</summary>
    public async Task<string> CreateTokenAsync(string role)
    {
        using var admin = CreateClientWithToken(AdminToken);
        using var response = await admin.PostAsJsonAsync("/api/tokens", new { name = $"test-{role}-{Guid.NewGuid():N}", role });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<TokenBody>();
        return body!.Token;
    }

    private sealed record TokenBody(Guid Id, string Name, string Role, string Token);

    /// <summary>Creates a valid cluster through the API (as the admin), named <paramref name="prefix"/> and a random suffix.</summary>
    public async Task<(Guid Id, string Name)> CreateClusterAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..14];
        using var admin = CreateClientWithToken(AdminToken);
        using var created = await admin.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster(name));
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        return ((await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetGuid(), name);
    }

    /// <summary>Every Hangfire job the store knows of, in any state: "nothing was queued" is this count unchanged.</summary>
    public long HangfireJobs()
    {
        var stats = Services.GetRequiredService<Hangfire.JobStorage>().GetMonitoringApi().GetStatistics();
        return stats.Enqueued + stats.Scheduled + stats.Processing + stats.Succeeded + stats.Failed + stats.Deleted;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (_createdDataDirectory is null)
        {
            return;
        }

        try
        {
            Directory.Delete(_createdDataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // temp directory; best effort
        }
    }

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CollectingLogger(categoryName, sink);

        public void Dispose()
        {
        }
    }

    private sealed class CollectingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
