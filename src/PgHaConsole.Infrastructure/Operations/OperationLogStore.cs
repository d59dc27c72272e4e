using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using PgHaConsole.Core.Operations;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>
/// In-process fan-out of operation log lines (the pattern of Aspire's ResourceLoggerService): the runner publishes,
/// pages, the SignalR hub and the REST API watch. A watcher gets the backlog (journal, then the lines still only in
/// memory) and then live lines, and its enumeration completes when the operation finishes. Lines published here are
/// already masked. An operation run by another console instance is followed through the journal in the store
/// (polled by sequence number), so its log is live from any instance. Register as a singleton.
/// </summary>
public sealed class OperationLogStore
{
    private const int JournalPage = 1000;

    /// <summary>How often a watcher with no local line reads the journal (an operation run by another instance).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly IOperationJournal _journal;
    private readonly ConcurrentDictionary<Guid, OperationLogState> _states = new();

    public OperationLogStore(IOperationJournal journal)
    {
        _journal = journal;
    }

    /// <summary>Publishes one line (sequence numbers increasing per operation).</summary>
    public void Publish(Guid operationId, OperationLogLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        _states.GetOrAdd(operationId, static _ => new OperationLogState()).Publish(line);
    }

    /// <summary>
    /// Ends every watch of the operation and drops its memory backlog. Call only after its lines are journaled and its
    /// finished status written, so that a later watcher reads everything from the journal.
    /// </summary>
    public void Complete(Guid operationId)
    {
        if (_states.TryRemove(operationId, out var state))
        {
            state.Complete();
        }
    }

    /// <summary>Backlog then live lines; completes when the operation finishes (or at once when it already has).</summary>
    public async IAsyncEnumerable<OperationLogLine> WatchAsync(Guid operationId, [EnumeratorCancellation] CancellationToken ct)
    {
        // Subscribe before reading the journal, so no line falls between the two.
        var state = _states.GetOrAdd(operationId, static _ => new OperationLogState());
        var (channel, memory) = state.Subscribe();
        try
        {
            var operation = await _journal.GetAsync(operationId, ct);
            var finished = operation is null || operation.Status.IsFinished();

            long last = 0;
            while (true)
            {
                var page = await _journal.ReadLogAsync(operationId, last, JournalPage, ct);
                foreach (var line in page)
                {
                    last = line.Seq;
                    yield return line;
                }

                if (page.Count < JournalPage)
                {
                    break;
                }
            }

            if (finished)
            {
                // Finished operations have every line in the journal; a state created just now by this watcher for
                // an operation that will never publish again must not linger.
                if (state.SubscriberCount <= 1 && _states.TryGetValue(operationId, out var current) && ReferenceEquals(current, state) && !state.HasLines)
                {
                    _states.TryRemove(new KeyValuePair<Guid, OperationLogState>(operationId, state));
                }

                yield break;
            }

            foreach (var line in memory)
            {
                if (line.Seq > last)
                {
                    last = line.Seq;
                    yield return line;
                }
            }

            // Live lines come from this process's runner through the channel at once. An operation run by another
            // instance publishes nothing here: when no line arrived for a poll interval, read the journal after the last
            // line seen (its runner journals every line within a moment) and check whether it has finished.
            var reader = channel.Reader;
            while (true)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(PollInterval);
                var local = false;
                var completed = false;
                try
                {
                    completed = !await reader.WaitToReadAsync(wait.Token);
                    local = !completed;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // a poll interval without a local line
                }

                if (local)
                {
                    while (reader.TryRead(out var line))
                    {
                        if (line.Seq > last)
                        {
                            last = line.Seq;
                            yield return line;
                        }
                    }

                    continue;
                }

                // Finished is read before the lines: a runner journals its lines before its final status.
                var now = await _journal.GetAsync(operationId, ct);
                var done = completed || now is null || now.Status.IsFinished();
                while (true)
                {
                    var page = await _journal.ReadLogAsync(operationId, last, JournalPage, ct);
                    foreach (var line in page)
                    {
                        last = line.Seq;
                        yield return line;
                    }

                    if (page.Count < JournalPage)
                    {
                        break;
                    }
                }

                if (done)
                {
                    yield break;
                }
            }
        }
        finally
        {
            state.Unsubscribe(channel);
        }
    }

    private sealed class OperationLogState
    {
        private readonly Lock _gate = new();
        private readonly List<OperationLogLine> _backlog = [];
        private readonly List<Channel<OperationLogLine>> _subscribers = [];
        private bool _completed;

        public int SubscriberCount
        {
            get
            {
                lock (_gate)
                {
                    return _subscribers.Count;
                }
            }
        }

        public bool HasLines
        {
            get
            {
                lock (_gate)
                {
                    return _backlog.Count > 0;
                }
            }
        }

        public void Publish(OperationLogLine line)
        {
            lock (_gate)
            {
                if (_completed)
                {
                    return;
                }

                _backlog.Add(line);
                foreach (var subscriber in _subscribers)
                {
                    // Unbounded: a slow page must not hold up the runner; it catches up from memory.
                    subscriber.Writer.TryWrite(line);
                }
            }
        }

        public (Channel<OperationLogLine> Channel, OperationLogLine[] Backlog) Subscribe()
        {
            var channel = Channel.CreateUnbounded<OperationLogLine>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
            lock (_gate)
            {
                if (_completed)
                {
                    channel.Writer.TryComplete();
                }
                else
                {
                    _subscribers.Add(channel);
                }

                return (channel, [.. _backlog]);
            }
        }

        public void Unsubscribe(Channel<OperationLogLine> channel)
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        }

        public void Complete()
        {
            lock (_gate)
            {
                _completed = true;
                _backlog.Clear();
                foreach (var subscriber in _subscribers)
                {
                    subscriber.Writer.TryComplete();
                }
            }
        }
    }
}
