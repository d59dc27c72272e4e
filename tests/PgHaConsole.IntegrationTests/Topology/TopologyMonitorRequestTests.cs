using PgHaConsole.Core.Model;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Store;

namespace PgHaConsole.IntegrationTests.Topology;

/// <summary>
/// <see cref="TopologyMonitor.RequestProbe"/> on the real monitor and store (SQLite), with a prober that records its
/// calls: a report that arrives while a probe runs gets a probe of its own after it (the running one may have read the
/// hosts before the change), reports meanwhile share that one probe, and its picture is dated by the earliest report.
/// </summary>
public sealed class TopologyMonitorRequestTests() : StoreTestBase(new SqliteStoreHarness())
{
    [Fact]
    public async Task A_report_during_a_probe_gets_one_probe_after_it_dated_by_the_earliest_report()
    {
        var cluster = (await Get<IClusterRepository>().AddAsync(NewCluster(), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct)).Spec;
        var prober = new GatedProber();
        var options = Microsoft.Extensions.Options.Options.Create(new TopologyOptions { Enabled = false, LiveDebounce = TimeSpan.Zero });
        using var monitor = new TopologyMonitor(Get<IClusterRepository>(), prober, options, Time);

        // An unknown cluster, or one never probed: nothing to do.
        monitor.RequestProbe(Guid.NewGuid(), Time.GetUtcNow());
        Assert.NotNull(await monitor.ProbeNowAsync(cluster.Id, Ct));
        Assert.Equal(1, prober.Rounds);

        prober.Hold();
        var running = monitor.ProbeNowAsync(cluster.Id, Ct);
        await prober.Started.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var early = Time.GetUtcNow().AddMilliseconds(-300);
        monitor.RequestProbe(cluster.Id, Time.GetUtcNow());
        monitor.RequestProbe(cluster.Id, early);
        monitor.RequestProbe(cluster.Id, Time.GetUtcNow().AddMilliseconds(100));
        Assert.Equal(2, prober.Rounds); // nothing started beside the running probe

        var watch = monitor.WatchAsync(cluster.Id, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await watch.MoveNextAsync()); // the current picture
        prober.Release();
        var first = await running;
        Assert.Null(first!.TriggeredAt);

        // The running probe's picture, then the requested one.
        ClusterTopology requested;
        do
        {
            Assert.True(await watch.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct));
            requested = watch.Current;
        }
        while (requested.TriggeredAt is null);

        Assert.Equal(early, requested.TriggeredAt);
        Assert.Equal(early, requested.ChangeTime);
        await Task.Delay(200, Ct);
        Assert.Equal(3, prober.Rounds);
        await watch.DisposeAsync();
    }

    private sealed class GatedProber : INodeProber
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource? _hold;
        private TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        /// <summary>Probe rounds of the two-node cluster started so far.</summary>
        public int Rounds => (Volatile.Read(ref _calls) + 1) / 2;

        public Task Started => _started.Task;

        public void Hold()
        {
            lock (_gate)
            {
                _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Release()
        {
            lock (_gate)
            {
                _hold?.TrySetResult();
                _hold = null;
            }
        }

        public async Task<NodeState> ProbeAsync(ProbeTarget target, NodeSpec node, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            Task? hold;
            lock (_gate)
            {
                hold = _hold?.Task;
                _started.TrySetResult();
            }

            if (hold is not null)
            {
                await hold.WaitAsync(cancellationToken);
            }

            return new NodeState { NodeId = node.Id, Name = node.Name, Address = node.Address, Role = NodeRole.Standby };
        }

        public ValueTask ForgetAsync(Guid nodeId) => ValueTask.CompletedTask;
    }
}
