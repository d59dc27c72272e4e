using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// A fresh lab (taken down and brought up again, so every test class starts from the runbook's starting state: pg1 a
/// standalone primary, pg2 empty) imported as a cluster into a scratch SQLite store, with the console's services as
/// the web app registers them (store, data protection, SSH layer, operations, setup). Operations run through the one
/// <see cref="OperationRunner"/>, directly (no Hangfire), so a test sees their outcome and journal.
/// </summary>
public class PairFixture : IAsyncLifetime
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "pgha-pair-" + Guid.NewGuid().ToString("N")[..8]);
    private ServiceProvider? _services;

    public LabController Controller { get; } = new(Console.Out);

    /// <summary>True for a pair in the UML lab (<c>up --ipvs</c>), where LVS-DR forwards for real.</summary>
    protected virtual bool Ipvs => false;

    public LabInfo Lab { get; private set; } = null!;

    public string StateDir { get; private set; } = null!;

    public IServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    public ClusterSpec Cluster { get; private set; } = null!;

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async Task InitializeAsync()
    {
        _gate = await LabGate.HoldAsync(CancellationToken.None);
        try
        {
            await StartAsync();
        }
        catch
        {
            _gate.Dispose();
            throw;
        }
    }

    private IDisposable? _gate;

    private async Task StartAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(Ipvs ? 8 : 5));
        StateDir = LabFixture.DefaultStateDir();
        await ResetLabAsync(cts.Token);
        Directory.CreateDirectory(_scratch);
        var services = new ServiceCollection();
        services
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton<IHostApplicationLifetime, TestLifetime>()
            .AddPgHaConsoleDataProtection(Path.Combine(_scratch, "keys"))
            .AddPgHaConsoleStore(new StoreOptions { SqlitePath = Path.Combine(_scratch, "store.db") })
            .AddSshLayer()
            .AddPgHaConsoleOperations()
            .AddPgHaConsoleOperationKinds();
        ConfigureServices(services);
        _services = services.BuildServiceProvider();
        await Get<StoreMigrator>().MigrateAsync(cts.Token);

        var (lab, errors) = LabImport.Parse(await File.ReadAllTextAsync(Path.Combine(StateDir, "lab.json"), cts.Token));
        Assert.True(lab is not null, string.Join("; ", errors.Select(e => e.Message)));
        var spec = LabImport.ToCluster(lab!, "lab");
        var nodeSecrets = new Dictionary<Guid, NodeSecrets>
        {
            [spec.Node1.Id] = new() { PrivateKey = await File.ReadAllTextAsync(lab!.Nodes[0].SshKeyPath, cts.Token) },
            [spec.Node2.Id] = new() { PrivateKey = await File.ReadAllTextAsync(lab.Nodes[1].SshKeyPath, cts.Token) },
        };
        Cluster = (await Get<IClusterRepository>().AddAsync(spec, new ClusterSecrets(), nodeSecrets, cts.Token)).Spec;
    }

    /// <summary>Extra registrations of a derived fixture, after the console's own and before the provider is built.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Down and up: the runbook's starting state, whatever an earlier test class left.</summary>
    public async Task ResetLabAsync(CancellationToken ct)
    {
        var options = new LabOptions(StateDir, Ipvs: Ipvs);
        await Controller.DownAsync(options, ct);
        var result = await Controller.UpAsync(options, ct);
        Lab = result.Info;
    }

    /// <summary>Creates an operation of <paramref name="kind"/> (journaled, not run), as the launcher does.</summary>
    public Task<OperationRecord> CreateAsync(string kind, object? parameters, CancellationToken ct) =>
        Get<OperationExecutor>().CreateAsync(kind, Cluster.Id, JsonSerializer.SerializeToElement(parameters ?? new { }, OperationJson.Options), "integration-test", ct);

    /// <summary>Creates and runs an operation of <paramref name="kind"/> to its end; returns its journal record.</summary>
    public async Task<OperationRecord> RunAsync(string kind, object? parameters, CancellationToken ct) =>
        await RunExistingAsync((await CreateAsync(kind, parameters, ct)).Id, null, ct);

    /// <summary>
    /// Runs (or resumes) an existing operation to its end through the console's own executor (as the Hangfire job
    /// does); <paramref name="parameters"/>' fields are merged into the journaled ones first, as a resume request's are.
    /// </summary>
    public async Task<OperationRecord> RunExistingAsync(Guid operationId, object? parameters, CancellationToken ct, CancellationToken applicationStopping = default)
    {
        var journal = Get<IOperationJournal>();
        if (parameters is not null)
        {
            var op = (await journal.GetAsync(operationId, ct))!;
            var json = OperationLauncher.Merge(op.ParametersJson, JsonSerializer.SerializeToElement(parameters, OperationJson.Options));
            await journal.SetParametersAsync(operationId, json.GetRawText(), ct);
        }

        await Get<OperationExecutor>().ExecuteAsync(operationId, null, applicationStopping, ct);
        return (await journal.GetAsync(operationId, ct))!;
    }

    public async Task<string> LogTextAsync(Guid operationId, CancellationToken ct)
    {
        var lines = await Get<IOperationJournal>().ReadLogAsync(operationId, 0, 5000, ct);
        return string.Join('\n', lines.Select(l => $"{l.At:HH:mm:ss.fff} [{l.Step}] {l.Host ?? "console"} {l.Stream}: {l.Line}"));
    }

    /// <summary>The wizard's pair, set up once per fixture: runs the setup unless one already succeeded on it.</summary>
    public async Task EnsureSetUpAsync(CancellationToken ct)
    {
        var ops = await Get<IOperationJournal>().ListByClusterAsync(Cluster.Id, 50, ct);
        if (!ops.Any(o => o.Kind == SetupOperation.Kind && o.Status == OperationStatus.Succeeded))
        {
            var setup = await RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
            Assert.True(setup.Status == OperationStatus.Succeeded, await LogTextAsync(setup.Id, ct));
        }
    }

    /// <summary>psql as postgres on a lab host, unaligned and tuples only (the test's own view of the node).</summary>
    public Task<PgHaConsole.Lab.CommandResult> SqlAsync(string host, string sql, CancellationToken ct) =>
        ExecAsync(host, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", sql);

    /// <summary>Which of pg1 and pg2 runs as the primary now (asked of pg1).</summary>
    public async Task<string> PrimaryAsync(CancellationToken ct) =>
        (await SqlAsync("pg1", "SELECT pg_is_in_recovery()", ct)).StandardOutput.Trim() == "f" ? "pg1" : "pg2";

    /// <summary>Whether the primary's pg_stat_replication shows the standby streaming.</summary>
    public async Task<bool> StreamingAsync(string primary, string standby, CancellationToken ct) =>
        (await SqlAsync(primary, $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'", ct)).StandardOutput.Trim() == "streaming";

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct, Xunit.Abstractions.ITestOutputHelper? output = null, TimeSpan? every = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, "timed out waiting for " + what);
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(250), ct);
        }

        output?.WriteLine($"{what}: {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Runs a command as root inside a lab host (the test's own hands on the machine, not the console's).</summary>
    public Task<PgHaConsole.Lab.CommandResult> ExecAsync(string host, CancellationToken ct, params string[] argv) =>
        Controller.ExecInHostAsync(host, argv, ct);

    public virtual async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        // Leave the lab in its starting state for whoever comes next (other collections reset it too).
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await Controller.DownAsync(new LabOptions(StateDir), cts.Token);
            await Controller.UpAsync(new LabOptions(StateDir), cts.Token);
        }
        finally
        {
            _gate?.Dispose();
            try
            {
                Directory.Delete(_scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed class TestLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
