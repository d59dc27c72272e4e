using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Infrastructure.History;

public static class HistoryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the health history (snapshots, events, rollups, retention) and the alert senders: options
    /// <c>PgHaConsole:History</c> and <c>PgHaConsole:Alerts</c> (validated at start), <see cref="IHistoryStore"/>,
    /// <see cref="HealthRecorder"/>, <see cref="AlertDispatcher"/>, the Hangfire job adapters and the hosted service that
    /// registers the recurring jobs. Needs <c>AddPgHaConsoleStore</c>; uses <see cref="ITopologyMonitor"/> and
    /// <see cref="IOperationJournal"/> when registered.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleHistory(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        // Bound from IConfiguration when the host has one (the web app); defaults otherwise (tests, tools).
        services.AddOptions<HistoryOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(HistoryOptions.SectionName).Bind(o))
            .ValidateOnStart();
        services.AddOptions<AlertOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(AlertOptions.SectionName).Bind(o))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>();
        services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();

        services.AddSingleton<IHistoryStore>(sp => new HistoryStore(
            sp.GetRequiredService<IStoreConnectionFactory>(),
            sp.GetRequiredService<IOptions<HistoryOptions>>().Value.SnapshotInterval));
        services.AddHttpClient(WebhookAlertSender.HttpClientName);
        services.AddSingleton<IAlertSender, WebhookAlertSender>();
        services.AddSingleton<IAlertSender, SmtpAlertSender>();
        services.AddSingleton<AlertDispatcher>();
        // The monitor is another component's: resolved when registered, an empty one otherwise (nothing recorded).
        services.AddSingleton(sp => new HealthRecorder(
            sp.GetService<ITopologyMonitor>() ?? NoTopology.Instance,
            sp.GetRequiredService<IHistoryStore>(),
            sp.GetRequiredService<IOptionsMonitor<HistoryOptions>>(),
            sp.GetService<IOperationJournal>(),
            sp.GetRequiredService<AlertDispatcher>(),
            sp.GetService<ILogger<HealthRecorder>>(),
            sp.GetService<Instances.IClusterLeases>()));
        services.AddSingleton(sp => new LiveEventRecorder(
            sp.GetService<ITopologyMonitor>() ?? NoTopology.Instance,
            sp.GetRequiredService<IHistoryStore>(),
            sp.GetService<ILogger<LiveEventRecorder>>(),
            sp.GetService<Instances.IClusterLeases>()));
        services.AddHostedService(sp => sp.GetRequiredService<LiveEventRecorder>());
        services.AddTransient<HistoryJobs>();
        services.AddHostedService<HistoryJobRegistrar>();
        services.AddHostedService<HealthRecordingService>();
        return services;
    }

    private sealed class NoTopology : ITopologyMonitor
    {
        public static readonly NoTopology Instance = new();

        public ClusterTopology? GetLatest(Guid clusterId) => null;

        public IReadOnlyList<ClusterTopology> GetAll() => [];

        public async IAsyncEnumerable<ClusterTopology> WatchAsync(Guid clusterId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public Task<ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken) => Task.FromResult<ClusterTopology?>(null);
    }
}
