using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PgHaConsole.Infrastructure.History;

/// <summary>Hangfire job adapters: thin, no arguments but the cancellation token.</summary>
public sealed class HistoryJobs(HealthRecorder recorder, IHistoryStore store, TimeProvider time, IOptionsMonitor<HistoryOptions> options, ILogger<HistoryJobs> logger)
{
    public const string SnapshotJobId = "history-snapshot";
    public const string MaintenanceJobId = "history-maintenance";

    /// <summary>One snapshot of every cluster. A run still going when the next is due makes the next wait a little, never overlap.</summary>
    [DisableConcurrentExecution(timeoutInSeconds: 10)]
    [AutomaticRetry(Attempts = 0, LogEvents = false, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public Task SnapshotAsync(CancellationToken ct) => recorder.RecordAsync(time.GetUtcNow(), ct);

    /// <summary>Rollups (complete minutes and hours) then retention.</summary>
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0, LogEvents = false, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task MaintainAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var rolled = await store.RollupAsync(now, ct);
        var removed = await store.EnforceRetentionAsync(now, options.CurrentValue, ct);
        logger.LogDebug("History maintenance: {Rollups} rollups written; removed {Samples} samples, {Minutes} minute and {Hours} hour rollups, {Events} events",
            rolled, removed.Samples, removed.MinuteRollups, removed.HourRollups, removed.Events);
    }
}

/// <summary>
/// Registers the two recurring jobs at start.
/// <para>
/// Why a Hangfire recurring job with a seconds cron (<c>*/15 * * * * *</c>) rather than a hosted-service timer: with a
/// PostgreSQL store several console processes can share one Hangfire storage, and a recurring job fires once per
/// slot across all of them (a timer would record in each); the dashboard shows it and its failures. The console's
/// Hangfire server polls schedules every second, which is what a seconds-level cron needs. Samples stay evenly spaced
/// because the recorder snaps each sample's time to the interval grid (and ignores a second run in the same slot).
/// Rollups and retention run every minute.
/// </para>
/// </summary>
public sealed class HistoryJobRegistrar(IServiceProvider services, IOptionsMonitor<HistoryOptions> options, ILogger<HistoryJobRegistrar> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var manager = services.GetService<IRecurringJobManager>();
        if (manager is null)
        {
            logger.LogWarning("Hangfire is not configured: the health history is not recorded");
            return Task.CompletedTask;
        }

        var utc = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        manager.AddOrUpdate<HistoryJobs>(HistoryJobs.SnapshotJobId, j => j.SnapshotAsync(CancellationToken.None), options.CurrentValue.SnapshotCron(), utc);
        manager.AddOrUpdate<HistoryJobs>(HistoryJobs.MaintenanceJobId, j => j.MaintainAsync(CancellationToken.None), Cron.Minutely(), utc);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
