using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// Two console hosts on one store (#17 item 3): an operation held by one instance, seen from the other. The operation's
/// journal is written as its runner on the first instance writes it (the runner's own behaviour is proven in
/// IntegrationTests/Operations/ConsoleInstancesTests and end to end in E2E/ConsoleInstancesTests).
/// </summary>
public sealed class ConsoleInstancesWebTests : IDisposable
{
    private readonly ConsoleFactory _a = new();

    public void Dispose() => _a.Dispose();

    private async Task<(Guid ClusterId, Guid OperationId)> RunningOnAAsync()
    {
        using var client = _a.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var created = await client.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster($"inst-{Guid.NewGuid():N}"[..16]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var clusterId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var journal = _a.Services.GetRequiredService<IOperationJournal>();
        var op = await journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "web-test", null, CancellationToken.None);
        var instance = _a.Services.GetRequiredService<ConsoleInstance>();
        Assert.True(await journal.ClaimAsync(op.Id, instance.Id, instance.Name, CancellationToken.None));
        await journal.SetStepStatusAsync(op.Id, 1, StepStatus.Running, null, CancellationToken.None);
        return (clusterId, op.Id);
    }

    private static OperationLogLine Line(long seq, string text) => new(seq, DateTimeOffset.UtcNow, 1, "pg1", LogStream.Stdout, text);

    [Fact]
    public async Task A_single_instance_takes_the_lease_of_a_new_cluster_and_keeps_it_beyond_one_lease_duration()
    {
        var (clusterId, _) = await RunningOnAAsync();
        var leases = _a.Services.GetRequiredService<IClusterLeases>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(8);
        while (!leases.Holds(clusterId))
        {
            Assert.True(DateTime.UtcNow < until, "the lease of a cluster added after the start was not taken by the renewal loop");
            await Task.Delay(100);
        }

        var since = leases.HeldSince(clusterId);
        var end = DateTime.UtcNow + new InstanceOptions().LeaseDuration + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < end)
        {
            Assert.True(leases.Holds(clusterId), "the lease lapsed: it was not renewed");
            await Task.Delay(200);
        }

        Assert.Equal(since, leases.HeldSince(clusterId));
    }

    [Fact]
    public async Task The_instance_that_adds_a_cluster_decides_for_it_at_once_and_an_instance_starting_right_after_does_not_take_it()
    {
        // Seen in the two-console lab run: a added the cluster, b started a few seconds later and its start-up renewal
        // took the lease, because a took leases of new clusters only at its next timer tick (up to one renewal
        // interval later, more on a loaded machine). The instance that adds a cluster now holds its lease on return.
        var leasesA = _a.Services.GetRequiredService<IClusterLeases>();
        _ = _a.Server;
        using var client = _a.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var created = await client.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster($"lease-{Guid.NewGuid():N}"[..16]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var clusterId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.True(leasesA.Holds(clusterId), "the instance that added the cluster does not hold its lease when the add returns");

        using var b = ConsoleFactory.OnStoreOf(_a.DataDirectory);
        var managerB = b.Services.GetRequiredService<ClusterLeaseManager>();
        Assert.DoesNotContain(clusterId, await managerB.RenewAsync(CancellationToken.None));
        Assert.False(b.Services.GetRequiredService<IClusterLeases>().Holds(clusterId));
        Assert.True(leasesA.Holds(clusterId));
        var lease = Assert.Single(await _a.Services.GetRequiredService<ClusterLeaseStore>().ListAsync(CancellationToken.None), l => l.ClusterId == clusterId);
        Assert.Equal(_a.Services.GetRequiredService<ConsoleInstance>().Id, lease.HolderInstance);
    }

    [Fact]
    public async Task An_instance_that_does_not_hold_the_lease_follows_the_alerts_silently_and_after_taking_over_sends_what_fires_and_its_resolution()
    {
        var clusterId = Guid.NewGuid();
        var leases = new SwitchableLeases();
        var monitor = new OnePicture();
        var sender = new RecordingSender();
        var alerts = new AlertDispatcher([sender], Microsoft.Extensions.Options.Options.Create(new AlertOptions { For = TimeSpan.FromSeconds(5) }), NullLogger<AlertDispatcher>.Instance);
        var recorder = new HealthRecorder(monitor, _a.Services.GetRequiredService<IHistoryStore>(),
            new StaticMonitor<HistoryOptions>(new HistoryOptions()), alerts: alerts, leases: leases);
        var t0 = DateTimeOffset.UtcNow;

        // pg2 stops streaming: the holder elsewhere alerts after 5 s; this instance only follows (nothing sent, but its
        // count of firing alerts, which /metrics shows, is the holder's).
        monitor.Picture = Picture(clusterId, t0, streaming: false);
        await recorder.RecordAsync(t0, CancellationToken.None);
        monitor.Picture = Picture(clusterId, t0.AddSeconds(6), streaming: false);
        await recorder.RecordAsync(t0.AddSeconds(6), CancellationToken.None);
        Assert.Empty(sender.Sent);
        Assert.Equal(1, alerts.FiringCount);

        // The holder dies; this instance takes the lease over: what fires is sent once more at once (the holder may
        // have died before sending it: seen in the two-console lab run), not again at the next recordings ...
        leases.Held = true;
        monitor.Picture = Picture(clusterId, t0.AddSeconds(20), streaming: false);
        await recorder.RecordAsync(t0.AddSeconds(20), CancellationToken.None);
        monitor.Picture = Picture(clusterId, t0.AddSeconds(25), streaming: false);
        await recorder.RecordAsync(t0.AddSeconds(25), CancellationToken.None);
        var firing = Assert.Single(sender.Sent);
        Assert.Equal((AlertRuleNames.StandbyNotStreaming, AlertStatus.Firing, "pg2"), (firing.Rule, firing.Status, firing.Node));

        // ... and when it resolves, this instance says so, once.
        monitor.Picture = Picture(clusterId, t0.AddSeconds(30), streaming: true);
        await recorder.RecordAsync(t0.AddSeconds(30), CancellationToken.None);
        monitor.Picture = Picture(clusterId, t0.AddSeconds(35), streaming: true);
        await recorder.RecordAsync(t0.AddSeconds(35), CancellationToken.None);
        Assert.Equal(2, sender.Sent.Count);
        var resolved = sender.Sent[1];
        Assert.Equal((AlertRuleNames.StandbyNotStreaming, AlertStatus.Resolved, "pg2"), (resolved.Rule, resolved.Status, resolved.Node));
    }

    private static ClusterTopology Picture(Guid clusterId, DateTimeOffset at, bool streaming) => new()
    {
        ClusterId = clusterId,
        ClusterName = "followed",
        ObservedAt = at,
        WriteVipHolder = "pg1",
        Nodes =
        [
            new NodeState { NodeId = Guid.NewGuid(), Name = "pg1", Address = "198.18.4.247", SshReachable = true, PgReachable = true, Role = NodeRole.Primary, HoldsWriteVip = true },
            new NodeState
            {
                NodeId = Guid.NewGuid(), Name = "pg2", Address = "198.18.4.248", SshReachable = true, PgReachable = true, Role = NodeRole.Standby,
                WalReceiver = new WalReceiverState { Status = streaming ? "streaming" : null },
            },
        ],
    };

    private sealed class SwitchableLeases : IClusterLeases
    {
        public bool Held { get; set; }

        public bool Holds(Guid clusterId) => Held;

        public DateTimeOffset? HeldSince(Guid clusterId) => Held ? DateTimeOffset.UnixEpoch : null;
    }

    private sealed class OnePicture : ITopologyMonitor
    {
        public ClusterTopology? Picture { get; set; }

        public ClusterTopology? GetLatest(Guid clusterId) => Picture;

        public IReadOnlyList<ClusterTopology> GetAll() => Picture is null ? [] : [Picture];

        public IAsyncEnumerable<ClusterTopology> WatchAsync(Guid clusterId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken) => Task.FromResult(Picture);
    }

    private sealed class RecordingSender : IAlertSender
    {
        public List<AlertNotification> Sent { get; } = [];

        public string Name => "recording";

        public bool Enabled => true;

        public Task SendAsync(AlertNotification notification, CancellationToken ct)
        {
            Sent.Add(notification);
            return Task.CompletedTask;
        }
    }

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    [Fact]
    public async Task Starting_another_instance_leaves_a_live_instances_operation_running()
    {
        var (clusterId, operationId) = await RunningOnAAsync();

        // What a restart of any other instance does at start (before #17 it marked every running operation interrupted).
        using var b = ConsoleFactory.OnStoreOf(_a.DataDirectory);
        using var client = b.CreateClientWithToken(ConsoleFactory.AdminToken);
        var op = await client.GetFromJsonAsync<JsonElement>($"/api/operations/{operationId}");
        Assert.Equal("running", op.GetProperty("status").GetString());
        Assert.Equal(_a.Services.GetRequiredService<ConsoleInstance>().Name, op.GetProperty("runningOn").GetString());
        Assert.NotEqual(_a.Services.GetRequiredService<ConsoleInstance>().Id, b.Services.GetRequiredService<ConsoleInstance>().Id);

        // Exactly one of the two decides for the cluster (the lease), and the other knows it does not.
        var leasesA = _a.Services.GetRequiredService<IClusterLeases>();
        var leasesB = b.Services.GetRequiredService<IClusterLeases>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!(leasesA.Holds(clusterId) || leasesB.Holds(clusterId)) && DateTime.UtcNow < until)
        {
            await Task.Delay(100);
        }

        Assert.True(leasesA.Holds(clusterId) ^ leasesB.Holds(clusterId), "one instance holds the lease");
        var held = Assert.Single(await _a.Services.GetRequiredService<ClusterLeaseStore>().ListAsync(CancellationToken.None), l => l.ClusterId == clusterId);
        var holder = leasesA.Holds(clusterId) ? _a : b;
        Assert.Equal(holder.Services.GetRequiredService<ConsoleInstance>().Id, held.HolderInstance);
        Assert.Contains(holder.Logs, l => l.Contains("now decides for cluster " + clusterId, StringComparison.Ordinal));

        // Resume from b is refused while a runs it.
        using var resume = await client.PostAsJsonAsync($"/api/operations/{operationId}/resume", new { });
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
    }

    [Fact]
    public async Task The_hub_of_another_instance_serves_the_journaled_lines_then_follows_until_the_operation_ends()
    {
        var (_, operationId) = await RunningOnAAsync();
        var journal = _a.Services.GetRequiredService<IOperationJournal>();
        await journal.AppendLogAsync(operationId, [Line(1, "first"), Line(2, "second")], CancellationToken.None);

        using var b = ConsoleFactory.OnStoreOf(_a.DataDirectory);
        _ = b.Server;
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(b.Server.BaseAddress, "hubs/operations"), o =>
            {
                o.HttpMessageHandlerFactory = _ => b.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling;
                o.AccessTokenProvider = () => Task.FromResult<string?>(ConsoleFactory.AdminToken);
            })
            .Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await hub.StartAsync(timeout.Token);
        var seen = new List<OperationLogLine>();
        var gotThird = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var follow = Task.Run(async () =>
        {
            await foreach (var line in hub.StreamAsync<OperationLogLine>("StreamLog", operationId, 0L, timeout.Token))
            {
                lock (seen)
                {
                    seen.Add(line);
                }

                if (line.Line == "third")
                {
                    gotThird.TrySetResult();
                }
            }
        });

        // Written on a (as its runner journals them) while b's follower waits: they reach it live.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await journal.AppendLogAsync(operationId, [Line(3, "third")], CancellationToken.None);
        await gotThird.Task.WaitAsync(timeout.Token);
        Assert.False(follow.IsCompleted);

        await journal.AppendLogAsync(operationId, [Line(4, "last")], CancellationToken.None);
        await journal.SetOperationStatusAsync(operationId, OperationStatus.Succeeded, null, CancellationToken.None);
        await follow.WaitAsync(timeout.Token);
        Assert.Equal(["first", "second", "third", "last"], seen.Select(l => l.Line));
        Assert.Equal([1L, 2, 3, 4], seen.Select(l => l.Seq));
    }
}
