using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHaConsole.Infrastructure.Instances;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>
/// Runs on every instance: every heartbeat interval, a Running operation whose heartbeat is older than
/// <see cref="InstanceOptions.OperationStaleAfter"/> (its instance died or lost the store) becomes Interrupted, its
/// cluster lock kept, so that an operator can resume or roll it back from any instance. It never re-runs anything.
/// </summary>
public sealed partial class OperationSweeper(
    IOperationJournal journal,
    IOptions<InstanceOptions> options,
    TimeProvider time,
    ILogger<OperationSweeper> logger) : BackgroundService
{
    /// <summary>One sweep; returns the operations marked interrupted.</summary>
    public async Task<IReadOnlyList<Guid>> SweepAsync(CancellationToken ct)
    {
        var marked = await journal.MarkStaleInterruptedAsync(time.GetUtcNow() - options.Value.OperationStaleAfter, ct);
        foreach (var id in marked)
        {
            LogInterrupted(logger, id, options.Value.OperationStaleAfter.TotalSeconds);
        }

        return marked;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operation {OperationId} is interrupted: its instance has not renewed its heartbeat for {Seconds} s")]
    private static partial void LogInterrupted(ILogger logger, Guid operationId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sweep for operations of dead instances failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
