using System.Collections.Concurrent;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Store;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace PgHaConsole.IntegrationTests.Topology;

/// <summary>
/// One prober per cluster (#17 item 3) on the real monitor and store: two monitors ("instances") on one store, each
/// with its own prober that records its calls and marks what it saw with its instance's name. Only the lease holder
/// probes; the other serves the holder's picture from the store; when the lease moves, the new holder probes.
/// </summary>
public abstract class SharedPicturesTests(IStoreHarness harness) : StoreTestBase(harness)
{
    [Fact]
    public async Task Only_the_lease_holder_probes_a_cluster_and_the_other_instance_serves_its_picture_until_it_takes_over()
    {
        var cluster = (await Get<IClusterRepository>().AddAsync(NewCluster(), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct)).Spec;
        var pictures = new ClusterPictureStore(Get<IStoreConnectionFactory>());
        var (leasesA, proberA) = (new Leases(), new NamingProber("a"));
        var (leasesB, proberB) = (new Leases(), new NamingProber("b"));
        using var a = Monitor(leasesA, proberA, pictures, "a");
        using var b = Monitor(leasesB, proberB, pictures, "b");
        leasesA.Held.TryAdd(cluster.Id, 0);

        await a.PollOnceAsync(Ct);
        await b.PollOnceAsync(Ct);
        Assert.Equal(2, proberA.Calls); // one call per node
        Assert.Equal(0, proberB.Calls);
        var seenByA = a.GetLatest(cluster.Id)!;
        var servedByB = b.GetLatest(cluster.Id);
        Assert.NotNull(servedByB);
        Assert.Equal(TopologyJson.Serialize(seenByA), TopologyJson.Serialize(servedByB));
        Assert.All(servedByB.Nodes, n => Assert.Equal("a", n.Version));

        // The holder's next picture reaches b at b's next poll, watchers (the pages) included; a change b is told of is
        // left to the holder (whose live channels see it too): b still never probes.
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watch = b.WatchAsync(cluster.Id, watching.Token).GetAsyncEnumerator(watching.Token);
        Assert.True(await watch.MoveNextAsync());
        Time.Advance(TimeSpan.FromSeconds(2));
        b.RequestProbe(cluster.Id, Time.GetUtcNow());
        await a.PollOnceAsync(Ct);
        await b.PollOnceAsync(Ct);
        Assert.True(await watch.MoveNextAsync());
        Assert.Equal(a.GetLatest(cluster.Id)!.ObservedAt, watch.Current.ObservedAt);
        Assert.True(watch.Current.ObservedAt > seenByA.ObservedAt);
        await Task.Delay(100, Ct);
        Assert.Equal(0, proberB.Calls);
        await watch.DisposeAsync();

        // a dies and b takes the lease over: b probes the cluster itself from its next poll and shares its pictures.
        leasesA.Held.Clear();
        leasesB.Held.TryAdd(cluster.Id, 0);
        Time.Advance(TimeSpan.FromSeconds(2));
        await b.PollOnceAsync(Ct);
        Assert.Equal(2, proberB.Calls);
        Assert.All(b.GetLatest(cluster.Id)!.Nodes, n => Assert.Equal("b", n.Version));
        var stored = Assert.Single(await pictures.ReadAllAsync(Ct));
        Assert.Equal("b", stored.HolderName);
        Assert.Equal(b.GetLatest(cluster.Id)!.ObservedAt, stored.Picture!.ObservedAt);
        Assert.Equal(StoreTypeHandlers.ToStoreTime(stored.Picture.ObservedAt), stored.ObservedAt); // the column keeps milliseconds

        // An operation's own check probes on any instance (a no longer holds the lease).
        var callsOfA = proberA.Calls;
        Assert.NotNull(await a.ProbeNowAsync(cluster.Id, Ct));
        Assert.Equal(callsOfA + 2, proberA.Calls);
    }

    private TopologyMonitor Monitor(Leases leases, INodeProber prober, ClusterPictureStore pictures, string name) =>
        new(Get<IClusterRepository>(), prober, MsOptions.Create(new TopologyOptions { Enabled = false, LiveDebounce = TimeSpan.Zero }), Time,
            shared: new SharedPictures(leases, pictures, new ConsoleInstance(MsOptions.Create(new InstanceOptions { Name = name }))));

    private sealed class Leases : IClusterLeases
    {
        public ConcurrentDictionary<Guid, byte> Held { get; } = new();

        public bool Holds(Guid clusterId) => Held.ContainsKey(clusterId);

        public DateTimeOffset? HeldSince(Guid clusterId) => Holds(clusterId) ? DateTimeOffset.UnixEpoch : null;
    }

    /// <summary>Answers every probe with the node as a primary whose version names the prober's instance.</summary>
    private sealed class NamingProber(string instance) : INodeProber
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<NodeState> ProbeAsync(ProbeTarget target, NodeSpec node, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new NodeState
            {
                NodeId = node.Id, Name = node.Name, Address = node.Address, SshReachable = true, Role = NodeRole.Standby, Version = instance,
            });
        }

        public ValueTask ForgetAsync(Guid nodeId) => ValueTask.CompletedTask;
    }
}

public sealed class SharedPicturesSqliteTests() : SharedPicturesTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class SharedPicturesPostgresTests(StorePostgresFixture server) : SharedPicturesTests(new PostgresStoreHarness(server));
