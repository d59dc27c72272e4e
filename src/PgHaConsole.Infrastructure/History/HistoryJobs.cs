using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PgHaConsole.Infrastructure.History;

/// <summary>Hangfire job adapters: thin, no arguments but the cancellation token.</summary>
public sealed class HistoryJobs(IHistoryStore store, TimeProvider time, IOptionsMonitor<HistoryOptions> options, ILogger<HistoryJobs> logger)
{
    public const string SnapshotJobId = "history-snapshot";
    public const string MaintenanceJobId = "history-maintenance";

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
/// Registers the maintenance job (rollups and retention, every minute, idempotent: one run per minute across the
/// instances sharing a Hangfire storage) and removes the snapshot job of earlier versions: snapshots are taken by
/// <see cref="HealthRecordingService"/> in each instance, for the clusters whose lease it holds.
/// </summary>
public sealed class HistoryJobRegistrar(IServiceProvider services, ILogger<HistoryJobRegistrar> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var manager = services.GetService<IRecurringJobManager>();
        if (manager is null)
        {
            logger.LogWarning("Hangfire is not configured: the health history is not rolled up");
            return Task.CompletedTask;
        }

        manager.RemoveIfExists(HistoryJobs.SnapshotJobId);
        manager.AddOrUpdate<HistoryJobs>(HistoryJobs.MaintenanceJobId, j => j.MaintainAsync(CancellationToken.None), Cron.Minutely(), new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Takes a snapshot every <see cref="HistoryOptions.SnapshotInterval"/> (on the grid: samples stay evenly spaced) in
/// this instance. Not a Hangfire recurring job: that fires once per slot on whichever instance picks it up, while each
/// cluster must be recorded by the instance that holds its lease (the only one whose recorder compares its pictures).
/// </summary>
public sealed class HealthRecordingService(HealthRecorder recorder, TimeProvider time, IOptionsMonitor<HistoryOptions> options, ILogger<HealthRecordingService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = options.CurrentValue.SnapshotInterval;
            var now = time.GetUtcNow();
            var next = interval.Ticks - (now.UtcTicks % interval.Ticks);
            await Task.Delay(TimeSpan.FromTicks(next), time, stoppingToken);
            try
            {
                await recorder.RecordAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Recording the health history failed");
            }
        }
    }
}