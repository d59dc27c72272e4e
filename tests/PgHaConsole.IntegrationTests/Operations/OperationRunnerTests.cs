using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.IntegrationTests.Store;

namespace PgHaConsole.IntegrationTests.Operations;

/// <summary>The operation runner against a real store, on SQLite and on PostgreSQL, with steps that write real files.</summary>
public abstract class OperationRunnerTests(IStoreHarness harness) : StoreTestBase(harness)
{
    private const string Secret = "Hunter2-rEpl!pw";

    private readonly StepCalls _calls = new();
    private ClusterSpec _cluster = null!;
    private IOperationJournal _journal = null!;
    private IClusterLock _lock = null!;
    private OperationLogStore _logs = null!;
    private OperationRunner _runner = null!;

    private string Dir => Harness.ScratchDirectory;

    private async Task InitAsync()
    {
        _cluster = (await Get<IClusterRepository>().AddAsync(NewCluster(), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct)).Spec;
        // Through the registration the console uses, so a missing or mis-scoped service shows here.
        var operations = new ServiceCollection()
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton(Get<IStoreConnectionFactory>())
            .AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>))
            .AddPgHaConsoleOperations()
            .BuildServiceProvider();
        _journal = operations.GetRequiredService<IOperationJournal>();
        _lock = operations.GetRequiredService<IClusterLock>();
        _logs = operations.GetRequiredService<OperationLogStore>();
        _runner = operations.GetRequiredService<OperationRunner>();
        Assert.Same(_logs, operations.GetRequiredService<OperationLogStore>());
    }

    private OperationRunContext Context(CancellationToken stopping = default) => new()
    {
        Cluster = _cluster,
        Masker = new SecretMasker([Secret]),
        ApplicationStopping = stopping,
    };

    private WriteFileStep FileStep(string name, Func<string?>? failWith = null, IReadOnlyList<string>? lines = null, Func<CancellationToken, Task>? gate = null, string? verifyFailure = null) =>
        new(name, Path.Combine(Dir, name + ".txt"), "content of " + name, _calls)
        {
            FailWith = failWith,
            Lines = lines ?? [],
            Gate = gate,
            VerifyFailure = verifyFailure,
        };

    private async Task<Guid> CreateAsync(OperationDefinition definition) =>
        (await _journal.CreateAsync(_cluster.Id, definition.Kind, definition.StepNames, "alice", null, Ct)).Id;

    private async Task<List<OperationLogLine>> JournalLogAsync(Guid id) => [.. await _journal.ReadLogAsync(id, 0, 5000, Ct)];

    [Fact]
    public async Task Runs_every_step_in_order_and_journals_each_state()
    {
        await InitAsync();
        var definition = new OperationDefinition("setup", [FileStep("one", lines: ["hello from one"]), FileStep("two"), FileStep("three")]);
        var id = await CreateAsync(definition);
        Assert.Equal(_cluster.Id, (await _journal.GetAsync(id, Ct))!.ClusterId);

        var status = await _runner.RunAsync(id, definition, Context(), Ct);

        Assert.Equal(OperationStatus.Succeeded, status);
        Assert.Equal(["one", "two", "three"], _calls.RunOrder);
        var op = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Succeeded, op.Status);
        Assert.Equal("setup", op.Kind);
        Assert.Equal("alice", op.RequestedBy);
        Assert.Equal(3, op.CurrentStep);
        Assert.Null(op.Error);
        Assert.NotNull(op.StartedAt);
        Assert.NotNull(op.FinishedAt);
        Assert.Equal(["one", "two", "three"], op.Steps.Select(s => s.Name));
        Assert.All(op.Steps, s => Assert.Equal(StepStatus.Succeeded, s.Status));
        Assert.All(op.Steps, s => Assert.NotNull(s.FinishedAt));
        Assert.Equal("three.txt holds the text", op.Steps[2].Message);
        Assert.Equal("content of two", await File.ReadAllTextAsync(Path.Combine(Dir, "two.txt"), Ct));
        Assert.Null(await _lock.GetHolderAsync(_cluster.Id, Ct));

        var log = await JournalLogAsync(id);
        Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Select(l => l.Seq));
        var hello = Assert.Single(log, l => l.Line == "hello from one");
        Assert.Equal(1, hello.Step);
        Assert.Equal("pg1", hello.Host);
        Assert.Equal(LogStream.Stdout, hello.Stream);
        Assert.Contains(log, l => l.Step == 3 && l.Stream == LogStream.Info && l.Line.StartsWith("Verified", StringComparison.Ordinal));

        var listed = Assert.Single(await _journal.ListByClusterAsync(_cluster.Id, 10, Ct));
        Assert.Equal(id, listed.Id);
        Assert.Equal(3, listed.Steps.Count);
    }

    [Fact]
    public async Task A_step_already_done_is_skipped_with_its_reason()
    {
        await InitAsync();
        await File.WriteAllTextAsync(Path.Combine(Dir, "two.txt"), "content of two", Ct);
        var definition = new OperationDefinition("setup", [FileStep("one"), FileStep("two"), FileStep("three")]);
        var id = await CreateAsync(definition);

        Assert.Equal(OperationStatus.Succeeded, await _runner.RunAsync(id, definition, Context(), Ct));

        var op = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal([StepStatus.Succeeded, StepStatus.Skipped, StepStatus.Succeeded], op.Steps.Select(s => s.Status));
        Assert.Equal("two.txt already holds the text", op.Steps[1].Message);
        Assert.Equal(0, _calls["two.run"]);
        Assert.Equal(["one", "three"], _calls.RunOrder);
    }

    [Fact]
    public async Task A_failure_stops_the_run_and_a_resume_continues_at_the_failed_step()
    {
        await InitAsync();
        var broken = true;
        var definition = new OperationDefinition("setup", [
            FileStep("one"),
            FileStep("two", failWith: () => broken ? $"pg_hba reload failed for password {Secret}" : null),
            FileStep("three"),
        ]);
        var id = await CreateAsync(definition);

        Assert.Equal(OperationStatus.Failed, await _runner.RunAsync(id, definition, Context(), Ct));

        var failed = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Failed, failed.Status);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Failed, StepStatus.Pending], failed.Steps.Select(s => s.Status));
        Assert.Equal($"pg_hba reload failed for password {SecretMasker.Mask}", failed.Steps[1].Message);
        Assert.Equal($"Step 2 (two) failed: pg_hba reload failed for password {SecretMasker.Mask}", failed.Error);
        Assert.Equal(2, failed.CurrentStep);
        Assert.False(File.Exists(Path.Combine(Dir, "three.txt")));
        // Released on failure, so the fixed re-run can take it again.
        Assert.Null(await _lock.GetHolderAsync(_cluster.Id, Ct));
        var seqBefore = await _journal.GetLastLogSeqAsync(id, Ct);

        broken = false;
        Assert.Equal(OperationStatus.Succeeded, await _runner.RunAsync(id, definition, Context(), Ct));

        var resumed = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Succeeded, resumed.Status);
        Assert.Null(resumed.Error);
        Assert.All(resumed.Steps, s => Assert.Equal(StepStatus.Succeeded, s.Status));
        Assert.Equal(1, _calls["one.check"]);
        Assert.Equal(1, _calls["one.run"]);
        Assert.Equal(2, _calls["two.run"]);
        Assert.Equal(1, _calls["three.run"]);
        Assert.Equal(["one", "two", "two", "three"], _calls.RunOrder);
        var log = await JournalLogAsync(id);
        // The resume continues the numbering: no line of the first run is overwritten.
        Assert.Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), log.Select(l => l.Seq));
        Assert.True(log.Count > seqBefore);
        Assert.Contains(log, l => l.Seq > seqBefore && l.Line.Contains("was completed by an earlier run", StringComparison.Ordinal) && l.Step == 1);
    }

    [Fact]
    public async Task A_failed_verification_fails_the_step_with_its_reason()
    {
        await InitAsync();
        var definition = new OperationDefinition("setup", [FileStep("one", verifyFailure: "replication not streaming"), FileStep("two")]);
        var id = await CreateAsync(definition);

        Assert.Equal(OperationStatus.Failed, await _runner.RunAsync(id, definition, Context(), Ct));

        var op = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal([StepStatus.Failed, StepStatus.Pending], op.Steps.Select(s => s.Status));
        Assert.Equal("verification failed: replication not streaming", op.Steps[0].Message);
        Assert.Equal(0, _calls["two.check"]);
    }

    [Fact]
    public async Task A_held_lock_refuses_a_second_operation_and_survives_a_restart()
    {
        await InitAsync();
        var definition = new OperationDefinition("switchover", [FileStep("one")]);
        var first = await CreateAsync(definition);
        await _lock.AcquireAsync(_cluster.Id, first, Ct);
        // Re-entrant for the holder (a resume).
        await _lock.AcquireAsync(_cluster.Id, first, Ct);
        var second = await CreateAsync(definition);

        var ex = await Assert.ThrowsAsync<ClusterLockedException>(() => _runner.RunAsync(second, definition, Context(), Ct));

        Assert.Equal(first, ex.HolderOperationId);
        Assert.Equal("switchover", ex.HolderKind);
        Assert.Contains(first.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, _calls["one.check"]);
        Assert.Equal(OperationStatus.Pending, (await _journal.GetAsync(second, Ct))!.Status);

        // A new process sees the same holder: the lock is a row.
        await using var restarted = BuildServices(Options);
        var lockAfterRestart = new ClusterLock(restarted.GetRequiredService<IStoreConnectionFactory>(), Time);
        Assert.Equal(first, await lockAfterRestart.GetHolderAsync(_cluster.Id, Ct));
        Assert.False(await lockAfterRestart.ReleaseAsync(_cluster.Id, second, Ct));
        Assert.True(await lockAfterRestart.ReleaseAsync(_cluster.Id, first, Ct));

        Assert.Equal(OperationStatus.Succeeded, await _runner.RunAsync(second, definition, Context(), Ct));
    }

    [Fact]
    public async Task After_a_crash_running_operations_become_interrupted_keep_their_lock_and_resume()
    {
        await InitAsync();
        var definition = new OperationDefinition("setup", [FileStep("one"), FileStep("two"), FileStep("three")]);
        var id = await CreateAsync(definition);
        var untouched = await CreateAsync(definition);
        // What a console killed during step 2 leaves behind.
        await _lock.AcquireAsync(_cluster.Id, id, Ct);
        await _journal.SetOperationStatusAsync(id, OperationStatus.Running, null, Ct);
        await _journal.SetStepStatusAsync(id, 1, StepStatus.Succeeded, "done", Ct);
        await _journal.SetStepStatusAsync(id, 2, StepStatus.Running, null, Ct);

        await using var restarted = BuildServices(Options);
        var journalAfterRestart = new OperationJournal(restarted.GetRequiredService<IStoreConnectionFactory>(), Time);
        var changed = await journalAfterRestart.MarkStaleInterruptedAsync(Time.GetUtcNow(), Ct);

        Assert.Equal([id], changed);
        var op = (await journalAfterRestart.GetAsync(id, Ct))!;
        Assert.Equal(OperationStatus.Interrupted, op.Status);
        Assert.Equal("Interrupted at step 2 (two).", op.Error);
        Assert.Equal(2, op.CurrentStep);
        Assert.Equal(OperationStatus.Pending, (await journalAfterRestart.GetAsync(untouched, Ct))!.Status);
        Assert.Equal(id, await _lock.GetHolderAsync(_cluster.Id, Ct));
        Assert.Empty(await journalAfterRestart.MarkStaleInterruptedAsync(Time.GetUtcNow(), Ct));

        Assert.Equal(OperationStatus.Succeeded, await _runner.RunAsync(id, definition, Context(), Ct));

        Assert.Equal(0, _calls["one.check"]);
        Assert.Equal(["two", "three"], _calls.RunOrder);
        Assert.Null(await _lock.GetHolderAsync(_cluster.Id, Ct));
    }

    [Fact]
    public async Task Console_stopping_mid_step_leaves_it_interrupted_and_locked_while_an_operator_cancel_releases()
    {
        await InitAsync();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Block(CancellationToken ct)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }

        var definition = new OperationDefinition("setup", [FileStep("one"), FileStep("two", gate: Block)]);
        var id = await CreateAsync(definition);
        using var stopping = new CancellationTokenSource();
        using var jobToken = CancellationTokenSource.CreateLinkedTokenSource(Ct, stopping.Token);
        var run = _runner.RunAsync(id, definition, Context(stopping.Token), jobToken.Token);
        await started.Task.WaitAsync(Ct);
        await stopping.CancelAsync();

        Assert.Equal(OperationStatus.Interrupted, await run);
        var op = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal("Interrupted at step 2 (two): the console stopped.", op.Error);
        Assert.Equal(StepStatus.Running, op.Steps[1].Status);
        Assert.Equal(id, await _lock.GetHolderAsync(_cluster.Id, Ct));

        // Resumed, then cancelled by the operator: Cancelled and the lock released.
        started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var operatorCancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var again = _runner.RunAsync(id, definition, Context(), operatorCancel.Token);
        await started.Task.WaitAsync(Ct);
        await operatorCancel.CancelAsync();

        Assert.Equal(OperationStatus.Cancelled, await again);
        var cancelled = (await _journal.GetAsync(id, Ct))!;
        Assert.Equal("Cancelled at step 2 (two).", cancelled.Error);
        Assert.Equal([StepStatus.Succeeded, StepStatus.Failed], cancelled.Steps.Select(s => s.Status));
        Assert.Equal(1, _calls["one.run"]);
        Assert.Null(await _lock.GetHolderAsync(_cluster.Id, Ct));
    }

    [Fact]
    public async Task A_watch_gets_the_backlog_then_live_lines_and_completes_with_the_operation()
    {
        await InitAsync();
        var backlogWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var definition = new OperationDefinition("setup", [
            FileStep("one", lines: ["early 1", "early 2"]),
            FileStep("two", lines: ["before gate"], gate: async ct =>
            {
                backlogWritten.TrySetResult();
                await release.Task.WaitAsync(ct);
            }),
            FileStep("three", lines: ["live 1", "live 2"]),
        ]);
        var id = await CreateAsync(definition);
        var run = _runner.RunAsync(id, definition, Context(), Ct);
        await backlogWritten.Task.WaitAsync(Ct);

        var received = new List<OperationLogLine>();
        var sawBacklog = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Task.Run(async () =>
        {
            await foreach (var line in _logs.WatchAsync(id, Ct))
            {
                lock (received)
                {
                    received.Add(line);
                }

                if (line.Line == "before gate")
                {
                    sawBacklog.TrySetResult();
                }
            }
        });
        await sawBacklog.Task.WaitAsync(Ct);
        lock (received)
        {
            Assert.DoesNotContain(received, l => l.Line.StartsWith("live", StringComparison.Ordinal));
        }

        release.SetResult();
        Assert.Equal(OperationStatus.Succeeded, await run);
        await watch.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        var journaled = await JournalLogAsync(id);
        Assert.Equal(journaled, received);
        Assert.Equal(Enumerable.Range(1, received.Count).Select(i => (long)i), received.Select(l => l.Seq));
        var lines = received.Select(l => l.Line).ToList();
        Assert.True(lines.IndexOf("early 2") < lines.IndexOf("before gate") && lines.IndexOf("before gate") < lines.IndexOf("live 1"));

        // A watch after the end reads the journal and completes.
        var late = new List<OperationLogLine>();
        await foreach (var line in _logs.WatchAsync(id, Ct))
        {
            late.Add(line);
        }

        Assert.Equal(journaled, late);
    }

    [Fact]
    public async Task Secrets_are_masked_in_the_journal_the_log_and_the_store_files()
    {
        await InitAsync();
        var definition = new OperationDefinition("setup", [
            FileStep("one", lines: [$"PGPASSWORD={Secret} psql", "multi\nline " + ShellQuote.Quote(Secret)]),
            FileStep("two", failWith: () => $"auth failed: {Secret}"),
        ]);
        var id = await CreateAsync(definition);
        var watched = new List<OperationLogLine>();
        var watch = Task.Run(async () =>
        {
            await foreach (var line in _logs.WatchAsync(id, Ct))
            {
                watched.Add(line);
            }
        });

        Assert.Equal(OperationStatus.Failed, await _runner.RunAsync(id, definition, Context(), Ct));
        await watch.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        var log = await JournalLogAsync(id);
        Assert.Contains(log, l => l.Line == $"PGPASSWORD={SecretMasker.Mask} psql");
        Assert.Contains(log, l => l.Line == "line " + SecretMasker.Mask);
        Assert.Contains(log, l => l.Line == "multi");
        Assert.Contains(log, l => l.Stream == LogStream.Stderr && l.Line == $"auth failed: {SecretMasker.Mask}");
        Assert.Equal(log, watched);
        Assert.DoesNotContain(log, l => l.Line.Contains("Hunter2", StringComparison.Ordinal));
        var op = (await _journal.GetAsync(id, Ct))!;
        Assert.DoesNotContain("Hunter2", op.Error!, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2", op.Steps[1].Message!, StringComparison.Ordinal);

        var raw = System.Text.Encoding.UTF8.GetString(await Harness.DumpRawAsync(Ct));
        Assert.Contains("auth failed", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2", raw, StringComparison.Ordinal);
    }
}

public sealed class OperationRunnerSqliteTests() : OperationRunnerTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class OperationRunnerPostgresTests(StorePostgresFixture server) : OperationRunnerTests(new PostgresStoreHarness(server));
