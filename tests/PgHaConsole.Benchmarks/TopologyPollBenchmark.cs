using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// Runs the real <see cref="TopologyMonitor"/> (real prober, SSH pool, Npgsql data sources) over N logical clusters
/// for S seconds and prints the console's CPU share and memory. The clusters point at the lab's two hosts when
/// <c>.lab/lab.json</c> exists, else at 198.18.4.201/.202 where nothing answers (then it measures the cost of
/// failing probes, which is what an outage looks like).
/// </summary>
internal static class TopologyPollBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var clusters = IntOption(args, "--clusters", 50);
        var seconds = IntOption(args, "--seconds", 60);
        // --unreachable: measure failing probes even where a lab exists (the lab is a shared resource).
        var labFile = args.Contains("--unreachable", StringComparer.Ordinal) ? null : FindLabFile();
        var specs = new List<(ClusterSpec Spec, NodeSecrets Secrets)>();
        string targetDescription;
        if (labFile is not null && LabImport.Parse(await File.ReadAllTextAsync(labFile)) is ({ } lab, { Count: 0 }))
        {
            var key = await File.ReadAllTextAsync(lab.Nodes[0].SshKeyPath);
            for (var i = 0; i < clusters; i++)
            {
                specs.Add((LabImport.ToCluster(lab, $"bench-{i:00}") with { Id = Guid.NewGuid() }, new NodeSecrets { PrivateKey = key }));
            }

            targetDescription = $"the lab's hosts {lab.Nodes[0].Address} and {lab.Nodes[1].Address} (from {labFile})";
        }
        else
        {
            for (var i = 0; i < clusters; i++)
            {
                specs.Add((new ClusterSpec
                {
                    Name = $"bench-{i:00}",
                    Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.201", HostKeySha256 = "7+LhFK5wuAgRcP6WEWvUBdHtXLX9UvEoTOLuszwvtJY", AuthKind = SshAuthKind.Password },
                    Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.202", HostKeySha256 = "7+LhFK5wuAgRcP6WEWvUBdHtXLX9UvEoTOLuszwvtJY", AuthKind = SshAuthKind.Password },
                    WriteVip = "198.18.4.203",
                    ReadVip = "198.18.4.204",
                }, new NodeSecrets { Password = "bench-password" }));
            }

            targetDescription = "unreachable addresses 198.18.4.201/.202 (no .lab/lab.json, or --unreachable): every probe fails";
        }

        var options = Options.Create(new TopologyOptions { PollInterval = TimeSpan.FromSeconds(2) });
        await using var pool = new SshSessionPool(NullLoggerFactory.Instance, TimeProvider.System);
        await using var prober = new NodeProber(pool, options);
        var repository = new InMemoryClusters(specs);
        using var monitor = new TopologyMonitor(repository, prober, options, TimeProvider.System);

        Console.WriteLine($"topology-poll: {clusters} clusters ({clusters * 2} nodes), every {options.Value.PollInterval.TotalSeconds:0.#} s, for {seconds} s");
        Console.WriteLine($"targets: {targetDescription}");

        var process = Process.GetCurrentProcess();
        GC.Collect();
        var cpuStart = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var pictures = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var watchers = specs.Select(s => CountAsync(monitor, s.Spec.Id, () => Interlocked.Increment(ref pictures), stop.Token)).ToArray();
        await monitor.StartAsync(CancellationToken.None);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), CancellationToken.None);
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
        }

        await Task.WhenAll(watchers);
        wall.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuStart;
        var share = cpu.TotalSeconds / wall.Elapsed.TotalSeconds / Environment.ProcessorCount;
        var all = monitor.GetAll();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pictures published: {pictures} ({pictures / wall.Elapsed.TotalSeconds:0.0}/s), clusters with a picture: {all.Count}/{clusters}, data sources open: {prober.DataSourceCount}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"CPU: {cpu.TotalSeconds:0.00} s over {wall.Elapsed.TotalSeconds:0.0} s wall on {Environment.ProcessorCount} cores = {share * 100:0.00} % of the machine ({cpu.TotalSeconds / wall.Elapsed.TotalSeconds * 100:0.0} % of one core)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory: working set {process.WorkingSet64 / 1048576.0:0.0} MiB, GC heap {GC.GetTotalMemory(false) / 1048576.0:0.0} MiB, allocated {GC.GetTotalAllocatedBytes() / 1048576.0:0.0} MiB in total"));
        if (all.FirstOrDefault() is { } sample)
        {
            Console.WriteLine($"sample picture {sample.ClusterName}: roles {string.Join(", ", sample.Nodes.Select(n => $"{n.Name}={n.Role}"))}; alarms {string.Join(", ", sample.Alarms.Select(a => a.Key))}");
        }

        return 0;
    }

    private static async Task CountAsync(ITopologyMonitor monitor, Guid id, Action onPicture, CancellationToken ct)
    {
        try
        {
            await foreach (var _ in monitor.WatchAsync(id, ct))
            {
                onPicture();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }

    private static string? FindLabFile()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".lab", "lab.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The store reduced to what the monitor reads, in memory.</summary>
    private sealed class InMemoryClusters(IReadOnlyList<(ClusterSpec Spec, NodeSecrets Secrets)> clusters) : IClusterRepository
    {
        private readonly Dictionary<Guid, StoredCluster> _byId = clusters.ToDictionary(c => c.Spec.Id, c => new StoredCluster
        {
            Spec = c.Spec,
            RowVersion = 1,
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
            Secrets = new ClusterSecretsPresence(false, true, false),
            Nodes = new Dictionary<Guid, StoredNodeState>(),
        });

        private readonly Dictionary<Guid, NodeSecrets> _nodeSecrets = clusters
            .SelectMany(c => c.Spec.Nodes.Select(n => (n.Id, c.Secrets)))
            .ToDictionary(x => x.Id, x => x.Secrets);

        public Task<IReadOnlyList<StoredCluster>> ListAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<StoredCluster>>(_byId.Values.ToArray());

        public Task<StoredCluster?> GetAsync(Guid id, CancellationToken ct) => Task.FromResult(_byId.GetValueOrDefault(id));

        public Task<ClusterSecrets?> GetClusterSecretsAsync(Guid clusterId, CancellationToken ct) =>
            Task.FromResult<ClusterSecrets?>(new ClusterSecrets { MonitorPassword = "bench-monitor-password" });

        public Task<NodeSecrets?> GetNodeSecretsAsync(Guid nodeId, CancellationToken ct) => Task.FromResult(_nodeSecrets.GetValueOrDefault(nodeId));

        public Task<StoredCluster?> FindByNameAsync(string name, CancellationToken ct) => throw new NotSupportedException();

        public Task<StoredCluster> AddAsync(ClusterSpec spec, ClusterSecrets secrets, IReadOnlyDictionary<Guid, NodeSecrets> nodeSecrets, CancellationToken ct) => throw new NotSupportedException();

        public Task<StoredCluster> UpdateAsync(ClusterSpec spec, ClusterSecrets? secrets, IReadOnlyDictionary<Guid, NodeSecrets>? nodeSecrets, long? expectedRowVersion, CancellationToken ct) => throw new NotSupportedException();

        public Task<StoredCluster> SetClientCidrsAsync(Guid clusterId, IReadOnlyList<string> clientCidrs, CancellationToken ct) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(Guid id, CancellationToken ct) => throw new NotSupportedException();

        public Task PinHostKeyAsync(Guid nodeId, string sha256, CancellationToken ct) => throw new NotSupportedException();

        public Task SetPendingHostKeyAsync(Guid nodeId, string? sha256, CancellationToken ct) => throw new NotSupportedException();
    }
}
