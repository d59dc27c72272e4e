using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.IntegrationTests.Store;

namespace PgHaConsole.IntegrationTests.Operations;

/// <summary>
/// Several console instances on one store (#17 item 3), at the store level, on SQLite and on PostgreSQL: each
/// "instance" is its own service provider (its own <see cref="ConsoleInstance"/>, runner, sweeper, log store and
/// leases) over the same database, on one fake clock that the test moves.
/// </summary>
public abstract class ConsoleInstancesTests(IStoreHarness harness) : StoreTestBase(harness), IAsyncLifetime
{
    private static readonly InstanceOptions Timings = new();

    private readonly List<ServiceProvider> _instances = [];
    private ClusterSpec _cluster = null!;

    private string Dir => Harness.ScratchDirectory;

    private async Task InitAsync() =>
        _cluster = (await Get<IClusterRepository>().AddAsync(NewCluster(), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct)).Spec;

    /// <summary>One console instance: the registrations the web host uses for operations and leases.</summary>
    private ServiceProvider Instance(string name)
    {
        var sp = new ServiceCollection()
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton(Get<IStoreConnectionFactory>())
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>))
            .Configure<InstanceOptions>(o => o.Name = name)
            .AddPgHaConsoleOperations()
            .AddClusterLeases()
            .BuildServiceProvider();
        _instances.Add(sp);
        return sp;
    }

    public new async Task DisposeAsync()
    {
        foreach (var sp in _instances)
        {
            await sp.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private OperationRunContext Context() => new() { Cluster = _cluster, Masker = new SecretMasker([]) };

    private async Task<Guid> CreateAsync(IServiceProvider sp, OperationDefinition definition) =>
        (await sp.GetRequiredService<IOperationJournal>().CreateAsync(_cluster.Id, definition.Kind, definition.StepNames, "alice", null, Ct)).Id;

    /// <summary>Moves the clock in heartbeat-sized steps, letting the instances' timers act at each (real time passes too).</summary>
    private async Task AdvanceAsync(TimeSpan total)
    {
        for (var moved = TimeSpan.Zero; moved < total; moved += Timings.HeartbeatInterval)
        {
            Time.Advance(Timings.HeartbeatInterval);
            await Task.Delay(150, Ct);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
        {
            await Task.Delay(50, ct);
        }
    }

    [Fact]
    public async Task A_live_instance_keeps_its_operation_while_others_start_and_sweep_and_a_dead_ones_becomes_interrupted_and_resumable_elsewhere()
    {
        await InitAsync();
        var a = Instance("a");
        var b = Instance("b");
        var calls = new StepCalls();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var definition = new OperationDefinition("setup",
        [
            new WriteFileStep("one", Path.Combine(Dir, "one.txt"), "1", calls),
            new WriteFileStep("two", Path.Combine(Dir, "two.txt"), "2", calls) { Gate = async ct => { entered.TrySetResult(); await release.Task.WaitAsync(ct); } },
        ]);
        var id = await CreateAsync(a, definition);
        await a.GetRequiredService<IClusterLock>().AcquireAsync(_cluster.Id, id, Ct);
        var run = a.GetRequiredService<OperationRunner>().RunAsync(id, definition, Context(), Ct);
        await entered.Task.WaitAsync(Ct);

        var journal = b.GetRequiredService<IOperationJournal>();
        var running = (await journal.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Running, running.Status);
        Assert.Equal("a", running.OwnerName);
        Assert.Equal(a.GetRequiredService<ConsoleInstance>().Id, running.OwnerInstance);

        // Another instance starting (what a restart of any instance does) and sweeping for a minute: a's heartbeat is
        // fresh, so its operation keeps running. Before #17 the start marked every running operation interrupted.
        var sweeper = b.GetRequiredService<OperationSweeper>();
        Assert.Empty(await Instance("c").GetRequiredService<OperationSweeper>().SweepAsync(Ct));
        for (var i = 0; i < 20; i++)
        {
            await AdvanceAsync(Timings.HeartbeatInterval);
            Assert.Empty(await sweeper.SweepAsync(Ct));
        }

        Assert.Equal(OperationStatus.Running, (await journal.GetAsync(id, Ct))!.Status);
        // Nobody else can resume or re-run it meanwhile: the claim is taken.
        Assert.Equal(OperationStatus.Running, await b.GetRequiredService<OperationRunner>().RunAsync(id, definition, Context(), Ct));
        Assert.Equal(1, calls["two.run"]);

        release.TrySetResult();
        Assert.Equal(OperationStatus.Succeeded, await run);

        // An instance that dies mid-run (it claimed the operation and never renews again).
        var second = await CreateAsync(a, definition);
        await a.GetRequiredService<IClusterLock>().AcquireAsync(_cluster.Id, second, Ct);
        Assert.True(await journal.ClaimAsync(second, Guid.NewGuid(), "dead", Ct));
        await journal.SetStepStatusAsync(second, 1, StepStatus.Running, null, Ct);
        Time.Advance(Timings.OperationStaleAfter - TimeSpan.FromSeconds(1));
        Assert.Empty(await sweeper.SweepAsync(Ct));
        Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([second], await sweeper.SweepAsync(Ct));
        var interrupted = (await journal.GetAsync(second, Ct))!;
        Assert.Equal(OperationStatus.Interrupted, interrupted.Status);
        Assert.Equal("Interrupted at step 1 (one): the console instance dead running it stopped renewing its heartbeat.", interrupted.Error);
        Assert.Equal(second, await journal.ClusterLockHolderAsync(b, _cluster.Id, Ct));

        // Resumed on b: its steps run there, the lock is released at the end.
        File.Delete(Path.Combine(Dir, "one.txt"));
        File.Delete(Path.Combine(Dir, "two.txt"));
        Assert.Equal(OperationStatus.Succeeded, await b.GetRequiredService<OperationRunner>().RunAsync(second, definition, Context(), Ct));
        var resumed = (await journal.GetAsync(second, Ct))!;
        Assert.Equal("b", resumed.OwnerName);
        Assert.Null(await b.GetRequiredService<IClusterLock>().GetHolderAsync(_cluster.Id, Ct));
    }

    [Fact]
    public async Task An_instance_whose_operation_was_marked_interrupted_stops_it_and_leaves_its_status_and_lock_to_the_next_owner()
    {
        await InitAsync();
        var a = Instance("a");
        var b = Instance("b");
        var calls = new StepCalls();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var definition = new OperationDefinition("setup",
        [
            new WriteFileStep("one", Path.Combine(Dir, "one.txt"), "1", calls) { Gate = async ct => { entered.TrySetResult(); await Task.Delay(Timeout.Infinite, ct); } },
        ]);
        var id = await CreateAsync(a, definition);
        var run = a.GetRequiredService<OperationRunner>().RunAsync(id, definition, Context(), Ct);
        await entered.Task.WaitAsync(Ct);

        // a stalled (the store was out of its reach) long enough for b to find its heartbeat stale.
        var journal = b.GetRequiredService<IOperationJournal>();
        Assert.Equal([id], await journal.MarkStaleInterruptedAsync(Time.GetUtcNow() + TimeSpan.FromSeconds(1), Ct));
        await AdvanceAsync(Timings.HeartbeatInterval);

        Assert.Equal(OperationStatus.Interrupted, await run.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        var op = (await journal.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Interrupted, op.Status);
        Assert.Contains("stopped renewing its heartbeat", op.Error, StringComparison.Ordinal);
        Assert.Equal(id, await journal.ClusterLockHolderAsync(b, _cluster.Id, Ct));
    }

    [Fact]
    public async Task One_instance_holds_a_clusters_lease_and_another_takes_it_over_when_the_holder_stops_renewing()
    {
        await InitAsync();
        var other = (await Get<IClusterRepository>().AddAsync(NewCluster("pg-other"), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct)).Spec;
        var a = Instance("a").GetRequiredService<ClusterLeaseManager>();
        var spB = Instance("b");
        var b = spB.GetRequiredService<ClusterLeaseManager>();

        Assert.Equal(2, (await a.RenewAsync(Ct)).Count);
        Assert.Empty(await b.RenewAsync(Ct));
        Assert.True(a.Holds(_cluster.Id) && a.Holds(other.Id));
        Assert.False(b.Holds(_cluster.Id) || b.Holds(other.Id));
        var since = a.HeldSince(_cluster.Id);

        // Renewals keep it with a, however long, and the holding is continuous.
        for (var i = 0; i < 10; i++)
        {
            Time.Advance(Timings.LeaseRenewInterval);
            Assert.Equal(2, (await a.RenewAsync(Ct)).Count);
            Assert.Empty(await b.RenewAsync(Ct));
        }

        Assert.Equal(since, a.HeldSince(_cluster.Id));
        var store = new ClusterLeaseStore(Get<IStoreConnectionFactory>());
        Assert.All(await store.ListAsync(Ct), l => Assert.Equal("a", l.HolderName));

        // a dies: by its own clock it stops acting when its lease runs out; b takes over at its first renewal after that.
        Time.Advance(Timings.LeaseRenewInterval);
        Assert.Empty(await b.RenewAsync(Ct));
        Time.Advance(Timings.LeaseDuration - Timings.LeaseRenewInterval + TimeSpan.FromSeconds(1));
        Assert.False(a.Holds(_cluster.Id));
        Assert.Equal(2, (await b.RenewAsync(Ct)).Count);
        Assert.True(b.Holds(_cluster.Id));
        Assert.All(await store.ListAsync(Ct), l => Assert.Equal("b", l.HolderName));

        // a comes back: it does not get them back while b renews.
        Assert.Empty(await a.RenewAsync(Ct));
        Assert.False(a.Holds(_cluster.Id));

        // A clean stop gives them up at once.
        Assert.Equal(2, await store.ReleaseAllAsync(spB.GetRequiredService<ConsoleInstance>().Id, Ct));
        Assert.Equal(2, (await a.RenewAsync(Ct)).Count);
    }

    [Fact]
    public async Task The_log_of_an_operation_running_on_another_instance_is_followed_live_through_the_store()
    {
        await InitAsync();
        var a = Instance("a");
        var b = Instance("b");
        var more = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var definition = new OperationDefinition("setup", [new ScriptedStep("talk", ["early 1", "early 2"], more.Task, ["late 1", "late 2"], finish.Task)]);
        var id = await CreateAsync(a, definition);
        var run = a.GetRequiredService<OperationRunner>().RunAsync(id, definition, Context(), Ct);

        // b has nothing of it in memory: its watcher reads the journal, then polls it.
        var journal = b.GetRequiredService<IOperationJournal>();
        await WaitUntilAsync(async () => (await journal.ReadLogAsync(id, 0, 100, Ct)).Any(l => l.Line == "early 2"), Ct);
        var seen = new List<OperationLogLine>();
        var gotEarly = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gotLate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var follow = Task.Run(async () =>
        {
            await foreach (var line in b.GetRequiredService<OperationLogStore>().WatchAsync(id, Ct))
            {
                lock (seen)
                {
                    seen.Add(line);
                }

                if (line.Line == "early 2")
                {
                    gotEarly.TrySetResult();
                }

                if (line.Line == "late 2")
                {
                    gotLate.TrySetResult();
                }
            }
        }, Ct);

        await gotEarly.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.False(follow.IsCompleted);
        more.TrySetResult();
        // Live: the late lines reach b while the operation still runs on a.
        await gotLate.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal(OperationStatus.Running, (await journal.GetAsync(id, Ct))!.Status);
        Assert.False(follow.IsCompleted);

        finish.TrySetResult();
        Assert.Equal(OperationStatus.Succeeded, await run);
        await follow.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        var all = await journal.ReadLogAsync(id, 0, 1000, Ct);
        Assert.Equal(all.Select(l => l.Seq), seen.Select(l => l.Seq));
        Assert.Equal(all.Select(l => l.Line), seen.Select(l => l.Line));
    }

    /// <summary>Logs some lines, waits, logs more, waits again; always succeeds.</summary>
    private sealed class ScriptedStep(string name, IReadOnlyList<string> first, Task between, IReadOnlyList<string> second, Task end) : IOperationStep
    {
        public string Name => name;

        public string Description => "talks";

        public Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([]));

        public Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("never done"));

        public async Task RunAsync(IOperationContext context)
        {
            foreach (var line in first)
            {
                context.Log(name, "pg1", LogStream.Stdout, line);
            }

            await between.WaitAsync(context.CancellationToken);
            foreach (var line in second)
            {
                context.Log(name, "pg1", LogStream.Stdout, line);
            }

            await end.WaitAsync(context.CancellationToken);
        }

        public Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed("talked"));
    }
}

internal static class ConsoleInstancesTestExtensions
{
    public static Task<Guid?> ClusterLockHolderAsync(this IOperationJournal _, IServiceProvider sp, Guid clusterId, CancellationToken ct) =>
        sp.GetRequiredService<IClusterLock>().GetHolderAsync(clusterId, ct);
}

public sealed class ConsoleInstancesSqliteTests() : ConsoleInstancesTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class ConsoleInstancesPostgresTests(StorePostgresFixture server) : ConsoleInstancesTests(new PostgresStoreHarness(server));
