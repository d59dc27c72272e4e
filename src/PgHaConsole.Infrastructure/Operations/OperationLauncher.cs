using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgHaConsole.Core.Operations;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>A kind of operation the launcher can start (setup, switchover, rejoin, rebuild).</summary>
public interface IOperationKind
{
    string Kind { get; }

    IReadOnlyList<string> StepNames { get; }

    /// <summary>The operation's steps for this cluster; <paramref name="parameters"/> is the JSON the operator's request carried.</summary>
    OperationDefinition Create(ClusterEnvironment env, JsonElement parameters);
}

public static class OperationKindExtensions
{
    /// <summary>The registered kind named <paramref name="kind"/>; <see cref="ArgumentException"/> when none is.</summary>
    public static IOperationKind Find(this IEnumerable<IOperationKind> kinds, string kind) =>
        kinds.FirstOrDefault(k => k.Kind == kind) ?? throw new ArgumentException($"Unknown operation kind '{kind}'.", nameof(kind));
}

/// <summary>Why a launch was refused (nothing was started).</summary>
public sealed class OperationRefusedException(string message, int statusCode, string? auditDetail = null) : Exception(message)
{
    /// <summary>404 (no such cluster or operation), 409 (cluster busy, or the operation cannot be resumed).</summary>
    public int StatusCode { get; } = statusCode;

    /// <summary>What the audit log records as the reason (the message when not given).</summary>
    public string AuditDetail { get; } = auditDetail ?? message;
}

/// <summary>
/// Starts operations: a journal entry, the cluster's lock (taken here, so two requests cannot both start), then a
/// Hangfire job that runs it through the one <see cref="OperationRunner"/>. Resume re-enqueues a failed or interrupted
/// operation under the same id: the runner skips its completed steps.
/// </summary>
public sealed partial class OperationLauncher(
    IOperationJournal journal,
    IClusterLock clusterLock,
    IBackgroundJobClient jobs,
    OperationExecutor executor,
    IEnumerable<IOperationKind> kinds,
    ILogger<OperationLauncher> logger)
{
    public async Task<Guid> StartAsync(string kind, Guid clusterId, JsonElement parameters, string requestedBy, CancellationToken ct)
    {
        kinds.Find(kind);
        if (await clusterLock.GetHolderAsync(clusterId, ct) is { } holder)
        {
            throw await BusyAsync(holder, ct);
        }

        var op = await executor.CreateAsync(kind, clusterId, parameters, requestedBy, ct);
        try
        {
            await clusterLock.AcquireAsync(clusterId, op.Id, ct);
        }
        catch (ClusterLockedException ex)
        {
            await journal.SetOperationStatusAsync(op.Id, OperationStatus.Cancelled, "Not started: " + ex.Message, CancellationToken.None);
            throw await BusyAsync(ex.HolderOperationId, ct);
        }

        Enqueue(op.Id, parameters);
        LogStarted(logger, kind, op.Id, clusterId, requestedBy);
        return op.Id;
    }

    /// <summary>Resumes a failed, cancelled or interrupted operation at its first incomplete step.</summary>
    public async Task ResumeAsync(Guid operationId, JsonElement parameters, string requestedBy, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct) ?? throw new OperationRefusedException("No such operation.", 404);
        if (op.Status is not (OperationStatus.Failed or OperationStatus.Interrupted or OperationStatus.Cancelled))
        {
            throw new OperationRefusedException($"The operation is {op.Status.ToString().ToLowerInvariant()}: only a failed, cancelled or interrupted operation can be resumed.", 409);
        }

        try
        {
            await clusterLock.AcquireAsync(op.ClusterId, op.Id, ct);
        }
        catch (ClusterLockedException ex)
        {
            throw await BusyAsync(ex.HolderOperationId, ct);
        }

        // The new request's fields override the original ones (e.g. a typed confirmation); the rest stays as started.
        var merged = Merge(op.ParametersJson, parameters);
        await journal.SetParametersAsync(op.Id, merged.GetRawText(), ct);
        await journal.SetOperationStatusAsync(op.Id, OperationStatus.Pending, null, ct);
        Enqueue(op.Id, merged);
        LogResumed(logger, op.Kind, op.Id, requestedBy);
    }

    /// <summary>Shallow merge of two JSON objects: <paramref name="update"/>'s properties win.</summary>
    public static JsonElement Merge(string? originalJson, JsonElement update)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrWhiteSpace(originalJson))
        {
            using var original = JsonDocument.Parse(originalJson);
            if (original.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in original.RootElement.EnumerateObject())
                {
                    result[p.Name] = p.Value.Clone();
                }
            }
        }

        if (update.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in update.EnumerateObject())
            {
                result[p.Name] = p.Value.Clone();
            }
        }

        return JsonSerializer.SerializeToElement(result);
    }

    private void Enqueue(Guid operationId, JsonElement parameters) =>
        jobs.Enqueue<OperationJob>(job => job.RunAsync(operationId, parameters.GetRawText(), CancellationToken.None));

    private Task<OperationRefusedException> BusyAsync(Guid holder, CancellationToken ct) => Busy(journal, holder, ct);

    /// <summary>The 409 for a cluster another operation holds, naming that operation (also the rollback's answer).</summary>
    public static async Task<OperationRefusedException> Busy(IOperationJournal journal, Guid holder, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(journal);
        var other = await journal.GetAsync(holder, ct);
        var what = other is null ? "another operation" : $"the {other.Kind} operation {other.Id} ({other.Status.ToString().ToLowerInvariant()})";
        return new OperationRefusedException($"The cluster is busy: {what} holds it. One operation per cluster at a time; resume or finish that one first.", 409);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} operation {OperationId} on cluster {ClusterId} started by {Actor}")]
    private static partial void LogStarted(ILogger logger, string kind, Guid operationId, Guid clusterId, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} operation {OperationId} resumed by {Actor}")]
    private static partial void LogResumed(ILogger logger, string kind, Guid operationId, string actor);
}

/// <summary>
/// The Hangfire job that runs an operation (through <see cref="OperationExecutor"/>). Never retried by Hangfire: a
/// cluster-changing job is resumed only by an operator, after looking (the runner then skips what was done).
/// </summary>
public sealed partial class OperationJob(OperationExecutor executor, IOperationJournal journal, IHostApplicationLifetime lifetime, ILogger<OperationJob> logger)
{
    // No [DisableConcurrentExecution]: Hangfire's lock is per method, so it made every operation on every cluster wait
    // for the one running (#17). The cluster lock in the store, taken when the operation is created, is the right one:
    // one operation per cluster, clusters in parallel.
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public async Task RunAsync(Guid operationId, string parametersJson, CancellationToken cancellationToken)
    {
        // Only a Pending operation (just started or resumed by an operator) runs. A job Hangfire delivers again on its
        // own (its server died mid-run: a shared storage re-queues it) finds it Running, Interrupted or finished and
        // does nothing: an interrupted operation is resumed by an operator only.
        var op = await journal.GetAsync(operationId, cancellationToken);
        if (op is null || op.Status != Core.Operations.OperationStatus.Pending)
        {
            LogNotPending(logger, operationId, op?.Status.ToString() ?? "missing");
            return;
        }

        await executor.ExecuteAsync(operationId, parametersJson, lifetime.ApplicationStopping, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job for operation {OperationId} not run: the operation is {Status}, not pending (never re-run without an operator)")]
    private static partial void LogNotPending(ILogger logger, Guid operationId, string status);
}
