using Dapper;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class MigrationTests(IStoreHarness harness) : StoreTestBase(harness)
{
    // The tables the journal, inventory and identity need (issue 3, 4, 6), in both dialects.
    private static readonly string[] ExpectedTables =
    [
        "api_tokens", "audit_log", "cluster_leases", "cluster_locks", "cluster_pictures", "clusters", "failover_policies", "first_admin_claim", "health_event", "health_rollup", "health_sample", "nodes",
        "operation_log", "operation_steps", "operations", "secrets", "users",
    ];

    [Fact]
    public async Task Migrating_again_applies_nothing_and_keeps_data()
    {
        // InitializeAsync already migrated once; data written in between must survive a second run.
        await Get<IAuditLog>().WriteAsync(new AuditEntry { Actor = "alice", Action = "probe", Result = AuditResults.Succeeded }, Ct);

        var second = await Get<StoreMigrator>().MigrateAsync(Ct);
        var third = await new StoreMigrator(Options).MigrateAsync(Ct);

        Assert.Empty(second);
        Assert.Empty(third);
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM audit_log"));
    }

    [Fact]
    public async Task First_migration_applies_every_script_of_the_dialect_and_creates_the_tables()
    {
        var fresh = await Harness.CreateStoreAsync(Ct);
        await using var services = BuildServices(fresh);

        var applied = await services.GetRequiredService<StoreMigrator>().MigrateAsync(Ct);

        Assert.NotEmpty(applied);
        Assert.Equal(StoreMigrator.ScriptNames(Harness.Kind), applied);
        var tableSql = Harness.Kind == StoreKind.Sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'SchemaVersions'"
            : "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schemaversions'";
        await using var connection = await services.GetRequiredService<IStoreConnectionFactory>().OpenAsync(Ct);
        var tables = (await connection.QueryAsync<string>(new CommandDefinition(tableSql, cancellationToken: Ct))).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ExpectedTables, tables);
    }

    [Fact]
    public async Task A_failing_script_throws_a_clear_exception_and_leaves_nothing_half_applied()
    {
        var fresh = await Harness.CreateStoreAsync(Ct);
        await using var services = BuildServices(fresh);
        await using (var connection = await services.GetRequiredService<IStoreConnectionFactory>().OpenAsync(Ct))
        {
            // A table in the way makes the first script fail part-way through.
            await connection.ExecuteAsync(new CommandDefinition("CREATE TABLE users (id integer)", cancellationToken: Ct));
        }

        var ex = await Assert.ThrowsAsync<StoreMigrationException>(() => services.GetRequiredService<StoreMigrator>().MigrateAsync(Ct));

        Assert.EndsWith("0001_initial.sql", ex.ScriptName, StringComparison.Ordinal);
        Assert.Contains("0001_initial.sql", ex.Message, StringComparison.Ordinal);
        Assert.Contains("users", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
        await using var check = await services.GetRequiredService<IStoreConnectionFactory>().OpenAsync(Ct);
        var clustersSql = Harness.Kind == StoreKind.Sqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'clusters'"
            : "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'clusters'";
        // The script's earlier statements (clusters, nodes, secrets come before users) were rolled back.
        Assert.Equal(0L, await check.ExecuteScalarAsync<long>(new CommandDefinition(clustersSql, cancellationToken: Ct)));
    }

    [Fact]
    public void Both_dialects_carry_the_same_script_names()
    {
        static IEnumerable<string> Names(StoreKind kind) =>
            StoreMigrator.ScriptNames(kind).Select(n => n[StoreMigrator.ScriptPrefix(kind).Length..]);

        Assert.NotEmpty(Names(StoreKind.Sqlite));
        Assert.Equal(Names(StoreKind.Sqlite), Names(StoreKind.Postgres));
    }

    [Fact]
    public async Task Sqlite_connections_use_wal_and_foreign_keys()
    {
        await using var connection = await OpenAsync();
        if (Harness.Kind != StoreKind.Sqlite)
        {
            // PostgreSQL enforces foreign keys always; check that the connection is to the configured database.
            Assert.Equal(new Npgsql.NpgsqlConnectionStringBuilder(Options.PostgresConnectionString).Database, connection.Database);
            return;
        }

        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>(new CommandDefinition("PRAGMA journal_mode", cancellationToken: Ct)));
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA foreign_keys", cancellationToken: Ct)));
        Assert.True(await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA busy_timeout", cancellationToken: Ct)) >= 1000);
    }
}

public sealed class MigrationSqliteTests() : MigrationTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class MigrationPostgresTests(StorePostgresFixture server) : MigrationTests(new PostgresStoreHarness(server));
