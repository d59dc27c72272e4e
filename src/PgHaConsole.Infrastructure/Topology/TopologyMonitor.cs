using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>
/// Polls every cluster of the store every <see cref="TopologyOptions.PollInterval"/>: clusters in parallel, the
/// nodes of a cluster in parallel, never two probes of the same cluster at once. Each picture is kept as the
/// cluster's latest and pushed to watchers at once. Between polls, a change a node reports on its live channel
/// (<see cref="LiveChannels"/>) or an operation announces (<see cref="RequestProbe"/>) re-probes its cluster at once:
/// requests within <see cref="TopologyOptions.LiveDebounce"/> share one probe, and a request that arrives while a
/// probe runs gets a probe of its own right after it (the running one may have read the hosts before the change).
/// With several console instances on one store (leases registered), only the instance holding a cluster's lease probes
/// it (polls, live channels, requested probes) and writes each picture to the store; the others read the holder's
/// latest picture from the store at each poll and serve it, so pages and <c>/metrics</c> agree across instances and each
/// cluster is probed once. <see cref="ProbeNowAsync"/> (an operation's own check) always probes.
/// </summary>
public sealed class TopologyMonitor : BackgroundService, ITopologyMonitor
{
    private readonly IClusterRepository _clusters;
    private readonly INodeProber _prober;
    private readonly IOptions<TopologyOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TopologyMonitor> _logger;
    private readonly ConcurrentDictionary<Guid, ClusterEntry> _entries = new();
    private readonly ConcurrentDictionary<Guid, ClusterTopology> _latest = new();
    private readonly Lock _watchGate = new();
    private readonly Dictionary<Guid, List<ChannelWriter<ClusterTopology>>> _watchers = [];
    private readonly List<ChannelWriter<ClusterTopology>> _allWatchers = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly LiveChannels? _live;
    private readonly SharedPictures? _shared;

    public TopologyMonitor(
        IClusterRepository clusters,
        INodeProber prober,
        IOptions<TopologyOptions> options,
        TimeProvider time,
        ILogger<TopologyMonitor>? logger = null,
        LiveChannels? live = null,
        SharedPictures? shared = null)
    {
        _live = live;
        _shared = shared;
        _clusters = clusters;
        _prober = prober;
        _options = options;
        _time = time;
        _logger = logger ?? NullLogger<TopologyMonitor>.Instance;
    }

    public ClusterTopology? GetLatest(Guid clusterId) => _latest.GetValueOrDefault(clusterId);

    public IReadOnlyList<ClusterTopology> GetAll() => _latest.Values.OrderBy(t => t.ClusterName, StringComparer.OrdinalIgnoreCase).ToArray();

    public async IAsyncEnumerable<ClusterTopology> WatchAsync(Guid clusterId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Capacity 1, drop oldest: a slow page skips intermediate pictures but always gets the newest.
        var channel = Channel.CreateBounded<ClusterTopology>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        lock (_watchGate)
        {
            if (!_watchers.TryGetValue(clusterId, out var list))
            {
                _watchers[clusterId] = list = [];
            }

            list.Add(channel.Writer);
            if (_latest.TryGetValue(clusterId, out var current))
            {
                channel.Writer.TryWrite(current);
            }
        }

        try
        {
            await foreach (var topology in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return topology;
            }
        }
        finally
        {
            lock (_watchGate)
            {
                if (_watchers.TryGetValue(clusterId, out var list))
                {
                    list.Remove(channel.Writer);
                    if (list.Count == 0)
                    {
                        _watchers.Remove(clusterId);
                    }
                }
            }
        }
    }

    public async IAsyncEnumerable<ClusterTopology> WatchAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Unbounded: the event timeline must see every picture, in order.
        var channel = Channel.CreateUnbounded<ClusterTopology>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        lock (_watchGate)
        {
            _allWatchers.Add(channel.Writer);
        }

        try
        {
            await foreach (var topology in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return topology;
            }
        }
        finally
        {
            lock (_watchGate)
            {
                _allWatchers.Remove(channel.Writer);
            }
        }
    }

    /// <summary>This instance probes the cluster: it holds its lease, or it is the only instance (no leases registered).</summary>
    private bool Probes(Guid clusterId) => _shared is null || _shared.Leases.Holds(clusterId);

    public void RequestProbe(Guid clusterId, DateTimeOffset signalledAt)
    {
        if (!Probes(clusterId))
        {
            return; // the lease holder probes it (its live channels saw the change too)
        }

        if (!_entries.TryGetValue(clusterId, out var entry) || entry.Stored is null)
        {
            return; // never probed yet: the first poll comes soon and has nothing to compare with anyway
        }

        lock (entry.Gate)
        {
            if (entry.SignalledAt is null || signalledAt < entry.SignalledAt)
            {
                entry.SignalledAt = signalledAt;
            }

            if (entry.RequestScheduled)
            {
                return;
            }

            entry.RequestScheduled = true;
        }

        _ = ProbeOnRequestAsync(clusterId, entry, _shutdown.Token);
    }

    private async Task ProbeOnRequestAsync(Guid clusterId, ClusterEntry entry, CancellationToken ct)
    {
        try
        {
            var debounce = _options.Value.LiveDebounce;
            if (debounce > TimeSpan.Zero)
            {
                await Task.Delay(debounce, _time, ct);
            }

            Task<ClusterTopology?>? running;
            lock (entry.Gate)
            {
                running = entry.InFlight is { IsCompleted: false } r ? r : null;
            }

            if (running is not null)
            {
                await running; // never throws: ProbeClusterAsync turns failures into the latest picture
            }

            DateTimeOffset? signalledAt;
            StoredCluster? stored;
            lock (entry.Gate)
            {
                signalledAt = entry.SignalledAt;
                entry.SignalledAt = null;
                entry.RequestScheduled = false;
                stored = entry.Stored;
            }

            if (stored is not null && _entries.ContainsKey(clusterId))
            {
                await StartProbe(stored, signalledAt);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception ex)
        {
            lock (entry.Gate)
            {
                entry.RequestScheduled = false;
            }

            _logger.LogError(ex, "Probing cluster {ClusterId} on request failed", clusterId);
        }
    }

    public async Task<ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken)
    {
        var stored = await _clusters.GetAsync(clusterId, cancellationToken);
        if (stored is null)
        {
            return null;
        }

        return await StartProbe(stored).WaitAsync(cancellationToken);
    }

    /// <summary>One polling round: lists the clusters, forgets removed ones, probes the others and waits for them.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredCluster> clusters;
        try
        {
            clusters = await _clusters.ListAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Topology poll could not list the clusters");
            return;
        }

        var ids = clusters.Select(c => c.Spec.Id).ToHashSet();
        foreach (var gone in _entries.Keys.Where(id => !ids.Contains(id)).ToArray())
        {
            await ForgetAsync(gone);
        }

        var probed = clusters.Where(c => Probes(c.Spec.Id)).ToList();
        var followed = clusters.Where(c => !Probes(c.Spec.Id)).ToList();
        await Task.WhenAll(probed.Select(StartProbe).Append(FollowAsync(followed, cancellationToken)));
    }

    /// <summary>
    /// Clusters another instance probes: its latest stored picture is published here when it is newer than ours, and
    /// this instance's live channels to their nodes are stopped (it lost or never had the lease).
    /// </summary>
    private async Task FollowAsync(IReadOnlyList<StoredCluster> clusters, CancellationToken ct)
    {
        if (clusters.Count == 0 || _shared is null)
        {
            return;
        }

        foreach (var stored in clusters)
        {
            var entry = _entries.GetOrAdd(stored.Spec.Id, _ => new ClusterEntry());
            bool stop;
            lock (entry.Gate)
            {
                entry.Stored = stored;
                stop = !entry.Following;
                entry.Following = true;
            }

            if (stop)
            {
                _live?.Stop(stored.Spec.Nodes.Select(n => n.Id));
            }
        }

        IReadOnlyList<Instances.StoredPicture> pictures;
        try
        {
            pictures = await _shared.Pictures.ReadAllAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Reading the pictures other instances took failed");
            return;
        }

        var wanted = clusters.ToDictionary(c => c.Spec.Id);
        foreach (var stored in pictures)
        {
            if (stored.Picture is { } picture && wanted.ContainsKey(stored.ClusterId) && _entries.ContainsKey(stored.ClusterId)
                && (GetLatest(stored.ClusterId) is not { } latest || latest.ObservedAt < picture.ObservedAt))
            {
                Publish(picture);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = _options.Value;
        if (!options.Enabled)
        {
            _logger.LogInformation("Topology polling is disabled (PgHaConsole:Topology:Enabled = false)");
            return;
        }

        var interval = options.PollInterval > TimeSpan.Zero ? options.PollInterval : TimeSpan.FromSeconds(2);
        using var timer = new PeriodicTimer(interval, _time);
        do
        {
            // Not awaited: a cluster whose hosts time out must not hold back the others' next round;
            // StartProbe skips a cluster whose previous probe is still running.
            _ = PollInBackgroundAsync(stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host torn down in a hurry (a test factory disposed right after start) may dispose before it stops.
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                await _shutdown.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // disposed meanwhile: nothing left to cancel
            }
        }

        // After the cancellation: no probe can start channels again once they are stopped.
        if (_live is not null)
        {
            await _live.DisposeAsync();
        }

        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        // Registered both as ITopologyMonitor and as a hosted service: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _shutdown.Cancel();
        _shutdown.Dispose();
        base.Dispose();
    }

    private int _disposed;

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PollInBackgroundAsync(CancellationToken ct)
    {
        try
        {
            await PollOnceAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Topology poll failed");
        }
    }

    private Task<ClusterTopology?> StartProbe(StoredCluster stored) => StartProbe(stored, null);

    private Task<ClusterTopology?> StartProbe(StoredCluster stored, DateTimeOffset? signalledAt)
    {
        var entry = _entries.GetOrAdd(stored.Spec.Id, _ => new ClusterEntry());
        lock (entry.Gate)
        {
            entry.Stored = stored;
            entry.Following = false;
            if (entry.InFlight is { IsCompleted: false } running)
            {
                return running;
            }

            entry.InFlight = ProbeClusterAsync(entry, stored, signalledAt, _shutdown.Token);
            return entry.InFlight;
        }
    }

    private async Task<ClusterTopology?> ProbeClusterAsync(ClusterEntry entry, StoredCluster stored, DateTimeOffset? signalledAt, CancellationToken ct)
    {
        await Task.Yield();
        var spec = stored.Spec;
        var startedAt = _time.GetUtcNow();
        try
        {
            // Secrets are read again only when the cluster changed (every edit bumps the row version; a pinned
            // host key changes the spec): the SSH pool and the data sources then rebuild their connections.
            if (entry.Target is null || entry.RowVersion != stored.RowVersion || entry.Target.Cluster != spec)
            {
                var secrets = await _clusters.GetClusterSecretsAsync(spec.Id, ct);
                var nodeSecrets = new Dictionary<Guid, NodeSecrets?>();
                foreach (var node in spec.Nodes)
                {
                    nodeSecrets[node.Id] = await _clusters.GetNodeSecretsAsync(node.Id, ct);
                }

                entry.Target = new ProbeTarget(spec, secrets, nodeSecrets);
                entry.RowVersion = stored.RowVersion;
            }

            var target = entry.Target;
            if (_live is not null && _options.Value is { Enabled: true, LiveUpdates: true } && _entries.ContainsKey(spec.Id) && !ct.IsCancellationRequested
                && Probes(spec.Id))
            {
                _live.Ensure(target, OnLiveChange);
            }

            var nodes = await Task.WhenAll(spec.Nodes.Select(n => _prober.ProbeAsync(target, n, ct)));
            var topology = TopologyAssembler.Assemble(spec, nodes, _time.GetUtcNow(), _options.Value.Thresholds) with
            {
                TriggeredAt = signalledAt,
                ProbeStartedAt = startedAt,
            };
            if (!_entries.ContainsKey(spec.Id))
            {
                return topology; // removed while probing: do not resurrect it
            }

            Publish(topology);
            if (_shared is not null && Probes(spec.Id))
            {
                try
                {
                    await _shared.Pictures.WriteAsync(topology, _shared.Instance.Id, _shared.Instance.Name, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogWarning(ex, "Writing the picture of {Cluster} for the other instances failed", spec.Name);
                }
            }

            return topology;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return GetLatest(spec.Id);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Probing cluster {Cluster} failed", spec.Name);
            return GetLatest(spec.Id);
        }
    }

    private void Publish(ClusterTopology topology)
    {
        ClusterTopology? previous;
        lock (_watchGate)
        {
            previous = _latest.GetValueOrDefault(topology.ClusterId);
            _latest[topology.ClusterId] = topology;
            if (_watchers.TryGetValue(topology.ClusterId, out var list))
            {
                foreach (var writer in list)
                {
                    writer.TryWrite(topology);
                }
            }

            foreach (var writer in _allWatchers)
            {
                writer.TryWrite(topology);
            }
        }

        LogAlarmChanges(previous, topology);
    }

    private void OnLiveChange(LiveChange change)
    {
        _logger.LogDebug("Live change on {Node}: {Kind} {Detail}", change.Node, change.Signal.Kind, change.Signal.Detail);
        if (change.Signal.Kind == LiveSignalKind.Silent)
        {
            PublishUnanswered(change);
        }

        RequestProbe(change.ClusterId, change.At);
    }

    /// <summary>
    /// A host whose live channel fell silent is shown as not answering at once (issue #13: the topology shows the truth
    /// within 2 s), without waiting for a probe to time out (<see cref="TopologyOptions.ProbeTimeout"/>, 5 s by
    /// default); the probe requested right after confirms it or, should the host answer after all, replaces it.
    /// </summary>
    private void PublishUnanswered(LiveChange change)
    {
        if (!_entries.TryGetValue(change.ClusterId, out var entry) || entry.Target?.Cluster is not { } spec
            || GetLatest(change.ClusterId) is not { } latest)
        {
            return;
        }

        var picture = TopologyAssembler.WithUnanswered(spec, latest, change.Node, change.Signal.Detail, _time.GetUtcNow(), _options.Value.Thresholds);
        if (!ReferenceEquals(picture, latest) && _entries.ContainsKey(change.ClusterId))
        {
            Publish(picture);
        }
    }

    private void LogAlarmChanges(ClusterTopology? previous, ClusterTopology current)
    {
        var before = previous?.Alarms.Select(a => a.Key).ToHashSet() ?? [];
        var now = current.Alarms.Select(a => a.Key).ToHashSet();
        foreach (var alarm in current.Alarms.Where(a => !before.Contains(a.Key)))
        {
            _logger.LogWarning("Cluster {Cluster}: alarm raised {AlarmCode} {Node}: {Title}", current.ClusterName, alarm.Code, alarm.Node, alarm.Title);
        }

        foreach (var key in before.Where(k => !now.Contains(k)))
        {
            _logger.LogInformation("Cluster {Cluster}: alarm cleared {AlarmKey}", current.ClusterName, key);
        }
    }

    private async Task ForgetAsync(Guid clusterId)
    {
        if (_entries.TryRemove(clusterId, out var entry))
        {
            lock (_watchGate)
            {
                _latest.TryRemove(clusterId, out _);
            }

            _live?.Stop(entry.Target?.Cluster.Nodes.Select(n => n.Id) ?? []);
            foreach (var node in entry.Target?.Cluster.Nodes ?? [])
            {
                await _prober.ForgetAsync(node.Id);
            }
        }
    }

    private sealed class ClusterEntry
    {
        public Lock Gate { get; } = new();

        public Task<ClusterTopology?>? InFlight { get; set; }

        public ProbeTarget? Target { get; set; }

        public long RowVersion { get; set; }

        /// <summary>The cluster as last listed (what a requested probe probes).</summary>
        public StoredCluster? Stored { get; set; }

        /// <summary>The earliest live report not yet covered by a probe that started after it.</summary>
        public DateTimeOffset? SignalledAt { get; set; }

        public bool RequestScheduled { get; set; }

        /// <summary>Another instance probes it: this one serves the picture it stored.</summary>
        public bool Following { get; set; }
    }
}

/// <summary>What a monitor among several instances needs: who probes which cluster, and where pictures are shared.</summary>
public sealed record SharedPictures(Instances.IClusterLeases Leases, Instances.ClusterPictureStore Pictures, Instances.ConsoleInstance Instance);
