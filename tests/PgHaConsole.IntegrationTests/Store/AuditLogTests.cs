using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class AuditLogTests(IStoreHarness harness) : StoreTestBase(harness)
{
    private IAuditLog Audit => Get<IAuditLog>();

    private readonly Guid _clusterA = Guid.NewGuid();
    private readonly Guid _clusterB = Guid.NewGuid();

    private async Task SeedAsync()
    {
        // Four entries one minute apart, written in time order.
        await Audit.WriteAsync(new AuditEntry { Actor = "alice", Action = "cluster.create", ClusterId = _clusterA, Target = "pg-main", Result = AuditResults.Succeeded }, Ct);
        Time.Advance(TimeSpan.FromMinutes(1));
        await Audit.WriteAsync(new AuditEntry { Actor = "bob", Action = "cluster.switchover", ClusterId = _clusterA, Target = "pg-main", Result = AuditResults.Failed, Detail = "Standby LAG too high (100% of 16MB_limit)" }, Ct);
        Time.Advance(TimeSpan.FromMinutes(1));
        await Audit.WriteAsync(new AuditEntry { Actor = "token:ci", Action = "cluster.create", ClusterId = _clusterB, Target = "pg-test", Result = AuditResults.Succeeded }, Ct);
        Time.Advance(TimeSpan.FromMinutes(1));
        await Audit.WriteAsync(new AuditEntry { Actor = "alice", Action = "user.create", Target = "carol", Result = AuditResults.Denied }, Ct);
    }

    [Fact]
    public async Task Write_then_query_all_returns_every_field_newest_first()
    {
        await SeedAsync();

        var all = await Audit.QueryAsync(new AuditQuery(), Ct);

        Assert.Equal(["user.create", "cluster.create", "cluster.switchover", "cluster.create"], all.Select(e => e.Action));
        var switchover = all[2];
        Assert.Equal("bob", switchover.Actor);
        Assert.Equal(_clusterA, switchover.ClusterId);
        Assert.Equal("pg-main", switchover.Target);
        Assert.Equal(AuditResults.Failed, switchover.Result);
        Assert.Equal("Standby LAG too high (100% of 16MB_limit)", switchover.Detail);
        Assert.Equal(Start.AddMinutes(1).ToUnixTimeMilliseconds(), switchover.At.ToUnixTimeMilliseconds());
        Assert.Null(all[0].ClusterId);
        Assert.True(all.Select(e => e.Id).Distinct().Count() == 4);
    }

    [Fact]
    public async Task Each_filter_narrows_the_result()
    {
        await SeedAsync();

        Assert.Equal(2, (await Audit.QueryAsync(new AuditQuery { Actor = "alice" }, Ct)).Count);
        Assert.Equal(["cluster.switchover", "cluster.create"], (await Audit.QueryAsync(new AuditQuery { ClusterId = _clusterA }, Ct)).Select(e => e.Action));
        Assert.Equal(["token:ci", "alice"], (await Audit.QueryAsync(new AuditQuery { Action = "cluster.create" }, Ct)).Select(e => e.Actor));
        Assert.Equal(["bob", "token:ci"], (await Audit.QueryAsync(new AuditQuery { From = Start.AddMinutes(1), To = Start.AddMinutes(3) }, Ct)).Select(e => e.Actor).Reverse());
        Assert.Equal(["user.create"], (await Audit.QueryAsync(new AuditQuery { Limit = 1 }, Ct)).Select(e => e.Action));
        Assert.Equal(["carol"], (await Audit.QueryAsync(new AuditQuery { Actor = "alice", Action = "user.create" }, Ct)).Select(e => e.Target));
        Assert.Empty(await Audit.QueryAsync(new AuditQuery { Actor = "alice", ClusterId = _clusterB }, Ct));
    }

    [Fact]
    public async Task Text_search_is_case_insensitive_and_treats_like_wildcards_literally()
    {
        await SeedAsync();

        Assert.Equal(["bob"], (await Audit.QueryAsync(new AuditQuery { Text = "lag TOO" }, Ct)).Select(e => e.Actor));
        Assert.Equal(["bob"], (await Audit.QueryAsync(new AuditQuery { Text = "100%" }, Ct)).Select(e => e.Actor));
        Assert.Equal(["bob"], (await Audit.QueryAsync(new AuditQuery { Text = "16mb_l" }, Ct)).Select(e => e.Actor));
        // "_" and "%" would match anything if not escaped.
        Assert.Empty(await Audit.QueryAsync(new AuditQuery { Text = "pg_main" }, Ct));
        Assert.Empty(await Audit.QueryAsync(new AuditQuery { Text = "a%e" }, Ct));
        Assert.Equal(2, (await Audit.QueryAsync(new AuditQuery { Text = "PG-MAIN" }, Ct)).Count);
        Assert.Equal(["token:ci"], (await Audit.QueryAsync(new AuditQuery { Text = "pg-test" }, Ct)).Select(e => e.Actor));
    }
}

public sealed class AuditLogSqliteTests() : AuditLogTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class AuditLogPostgresTests(StorePostgresFixture server) : AuditLogTests(new PostgresStoreHarness(server));
