using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>What the caller (a Hangfire job, a test) gives a run besides the operation's id and definition.</summary>
public sealed record OperationRunContext
{
    public required ClusterSpec Cluster { get; init; }

    /// <summary>Every secret of the cluster registered: every log line, message and error goes through it.</summary>
    public required SecretMasker Masker { get; init; }

    /// <summary>
    /// Cancelled when the console is shutting down. A cancellation seen while this is cancelled leaves the operation
    /// Interrupted with its lock kept (the operator decides); any other cancellation is the operator's: Cancelled.
    /// </summary>
    public CancellationToken ApplicationStopping { get; init; }
}

/// <summary>
/// Executes any operation step by step and journals every state change and log line. A run with the id of an
/// operation already partly done is a resume: completed (Succeeded or Skipped) steps are not redone.
/// </summary>
public sealed partial class OperationRunner
{
    private const int LogBatch = 500;

    private readonly IOperationJournal _journal;
    private readonly IClusterLock _lock;
    private readonly OperationLogStore _logStore;
    private readonly TimeProvider _time;
    private readonly ConsoleInstance _instance;
    private readonly IOptions<InstanceOptions> _instanceOptions;
    private readonly ILogger<OperationRunner> _logger;

    private readonly Topology.ITopologyMonitor? _monitor;

    public OperationRunner(
        IOperationJournal journal,
        IClusterLock clusterLock,
        OperationLogStore logStore,
        TimeProvider time,
        ConsoleInstance instance,
        IOptions<InstanceOptions> instanceOptions,
        ILogger<OperationRunner> logger,
        Topology.ITopologyMonitor? monitor = null)
    {
        _monitor = monitor;
        _journal = journal;
        _lock = clusterLock;
        _logStore = logStore;
        _time = time;
        _instance = instance;
        _instanceOptions = instanceOptions;
        _logger = logger;
    }

    /// <summary>
    /// Runs (or resumes) the operation; returns its final status. Throws <see cref="ClusterLockedException"/> (nothing
    /// run, operation unchanged) when another operation holds the cluster. The lock is released when the operation
    /// ends Succeeded, Failed or Cancelled, and kept when it ends Interrupted.
    /// </summary>
    public async Task<OperationStatus> RunAsync(Guid operationId, OperationDefinition definition, OperationRunContext context, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(context);

        var operation = await _journal.GetAsync(operationId, ct)
            ?? throw new InvalidOperationException($"The operation {operationId} does not exist.");
        EnsureMatches(operation, definition);
        if (operation.Status == OperationStatus.Succeeded)
        {
            return OperationStatus.Succeeded;
        }

        await _lock.AcquireAsync(operation.ClusterId, operationId, ct);
        if (!await _journal.ClaimAsync(operationId, _instance.Id, _instance.Name, ct))
        {
            // Another instance runs it (or a second delivery of the same job): never run twice.
            var now = await _journal.GetAsync(operationId, ct);
            LogNotClaimed(_logger, operationId, now?.OwnerName ?? "another instance", now?.Status ?? OperationStatus.Running);
            return now?.Status ?? OperationStatus.Running;
        }

        await using var heartbeat = new Heartbeat(this, operationId, ct);
        try
        {
            return await RunLockedAsync(operation, definition, context, heartbeat, heartbeat.Token);
        }
        finally
        {
            // Also on an unexpected error (the store went away): watchers must not wait forever.
            _logStore.Complete(operationId);
        }
    }

    /// <summary>
    /// Runs one step that is not among the operation's own (the rollback of an interrupted switchover) under the
    /// operation's id and lock: its lines go to the operation's log after the last one (masked, numbered, published
    /// live, without a step ordinal). When the step is verified the operation ends <paramref name="endStatus"/> with the
    /// verdict as its message (also its last log line) and the cluster's lock is released; otherwise this throws (a
    /// <see cref="StepFailedException"/> with the masked verdict) and the operation's status and lock stay as they were.
    /// </summary>
    public async Task<string> RunAsideAsync(Guid operationId, IOperationStep step, OperationRunContext context, OperationStatus endStatus, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(context);
        var operation = await _journal.GetAsync(operationId, ct)
            ?? throw new InvalidOperationException($"The operation {operationId} does not exist.");
        await _lock.AcquireAsync(operation.ClusterId, operationId, ct);
        // Running as this instance's while the step runs, so no other instance resumes it meanwhile; put back as it was
        // when the step does not verify.
        if (!await _journal.ClaimAsync(operationId, _instance.Id, _instance.Name, ct))
        {
            throw new StepFailedException($"The operation is running on {operation.OwnerName ?? "another console instance"}; try again when it has stopped.");
        }

        var verified = false;
        await using var heartbeat = new Heartbeat(this, operationId, ct);
        ct = heartbeat.Token;
        try
        {
            string verdict;
            await using (var sink = new LogSink(this, operationId, _ => 0, context.Masker, await _journal.GetLastLogSeqAsync(operationId, ct)))
            {
                try
                {
                    var stepContext = new StepContext(operationId, context, sink, ct);
                    await step.RunAsync(stepContext);
                    var verification = await step.VerifyAsync(stepContext);
                    verdict = context.Masker.Apply(verification.Reason);
                    if (!verification.Ok)
                    {
                        throw new StepFailedException(verdict);
                    }

                    sink.Write((int?)null, null, LogStream.Info, verdict);
                }
                finally
                {
                    await sink.FlushAsync();
                }
            }

            verified = true;
            await _journal.SetOperationStatusAsync(operationId, endStatus, verdict, CancellationToken.None);
            await _lock.ReleaseAsync(operation.ClusterId, operationId, CancellationToken.None);
            LogFinished(_logger, step.Name, operationId, endStatus);
            return verdict;
        }
        finally
        {
            if (!verified && !heartbeat.Lost)
            {
                await _journal.SetOperationStatusAsync(operationId, operation.Status, operation.Error, CancellationToken.None);
            }

            _logStore.Complete(operationId);
        }
    }

    private async Task<OperationStatus> RunLockedAsync(OperationRecord operation, OperationDefinition definition, OperationRunContext context, Heartbeat heartbeat, CancellationToken ct)
    {
        var operationId = operation.Id;
        await using var sink = new LogSink(this, operationId, definition.OrdinalOf, context.Masker, await _journal.GetLastLogSeqAsync(operationId, ct));
        var stepContext = new StepContext(operationId, context, sink, ct);
        var status = OperationStatus.Failed;
        string? error = null;
        var current = 0;
        try
        {
            // Running (and owned by this instance) since the claim.
            LogRunning(_logger, definition.Kind, operationId);
            for (var i = 0; i < definition.Steps.Count; i++)
            {
                var ordinal = i + 1;
                var step = definition.Steps[i];
                if (operation.Steps[i].Status.IsComplete())
                {
                    sink.Write(ordinal, null, LogStream.Info, $"Step {ordinal} ({step.Name}) was completed by an earlier run; not redone.");
                    continue;
                }

                current = ordinal;
                ct.ThrowIfCancellationRequested();
                var (ok, message) = await RunStepAsync(ordinal, step, stepContext, sink, ct);
                if (!ok)
                {
                    error = $"Step {ordinal} ({step.Name}) failed: {message}";
                    status = OperationStatus.Failed;
                    break;
                }

                current = 0;
            }

            if (error is null)
            {
                status = OperationStatus.Succeeded;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && heartbeat.Lost)
        {
            // Another instance found the heartbeat stale and marked the operation interrupted: it is no longer this
            // instance's, and whoever resumes it owns its status and lock now.
            await sink.FlushAsync();
            LogOwnershipLost(_logger, definition.Kind, operationId);
            return OperationStatus.Interrupted;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            var stopping = context.ApplicationStopping.IsCancellationRequested;
            status = stopping ? OperationStatus.Interrupted : OperationStatus.Cancelled;
            var where = current > 0 ? $" at step {current} ({definition.Steps[current - 1].Name})" : "";
            error = stopping ? $"Interrupted{where}: the console stopped." : $"Cancelled{where}.";
            if (current > 0 && !stopping)
            {
                await _journal.SetStepStatusAsync(operationId, current, StepStatus.Failed, "Cancelled.", CancellationToken.None);
            }
        }
        finally
        {
            // Lines first, then the status, then the log store: a watcher that sees the finished status finds every
            // line in the journal.
            await sink.FlushAsync();
        }

        if (heartbeat.Lost)
        {
            LogOwnershipLost(_logger, definition.Kind, operationId);
            return OperationStatus.Interrupted;
        }

        var masked = error is null ? null : context.Masker.Apply(error);
        if (masked is not null)
        {
            sink.Write(current == 0 ? null : current, null, LogStream.Info, masked);
            await sink.FlushAsync();
        }

        // Not the caller's token: the outcome must be journaled even when the run was cancelled.
        await _journal.SetOperationStatusAsync(operationId, status, masked, CancellationToken.None);
        if (status != OperationStatus.Interrupted)
        {
            await _lock.ReleaseAsync(operation.ClusterId, operationId, CancellationToken.None);
        }

        LogFinished(_logger, definition.Kind, operationId, status);
        return status;
    }

    private async Task<(bool Ok, string Message)> RunStepAsync(int ordinal, IOperationStep step, StepContext context, LogSink sink, CancellationToken ct)
    {
        var masker = context.Masker;
        await _journal.SetStepStatusAsync(context.OperationId, ordinal, StepStatus.Running, null, ct);
        sink.Write(ordinal, null, LogStream.Info, $"Step {ordinal} ({step.Name}): {step.Description}");
        string? failure;
        try
        {
            var check = await step.CheckAsync(context);
            if (check.AlreadyDone)
            {
                var reason = masker.Apply(check.Reason);
                sink.Write(ordinal, null, LogStream.Info, $"Already done: {reason}");
                await _journal.SetStepStatusAsync(context.OperationId, ordinal, StepStatus.Skipped, reason, ct);
                return (true, reason);
            }

            sink.Write(ordinal, null, LogStream.Info, $"To do: {masker.Apply(check.Reason)}");
            await step.RunAsync(context);

            // The step changed the cluster (a VIP moved, a server promoted or stopped): the topology re-probes at once
            // instead of at its next poll; the hosts' live channels usually reported it already, this is the backstop.
            _monitor?.RequestProbe(context.Cluster.Id, _time.GetUtcNow());
            var verification = await step.VerifyAsync(context);
            var verdict = masker.Apply(verification.Reason);
            if (verification.Ok)
            {
                sink.Write(ordinal, null, LogStream.Info, $"Verified: {verdict}");
                await _journal.SetStepStatusAsync(context.OperationId, ordinal, StepStatus.Succeeded, verdict, ct);
                return (true, verdict);
            }

            failure = $"verification failed: {verdict}";
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is not OperationCanceledException)
        {
            // Cancelled mid-command, the SSH library may throw its own error (e.g. on a closed input stream): that is
            // the cancellation (interrupted or cancelled), not a failure of the step.
            throw new OperationCanceledException("Cancelled during step " + step.Name + ".", ex, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The step's own failure (a command's error, a timeout of its own): journaled, masked; never rethrown, so
            // the operation ends Failed with its lock released and can be resumed at this step after a fix.
            failure = masker.Apply(ex.Message);
            LogStepFailed(_logger, ex.GetType().Name, step.Name, context.OperationId);
        }

        sink.Write(ordinal, null, LogStream.Stderr, $"Failed: {failure}");
        await _journal.SetStepStatusAsync(context.OperationId, ordinal, StepStatus.Failed, failure, CancellationToken.None);
        return (false, failure);
    }

    private static void EnsureMatches(OperationRecord operation, OperationDefinition definition)
    {
        // A resume with another definition would skip the wrong steps.
        if (!string.Equals(operation.Kind, definition.Kind, StringComparison.Ordinal)
            || !operation.Steps.Select(s => s.Name).SequenceEqual(definition.StepNames, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"The operation {operation.Id} was created as '{operation.Kind}' with steps [{string.Join(", ", operation.Steps.Select(s => s.Name))}], "
                + $"not '{definition.Kind}' with [{string.Join(", ", definition.StepNames)}].");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operation {OperationId} not run here: {Owner} has it ({Status})")]
    private static partial void LogNotClaimed(ILogger logger, Guid operationId, string owner, OperationStatus status);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind} operation {OperationId} stopped here: its heartbeat was not renewed in time and another instance marked it interrupted")]
    private static partial void LogOwnershipLost(ILogger logger, string kind, Guid operationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the heartbeat of operation {OperationId}")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception exception, Guid operationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Running {Kind} operation {OperationId}")]
    private static partial void LogRunning(ILogger logger, string kind, Guid operationId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} operation {OperationId} ended {Status}")]
    private static partial void LogFinished(ILogger logger, string kind, Guid operationId, OperationStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Step {Step} of operation {OperationId} threw {ExceptionType}")]
    private static partial void LogStepFailed(ILogger logger, string exceptionType, string step, Guid operationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not journal {Count} log lines of operation {OperationId}")]
    private static partial void LogJournalFailed(ILogger logger, Exception exception, int count, Guid operationId);

    /// <summary>
    /// Renews the operation's heartbeat every <see cref="InstanceOptions.HeartbeatInterval"/> while it runs here. When the
    /// store says it is no longer this instance's (another instance found it stale and marked it interrupted),
    /// <see cref="Token"/> is cancelled and <see cref="Lost"/> set: the run stops without touching its status or lock.
    /// </summary>
    private sealed class Heartbeat : IAsyncDisposable
    {
        private readonly OperationRunner _owner;
        private readonly Guid _operationId;
        private readonly CancellationTokenSource _run;
        private readonly CancellationTokenSource _stop = new();
        private readonly PeriodicTimer _timer;
        private readonly Task _loop;

        public Heartbeat(OperationRunner owner, Guid operationId, CancellationToken ct)
        {
            _owner = owner;
            _operationId = operationId;
            _run = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // The timer counts from now (the claim's heartbeat), not from whenever the loop's task first runs.
            _timer = new PeriodicTimer(owner._instanceOptions.Value.HeartbeatInterval, owner._time);
            _loop = Task.Run(LoopAsync, CancellationToken.None);
        }

        public CancellationToken Token => _run.Token;

        public bool Lost { get; private set; }

        private async Task LoopAsync()
        {
            try
            {
                while (await _timer.WaitForNextTickAsync(_stop.Token))
                {
                    try
                    {
                        if (!await _owner._journal.HeartbeatAsync(_operationId, _owner._instance.Id, _stop.Token))
                        {
                            Lost = true;
                            await _run.CancelAsync();
                            return;
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The store is unreachable: keep trying; if it stays so past the bound, another instance marks
                        // the operation interrupted and the next renewal says so.
                        LogHeartbeatFailed(_owner._logger, ex, _operationId);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // the run ended
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _timer.Dispose();
            _stop.Dispose();
            _run.Dispose();
        }
    }

    private sealed class StepContext(Guid operationId, OperationRunContext run, LogSink sink, CancellationToken ct) : IOperationContext
    {
        public Guid OperationId => operationId;

        public ClusterSpec Cluster => run.Cluster;

        public CancellationToken CancellationToken => ct;

        public SecretMasker Masker => run.Masker;

        public void Log(string stepName, string? host, LogStream stream, string line) => sink.Write(stepName, host, stream, line);
    }

    /// <summary>
    /// Masks, numbers and publishes lines at once (live view), and journals them in batches in the background: steps log
    /// from SSH callbacks that must not wait for the store.
    /// </summary>
    private sealed class LogSink : IAsyncDisposable
    {
        private readonly OperationRunner _owner;
        private readonly Guid _operationId;
        private readonly Func<string, int> _ordinalOf;
        private readonly SecretMasker _masker;
        private readonly Lock _gate = new();
        private readonly Channel<OperationLogLine> _pending = Channel.CreateUnbounded<OperationLogLine>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Task _writer;
        private long _seq;

        public LogSink(OperationRunner owner, Guid operationId, Func<string, int> ordinalOf, SecretMasker masker, long lastSeq)
        {
            _owner = owner;
            _operationId = operationId;
            _ordinalOf = ordinalOf;
            _masker = masker;
            _seq = lastSeq;
            _writer = Task.Run(WriteLoopAsync);
        }

        public void Write(string stepName, string? host, LogStream stream, string text)
        {
            var ordinal = _ordinalOf(stepName);
            Write(ordinal == 0 ? null : ordinal, host, stream, text);
        }

        public void Write(int? step, string? host, LogStream stream, string text)
        {
            // Mask the whole text before splitting it, so a secret that spans a line break is still found.
            var masked = _masker.Apply(text ?? "");
            var maskedHost = host is null ? null : _masker.Apply(host);
            // Milliseconds, as the store keeps them: a line read live equals the same line read back from the journal.
            var at = StoreTypeHandlers.ToStoreTime(_owner._time.GetUtcNow());
            foreach (var raw in masked.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                lock (_gate)
                {
                    // Numbering and publishing under one lock keeps the live order equal to the journal's.
                    var entry = new OperationLogLine(++_seq, at, step, maskedHost, stream, line);
                    _owner._logStore.Publish(_operationId, entry);
                    _pending.Writer.TryWrite(entry);
                }
            }
        }

        /// <summary>Waits until every line written so far is journaled.</summary>
        public async Task FlushAsync()
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _flushes.Enqueue((_seq, done));
                _pending.Writer.TryWrite(FlushSentinel);
            }

            await done.Task;
        }

        private static readonly OperationLogLine FlushSentinel = new(-1, default, null, null, LogStream.Info, "");

        private readonly Queue<(long Seq, TaskCompletionSource Done)> _flushes = new();

        private async Task WriteLoopAsync()
        {
            var batch = new List<OperationLogLine>(LogBatch);
            var reader = _pending.Reader;
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                var flush = false;
                while (batch.Count < LogBatch && reader.TryRead(out var line))
                {
                    if (ReferenceEquals(line, FlushSentinel))
                    {
                        flush = true;
                        break;
                    }

                    batch.Add(line);
                }

                if (batch.Count > 0)
                {
                    try
                    {
                        // Not cancellable: lines of a cancelled run are still worth keeping.
                        await _owner._journal.AppendLogAsync(_operationId, batch, CancellationToken.None);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogJournalFailed(_owner._logger, ex, batch.Count, _operationId);
                    }

                    batch.Clear();
                }

                if (flush)
                {
                    lock (_gate)
                    {
                        if (_flushes.Count > 0)
                        {
                            _flushes.Dequeue().Done.TrySetResult();
                        }
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _pending.Writer.TryComplete();
            await _writer;
            lock (_gate)
            {
                while (_flushes.Count > 0)
                {
                    _flushes.Dequeue().Done.TrySetResult();
                }
            }
        }
    }
}
