using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Infrastructure.History;

/// <summary>What one recording did.</summary>
public sealed record RecordResult(long AtMs, int Samples, int Events, int Notifications, int StaleClusters);

/// <summary>
/// Takes the latest pictures from <see cref="ITopologyMonitor"/> (never opening connections to the nodes itself) and
/// records one sample per node on the snapshot grid and the operations started and finished since, and runs the alert
/// rules. The other events come from <see cref="LiveEventRecorder"/>. One instance per process; calls are serialized.
/// </summary>
public sealed class HealthRecorder
{
    /// <summary>How many of a cluster's newest operations are looked at on each recording.</summary>
    public const int OperationsPerPoll = 5;

    private readonly ITopologyMonitor _monitor;
    private readonly IHistoryStore _store;
    private readonly IOperationJournal? _journal;
    private readonly AlertDispatcher? _alerts;
    private readonly IOptionsMonitor<HistoryOptions> _options;
    private readonly ILogger<HealthRecorder> _logger;
    private readonly IClusterLeases? _leases;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Clusters whose alerts this instance followed without holding the lease, at the last recording.</summary>
    private readonly HashSet<Guid> _followed = [];

    public HealthRecorder(
        ITopologyMonitor monitor,
        IHistoryStore store,
        IOptionsMonitor<HistoryOptions> options,
        IOperationJournal? journal = null,
        AlertDispatcher? alerts = null,
        ILogger<HealthRecorder>? logger = null,
        IClusterLeases? leases = null)
    {
        _leases = leases;
        _monitor = monitor;
        _store = store;
        _options = options;
        _journal = journal;
        _alerts = alerts;
        _logger = logger ?? NullLogger<HealthRecorder>.Instance;
    }

    public async Task<RecordResult> RecordAsync(DateTimeOffset now, CancellationToken ct)
    {
        var options = _options.CurrentValue;
        var interval = (long)options.SnapshotInterval.TotalMilliseconds;
        // Snapped to the grid: samples stay evenly spaced however late the job starts, and a job that runs twice in
        // one slot writes the same key (ignored) instead of a second sample.
        var atMs = now.ToUnixTimeMilliseconds() / interval * interval;

        await _gate.WaitAsync(ct);
        try
        {
            var samples = new List<HealthSample>();
            var events = new List<HealthEvent>();
            var notifications = 0;
            var stale = 0;
            foreach (var picture in _monitor.GetAll())
            {
                var holds = _leases is null || _leases.Holds(picture.ClusterId);
                if (now - picture.ObservedAt > options.StaleAfter)
                {
                    if (holds)
                    {
                        stale++;
                        _logger.LogWarning("History: the last picture of {Cluster} is from {ObservedAt}, not recorded", picture.ClusterName, picture.ObservedAt);
                    }

                    continue;
                }

                if (!holds)
                {
                    // Another instance records its samples and sends its alerts; this one follows them silently.
                    _alerts?.Follow(picture, now);
                    _followed.Add(picture.ClusterId);
                    continue;
                }

                if (_followed.Remove(picture.ClusterId) && _alerts is not null)
                {
                    // Taken over: what fires is sent again (the previous holder may have died before sending it).
                    notifications += await _alerts.ResendFiringAsync(picture.ClusterId, ct);
                }

                // Only samples: the changes (role, timeline, VIPs, keepalived, replication, alarms) are recorded from every
                // live picture by LiveEventRecorder, with their own time.
                samples.AddRange(picture.Nodes.Select(n => HealthSample.From(picture.ClusterId, n, atMs)));

                if (_alerts is not null)
                {
                    notifications += (await _alerts.EvaluateAsync(picture, now, ct)).Count;
                }

                if (_journal is not null)
                {
                    events.AddRange(await OperationEventsAsync(picture.ClusterId, now - options.EventRetention, ct));
                }
            }

            await _store.InsertSamplesAsync(samples, ct);
            var written = await _store.InsertEventsAsync(events, ct);
            return new RecordResult(atMs, samples.Count, written, notifications, stale);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// "Started" and "finished" events of the cluster's newest operations. They are offered on every poll; the store's
    /// unique index on (cluster, operation, kind) keeps exactly one of each, across restarts too.
    /// </summary>
    private async Task<IEnumerable<HealthEvent>> OperationEventsAsync(Guid clusterId, DateTimeOffset notBefore, CancellationToken ct)
    {
        var events = new List<HealthEvent>();
        foreach (var op in await _journal!.ListByClusterAsync(clusterId, OperationsPerPoll, ct))
        {
            if (op.Status != OperationStatus.Pending && (op.StartedAt ?? op.CreatedAt) is var started && started >= notBefore)
            {
                events.Add(new HealthEvent
                {
                    ClusterId = clusterId,
                    AtMs = started.ToUnixTimeMilliseconds(),
                    Kind = HealthEventKinds.OperationStarted,
                    Severity = HealthEventSeverity.Info,
                    Message = $"Operation {op.Kind} started by {op.RequestedBy}",
                    OperationId = op.Id,
                });
            }

            if (op.Status.IsFinished() && op.FinishedAt is { } finished && finished >= notBefore)
            {
                events.Add(new HealthEvent
                {
                    ClusterId = clusterId,
                    AtMs = finished.ToUnixTimeMilliseconds(),
                    Kind = HealthEventKinds.OperationFinished,
                    Severity = op.Status == OperationStatus.Succeeded ? HealthEventSeverity.Info : HealthEventSeverity.Warning,
                    Message = $"Operation {op.Kind} {op.Status.ToString().ToLowerInvariant()}" + (op.Error is null ? "" : ": " + op.Error),
                    OperationId = op.Id,
                });
            }
        }

        return events;
    }
}
