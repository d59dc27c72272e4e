using Microsoft.Extensions.Logging;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Chaos;
using PgHaConsole.Lab;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// The lab reset (down then up: the runbook's starting state), imported as a cluster into a scratch SQLite store, with
/// the console's services registered as the web app does; operations run through the one <see cref="OperationRunner"/>
/// (no Hangfire), as the integration tests' PairFixture does. For benchmarks that need a real pair; the chaos suite's
/// pair too (<see cref="IChaosPair"/>, with the topology monitor and the failover witness registered).
/// </summary>
internal sealed class LabPairHarness : IAsyncDisposable, IChaosPair
{
    private bool _witnessStarted;

    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "pgha-bench-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly StreamWriter _labLog;
    private ServiceProvider? _services;

    private LabPairHarness(string stateDir)
    {
        StateDir = stateDir;
        Directory.CreateDirectory(_scratch);
        _labLog = new StreamWriter(Path.Combine(_scratch, "lab.log")) { AutoFlush = true };
        Controller = new LabController(_labLog);
    }

    public LabController Controller { get; }

    public string StateDir { get; }

    public string ScratchDir => _scratch;

    public LabInfo Lab { get; private set; } = null!;

    public ClusterSpec Cluster { get; private set; } = null!;

    public string MonitorPassword { get; private set; } = "";

    public IServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>The lab's state dir: PGHA_LAB_STATE, else <c>.lab</c> at the repository root.</summary>
    public static string DefaultStateDir() =>
        Environment.GetEnvironmentVariable("PGHA_LAB_STATE") is { Length: > 0 } configured ? Path.GetFullPath(configured) : LabPaths.DefaultStateDir();

    /// <summary>Resets the lab and imports it as a cluster (not yet set up: run the "setup" operation).</summary>
    /// <param name="configure">Extra registrations after the console's own (a benchmark's capabilities).</param>
    public static async Task<LabPairHarness> CreateAsync(CancellationToken ct, Action<IServiceCollection, LabPairHarness>? configure = null)
    {
        var harness = new LabPairHarness(DefaultStateDir());
        try
        {
            await harness.InitializeAsync(configure, ct);
            return harness;
        }
        catch
        {
            await harness.DisposeServicesAsync();
            throw;
        }
    }

    private async Task InitializeAsync(Action<IServiceCollection, LabPairHarness>? configure, CancellationToken ct)
    {
        await ResetLabAsync(ct);
        var services = new ServiceCollection();
        services
            .AddLogging(b =>
            {
                // PGHA_BENCH_LOG=Failover (a category prefix after "PgHaConsole."): those logs on the console, to see
                // where a figure's time went.
                if (Environment.GetEnvironmentVariable("PGHA_BENCH_LOG") is { Length: > 0 } prefix)
                {
                    b.AddProvider(new ConsoleLogProvider("PgHaConsole." + prefix));
                }
            })
            .AddSingleton(TimeProvider.System)
            .AddSingleton<IHostApplicationLifetime, BenchmarkLifetime>()
            .AddPgHaConsoleDataProtection(Path.Combine(_scratch, "keys"))
            .AddPgHaConsoleStore(new StoreOptions { SqlitePath = Path.Combine(_scratch, "store.db") })
            .AddSshLayer()
            .AddPgHaConsoleOperations()
            .AddPgHaConsoleOperationKinds();
        configure?.Invoke(services, this);
        _services = services.BuildServiceProvider();
        await Get<StoreMigrator>().MigrateAsync(ct);

        var (lab, errors) = LabImport.Parse(await File.ReadAllTextAsync(Path.Combine(StateDir, LabPaths.LabInfoFile), ct));
        if (lab is null)
        {
            throw new InvalidOperationException("lab.json does not import: " + string.Join("; ", errors.Select(e => e.Message)));
        }

        var spec = LabImport.ToCluster(lab, "lab");
        var nodeSecrets = new Dictionary<Guid, NodeSecrets>
        {
            [spec.Node1.Id] = new() { PrivateKey = await File.ReadAllTextAsync(lab.Nodes[0].SshKeyPath, ct) },
            [spec.Node2.Id] = new() { PrivateKey = await File.ReadAllTextAsync(lab.Nodes[1].SshKeyPath, ct) },
        };
        Cluster = (await Get<IClusterRepository>().AddAsync(spec, new ClusterSecrets(), nodeSecrets, ct)).Spec;
    }

    /// <summary>Down and up: the runbook's starting state, whatever anyone left.</summary>
    public async Task ResetLabAsync(CancellationToken ct)
    {
        var options = new LabOptions(StateDir);
        await Controller.DownAsync(options, ct);
        Lab = (await Controller.UpAsync(options, ct)).Info;
    }

    /// <summary>Runs the setup wizard to its end; afterwards the monitoring role's password is known.</summary>
    public async Task<OperationRecord> SetupPairAsync(CancellationToken ct)
    {
        var op = await RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
        if (op.Status != OperationStatus.Succeeded)
        {
            throw new InvalidOperationException($"setup ended {op.Status}: {op.Error}\n{await LogTextAsync(op.Id, ct)}");
        }

        Cluster = (await Get<IClusterRepository>().GetAsync(Cluster.Id, ct))!.Spec;
        MonitorPassword = (await Get<IClusterRepository>().GetClusterSecretsAsync(Cluster.Id, ct))?.MonitorPassword
            ?? throw new InvalidOperationException("The setup left no monitoring password in the cluster secrets.");
        return op;
    }

    /// <summary>Creates and runs an operation of <paramref name="kind"/> to its end through the console's own executor; returns its journal record.</summary>
    public async Task<OperationRecord> RunAsync(string kind, object? parameters, CancellationToken ct)
    {
        var executor = Get<OperationExecutor>();
        var op = await executor.CreateAsync(kind, Cluster.Id, JsonSerializer.SerializeToElement(parameters ?? new { }, OperationJson.Options), "benchmark", ct);
        await executor.ExecuteAsync(op.Id, null, CancellationToken.None, ct);
        return (await Get<IOperationJournal>().GetAsync(op.Id, ct))!;
    }

    /// <summary>Runs an operation created elsewhere (the launcher: the witness's failover) to its end through the executor.</summary>
    public async Task<OperationRecord> RunExistingAsync(Guid operationId, CancellationToken ct)
    {
        await Get<OperationExecutor>().ExecuteAsync(operationId, null, CancellationToken.None, ct);
        return (await Get<IOperationJournal>().GetAsync(operationId, ct))!;
    }

    public Task<string> MonitorPasswordAsync(CancellationToken ct) => Task.FromResult(MonitorPassword);

    public async Task EnsureSetUpAsync(CancellationToken ct)
    {
        if (MonitorPassword.Length == 0)
        {
            await SetupPairAsync(ct);
        }
    }

    /// <summary>Starts the topology monitor's polling and the failover witness (registered by the benchmark); idempotent.</summary>
    public async Task StartWitnessAsync(CancellationToken ct)
    {
        if (_witnessStarted)
        {
            return;
        }

        _witnessStarted = true;
        ct.ThrowIfCancellationRequested();
        await Get<TopologyMonitor>().StartAsync(CancellationToken.None);
        await Get<FailoverWitness>().StartAsync(CancellationToken.None);
    }

    public async Task StopWitnessAsync()
    {
        if (_witnessStarted)
        {
            _witnessStarted = false;
            await Get<FailoverWitness>().StopAsync(CancellationToken.None);
            await Get<TopologyMonitor>().StopAsync(CancellationToken.None);
        }
    }

    public async Task<string> LogTextAsync(Guid operationId, CancellationToken ct)
    {
        var lines = await Get<IOperationJournal>().ReadLogAsync(operationId, 0, 5000, ct);
        return string.Join('\n', lines.Select(l => $"{l.At.ToLocalTime():HH:mm:ss.fff} [{l.Step}] {l.Host ?? "console"} {l.Stream}: {l.Line}"));
    }

    /// <summary>Runs a command as root inside a lab host (the benchmark's own hands, not the console's).</summary>
    public Task<PgHaConsole.Lab.CommandResult> ExecAsync(string host, CancellationToken ct, params string[] argv) =>
        Controller.ExecInHostAsync(host, argv, ct);

    /// <summary>psql as postgres on the local socket of a lab host; trimmed output.</summary>
    public async Task<string> PsqlAsync(string host, string sql, CancellationToken ct) =>
        (await ExecAsync(host, ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", sql)).StandardOutput.Trim();

    public NodeSpec Node(string name) => Cluster.Nodes.First(n => n.Name == name);

    /// <summary>The monitoring role's connection string to <paramref name="host"/> (a VIP or a node address), short timeouts.</summary>
    public string MonitorConnectionString(string host, string applicationName)
    {
        // GSS encryption off, as the console's own connections (NodeConnections): Npgsql's default stalls an open
        // now and then for the whole connect timeout, which would read as a write gap of either tool.
        return PgHaConsole.Infrastructure.Postgres.NodeConnections.Monitor(Cluster, host, MonitorPassword, applicationName, timeout: 1, commandTimeout: 1).ConnectionString;
    }

    /// <summary>Which node is the primary now (not in recovery), from the hosts; null when not exactly one.</summary>
    public async Task<string?> PrimaryAsync(CancellationToken ct)
    {
        var primaries = new List<string>();
        foreach (var n in Cluster.Nodes)
        {
            if (await PsqlAsync(n.Name, "SELECT pg_is_in_recovery()", ct) == "f")
            {
                primaries.Add(n.Name);
            }
        }

        return primaries.Count == 1 ? primaries[0] : null;
    }

    /// <summary>The pair's health as the issue defines it: one primary, the other streaming from it, both VIPs on the primary only.</summary>
    public async Task<(bool Healthy, string Detail)> HealthAsync(CancellationToken ct)
    {
        var primary = await PrimaryAsync(ct);
        if (primary is null)
        {
            return (false, "not exactly one primary");
        }

        var standby = Cluster.Nodes.First(n => n.Name != primary).Name;
        var inRecovery = await PsqlAsync(standby, "SELECT pg_is_in_recovery()", ct);
        var state = await PsqlAsync(primary, $"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'", ct);
        var onPrimary = (await ExecAsync(primary, ct, "ip", "-o", "-4", "addr", "show", "dev", Cluster.Vrrp.Interface)).StandardOutput;
        var onStandby = (await ExecAsync(standby, ct, "ip", "-o", "-4", "addr", "show", "dev", Cluster.Vrrp.Interface)).StandardOutput;
        var vipsOk = onPrimary.Contains(Cluster.WriteVip + "/", StringComparison.Ordinal) && onPrimary.Contains(Cluster.ReadVip + "/", StringComparison.Ordinal)
            && !onStandby.Contains(Cluster.WriteVip + "/", StringComparison.Ordinal) && !onStandby.Contains(Cluster.ReadVip + "/", StringComparison.Ordinal);
        var healthy = inRecovery == "t" && state == "streaming" && vipsOk;
        return (healthy, $"primary {primary}, standby {standby} in recovery={inRecovery}, pg_stat_replication state '{state}', VIPs {(vipsOk ? "on the primary only" : "NOT on the primary only")}");
    }

    private async Task DisposeServicesAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
            _services = null;
        }
    }

    /// <summary>Leaves the lab reset (down + up) for whoever comes next.</summary>
    public async ValueTask DisposeAsync()
    {
        await DisposeServicesAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await ResetLabAsync(cts.Token);
        }
        finally
        {
            await _labLog.DisposeAsync();
            try
            {
                Directory.Delete(_scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed class BenchmarkLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}

/// <summary>Writes log lines whose category starts with a prefix to the console, with the time (benchmark diagnostics).</summary>
internal sealed class ConsoleLogProvider(string prefix) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, categoryName.StartsWith(prefix, StringComparison.Ordinal));

    public void Dispose()
    {
    }

    private sealed class Logger(string category, bool enabled) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => enabled && logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Console.WriteLine($"    {DateTimeOffset.UtcNow:HH:mm:ss.fff} {category[(category.LastIndexOf('.') + 1)..]}: {formatter(state, exception)}");
            }
        }
    }
}
