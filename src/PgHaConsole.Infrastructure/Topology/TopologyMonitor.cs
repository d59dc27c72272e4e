using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>
/// Polls every cluster of the store every <see cref="TopologyOptions.PollInterval"/>: clusters in parallel, the
/// nodes of a cluster in parallel, never two probes of the same cluster at once. Each picture is kept as the
/// cluster's latest and pushed to watchers at once.
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
    private readonly CancellationTokenSource _shutdown = new();

    public TopologyMonitor(
        IClusterRepository clusters,
        INodeProber prober,
        IOptions<TopologyOptions> options,
        TimeProvider time,
        ILogger<TopologyMonitor>? logger = null)
    {
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

        await Task.WhenAll(clusters.Select(StartProbe));
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

    private Task<ClusterTopology?> StartProbe(StoredCluster stored)
    {
        var entry = _entries.GetOrAdd(stored.Spec.Id, _ => new ClusterEntry());
        lock (entry.Gate)
        {
            if (entry.InFlight is { IsCompleted: false } running)
            {
                return running;
            }

            entry.InFlight = ProbeClusterAsync(entry, stored, _shutdown.Token);
            return entry.InFlight;
        }
    }

    private async Task<ClusterTopology?> ProbeClusterAsync(ClusterEntry entry, StoredCluster stored, CancellationToken ct)
    {
        await Task.Yield();
        var spec = stored.Spec;
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
            var nodes = await Task.WhenAll(spec.Nodes.Select(n => _prober.ProbeAsync(target, n, ct)));
            var topology = TopologyAssembler.Assemble(spec, nodes, _time.GetUtcNow(), _options.Value.Thresholds);
            if (!_entries.ContainsKey(spec.Id))
            {
                return topology; // removed while probing: do not resurrect it
            }

            Publish(topology);
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
        }

        LogAlarmChanges(previous, topology);
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
    }
}
