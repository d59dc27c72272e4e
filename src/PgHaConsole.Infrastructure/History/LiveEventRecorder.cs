using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Infrastructure.History;

/// <summary>
/// The event timeline, from the live monitor: every picture the topology monitor takes (polled, or probed at once
/// because a host reported a change) is compared with the cluster's previous one and what changed is recorded, dated
/// by the change's own time (<see cref="ClusterTopology.ChangeTime"/>). Each change is recorded once: by the first
/// picture that shows it. The 15 s snapshots are only samples for the graphs.
/// </summary>
public sealed class LiveEventRecorder : BackgroundService
{
    private readonly ITopologyMonitor _monitor;
    private readonly IHistoryStore _store;
    private readonly ILogger<LiveEventRecorder> _logger;
    private readonly Dictionary<Guid, ClusterTopology> _previous = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Instances.IClusterLeases? _leases;

    /// <param name="leases">With several console instances on one store, only the holder of a cluster's lease records its events.</param>
    public LiveEventRecorder(ITopologyMonitor monitor, IHistoryStore store, ILogger<LiveEventRecorder>? logger = null, Instances.IClusterLeases? leases = null)
    {
        _monitor = monitor;
        _store = store;
        _logger = logger ?? NullLogger<LiveEventRecorder>.Instance;
        _leases = leases;
    }

    /// <summary>Records what changed between the cluster's previous picture and this one; returns how many events were written.</summary>
    public async Task<int> ObserveAsync(ClusterTopology picture, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(picture);
        await _gate.WaitAsync(ct);
        try
        {
            if (_leases is not null && !_leases.Holds(picture.ClusterId))
            {
                // Another instance records this cluster's events. Forget the last picture: after a takeover the first
                // picture is compared with nothing, so what the previous holder recorded is not recorded again.
                _previous.Remove(picture.ClusterId);
                return 0;
            }

            _previous.TryGetValue(picture.ClusterId, out var previous);
            if (previous is not null && picture.ObservedAt <= previous.ObservedAt)
            {
                return 0; // the same picture again, or an older probe that finished late: nothing new
            }

            var events = EventDeriver.Derive(previous, picture);
            _previous[picture.ClusterId] = EventDeriver.CarryForward(previous, picture);
            return events.Count == 0 ? 0 : await _store.InsertEventsAsync(events, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            await foreach (var picture in _monitor.WatchAllAsync(stoppingToken))
            {
                try
                {
                    await ObserveAsync(picture, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogError(ex, "Recording the events of {Cluster} failed", picture.ClusterName);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }
}
