using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Identity;

namespace PgHaConsole.IntegrationTests.Store;

/// <summary>
/// The first-admin claim holds across console instances sharing a store (issue #15 item 1): each "instance" here is
/// its own service provider, with its own connections, over the same database.
/// </summary>
public abstract class FirstAdminClaimTests(IStoreHarness harness) : StoreTestBase(harness)
{
    [Fact]
    public async Task Of_many_instances_claiming_at_once_exactly_one_wins()
    {
        var instances = Enumerable.Range(0, 4).Select(_ => BuildServices(Options)).ToList();
        try
        {
            var attempts = instances.SelectMany((sp, i) => Enumerable.Range(0, 3).Select(j =>
                Task.Run(() => sp.GetRequiredService<IFirstAdminClaim>().TryClaimAsync($"instance{i}-visitor{j}", Ct)))).ToList();
            var won = await Task.WhenAll(attempts);
            Assert.Single(won, w => w);
            Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM first_admin_claim"));
        }
        finally
        {
            foreach (var sp in instances)
            {
                await sp.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_released_or_stale_claim_can_be_taken_but_never_once_a_user_exists()
    {
        var claim = Get<IFirstAdminClaim>();
        Assert.True(await claim.TryClaimAsync("a", Ct));
        Assert.False(await claim.TryClaimAsync("b", Ct));
        await claim.ReleaseAsync("b", Ct);
        Assert.False(await claim.TryClaimAsync("b", Ct));
        await claim.ReleaseAsync("a", Ct);
        Assert.True(await claim.TryClaimAsync("b", Ct));

        // The holder crashed before creating the user: after a while another may take over.
        Time.Advance(FirstAdminClaim.StaleAfter + TimeSpan.FromSeconds(1));
        Assert.True(await claim.TryClaimAsync("c", Ct));

        await Get<IUserRepository>().CreateAsync(new ConsoleUser { UserName = "c", NormalizedUserName = "C", Role = ConsoleRoles.Admin }, Ct);
        Time.Advance(FirstAdminClaim.StaleAfter * 10);
        Assert.False(await claim.TryClaimAsync("d", Ct));
        await claim.ReleaseAsync("c", Ct);
        Assert.False(await claim.TryClaimAsync("d", Ct));
    }

    [Fact]
    public async Task A_failed_sign_in_series_locks_the_user_out()
    {
        // Identity's lockout over the store's columns (issue #15 item 5): counted, persisted, reset on success.
        var services = new ServiceCollection().AddLogging().AddSingleton(Get<IUserRepository>());
        services.AddIdentityCore<ConsoleUser>(o =>
            {
                o.Lockout.MaxFailedAccessAttempts = 3;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
            })
            .AddUserStore<ConsoleUserStore>();
        await using var provider = services.BuildServiceProvider();
        var users = provider.GetRequiredService<UserManager<ConsoleUser>>();
        var user = new ConsoleUser { UserName = "locky" };
        Assert.True((await users.CreateAsync(user, "Long-enough-pw-1")).Succeeded);

        for (var i = 0; i < 3; i++)
        {
            await users.AccessFailedAsync((await users.FindByNameAsync("locky"))!);
        }

        var stored = (await Get<IUserRepository>().FindByIdAsync(user.Id, Ct))!;
        Assert.Equal(0, stored.AccessFailedCount);
        Assert.NotNull(stored.LockoutEnd);
        Assert.True(await users.IsLockedOutAsync(stored));
        await users.ResetAccessFailedCountAsync(stored);
        await users.SetLockoutEndDateAsync(stored, null);
        Assert.False(await users.IsLockedOutAsync((await Get<IUserRepository>().FindByIdAsync(user.Id, Ct))!));
    }
}

public sealed class FirstAdminClaimSqliteTests() : FirstAdminClaimTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class FirstAdminClaimPostgresTests(StorePostgresFixture server) : FirstAdminClaimTests(new PostgresStoreHarness(server));
