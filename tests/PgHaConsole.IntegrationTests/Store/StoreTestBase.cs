using System.Data.Common;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

/// <summary>
/// Base of every store test class: a fresh, migrated store per test, on the harness's dialect. Each test class is
/// abstract and has two sealed children, one per dialect, so every test runs on SQLite and on PostgreSQL.
/// </summary>
public abstract class StoreTestBase(IStoreHarness harness) : IAsyncLifetime
{
    /// <summary>Not on a millisecond boundary on purpose: the store keeps milliseconds.</summary>
    protected static readonly DateTimeOffset Start = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private ServiceProvider? _services;

    protected IStoreHarness Harness { get; } = harness;

    protected FakeTimeProvider Time { get; } = new(Start);

    protected StoreOptions Options { get; private set; } = new();

    protected IServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>Bounds every store call of a test, so a hung database fails the test instead of the run.</summary>
    protected CancellationToken Ct => _timeout.Token;

    protected T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async Task InitializeAsync()
    {
        Options = await Harness.CreateStoreAsync(Ct);
        _services = BuildServices(Options);
        await Get<StoreMigrator>().MigrateAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        await Harness.DisposeAsync();
        _timeout.Dispose();
    }

    protected ServiceProvider BuildServices(StoreOptions options) =>
        new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(Time)
            .AddPgHaConsoleDataProtection(Path.Combine(Harness.ScratchDirectory, "keys"))
            .AddPgHaConsoleStore(options)
            .BuildServiceProvider();

    protected async Task<long> ScalarAsync(string sql, object? param = null)
    {
        await using var connection = await Get<IStoreConnectionFactory>().OpenAsync(Ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, param, cancellationToken: Ct));
    }

    protected async Task<DbConnection> OpenAsync() => await Get<IStoreConnectionFactory>().OpenAsync(Ct);

    protected static ClusterSpec NewCluster(string name = "pg-main") => new()
    {
        Name = name,
        Node1 = new NodeSpec
        {
            Name = "pg1",
            Address = "198.18.4.11",
            SshPort = 2222,
            SshUser = "admin",
            AuthKind = SshAuthKind.PrivateKey,
            Privilege = PrivilegeMode.Sudo,
            HostKeySha256 = new string('A', 42) + "E",
        },
        Node2 = new NodeSpec
        {
            Name = "pg2",
            Address = "198.18.4.12",
            SshPort = 22,
            SshUser = "root",
            AuthKind = SshAuthKind.Password,
            Privilege = PrivilegeMode.Root,
        },
        WriteVip = "198.18.4.100",
        ReadVip = "198.18.4.101",
        VipPrefixLength = 25,
        Vrrp = new VrrpSettings { Interface = "eth1", VirtualRouterId = 51, Node1Priority = 120, Node2Priority = 80, AdvertIntSeconds = 0.25m },
        Balancer = BalancerMode.LvsDr,
        Postgres = new PostgresSettings
        {
            MajorVersion = 13,
            BinDir = "/usr/pgsql-13/bin",
            DataDir = "/var/lib/pgsql/13/data",
            Port = 5433,
            OsUser = "pgsql",
            ServiceControl = ServiceControl.Systemd,
            SystemdUnit = "postgresql-13.service",
            ReplicationUser = "replicator",
            MonitorUser = "watcher",
        },
    };

    protected static ClusterSecrets NewClusterSecrets(string tag = "") => new()
    {
        ReplicationPassword = "repl-Pass-" + tag + Guid.NewGuid().ToString("N")[..10],
        MonitorPassword = "mon-Pass-" + tag + Guid.NewGuid().ToString("N")[..10],
        VrrpPassword = "vr" + Guid.NewGuid().ToString("N")[..6],
    };

    protected static Dictionary<Guid, NodeSecrets> NewNodeSecrets(ClusterSpec spec) => new()
    {
        [spec.Node1.Id] = new NodeSecrets
        {
            PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA" + Guid.NewGuid().ToString("N") + "\n-----END OPENSSH PRIVATE KEY-----\n",
            PrivateKeyPassphrase = "phrase-" + Guid.NewGuid().ToString("N")[..12],
        },
        [spec.Node2.Id] = new NodeSecrets { Password = "ssh-Pw-" + Guid.NewGuid().ToString("N")[..12] },
    };
}
