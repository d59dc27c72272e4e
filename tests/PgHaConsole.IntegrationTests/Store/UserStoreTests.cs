using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class UserStoreTests(IStoreHarness harness) : StoreTestBase(harness)
{
    /// <summary>A real UserManager over the Dapper store, wired as the web app does it.</summary>
    private (ServiceProvider Provider, UserManager<ConsoleUser> Users) Identity()
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(Get<IUserRepository>());
        services.AddIdentityCore<ConsoleUser>(o =>
            {
                o.Password.RequiredLength = 12;
                o.Password.RequireNonAlphanumeric = false;
            })
            .AddUserStore<ConsoleUserStore>();
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<UserManager<ConsoleUser>>());
    }

    [Fact]
    public async Task Create_find_and_check_password_through_UserManager()
    {
        var (provider, users) = Identity();
        await using var _ = provider;
        Assert.Equal(0, await Get<IUserRepository>().CountAsync(Ct));

        var admin = new ConsoleUser { UserName = "Alice", Role = ConsoleRoles.Admin };
        var created = await users.CreateAsync(admin, "Correct-Horse-42");
        Assert.True(created.Succeeded, string.Join("; ", created.Errors.Select(e => e.Description)));

        Assert.Equal(1, await Get<IUserRepository>().CountAsync(Ct));
        var found = await users.FindByNameAsync("alice");
        Assert.NotNull(found);
        Assert.Equal(admin.Id, found.Id);
        Assert.Equal("Alice", found.UserName);
        Assert.Equal("ALICE", found.NormalizedUserName);
        Assert.Equal(ConsoleRoles.Admin, found.Role);
        Assert.False(found.Disabled);
        Assert.Equal(Start.ToUnixTimeMilliseconds(), found.CreatedAt.ToUnixTimeMilliseconds());
        Assert.False(string.IsNullOrEmpty(found.SecurityStamp));
        Assert.NotNull(found.PasswordHash);
        Assert.DoesNotContain("Correct-Horse-42", found.PasswordHash, StringComparison.Ordinal);
        Assert.True(await users.CheckPasswordAsync(found, "Correct-Horse-42"));
        Assert.False(await users.CheckPasswordAsync(found, "correct-horse-42"));
        Assert.Equal(admin.Id, (await users.FindByIdAsync(admin.Id.ToString()))?.Id);
        Assert.Null(await users.FindByIdAsync("not-a-guid"));
    }

    [Fact]
    public async Task Duplicate_user_name_fails_case_insensitively()
    {
        var (provider, users) = Identity();
        await using var _ = provider;
        Assert.True((await users.CreateAsync(new ConsoleUser { UserName = "bob" }, "Long-enough-pw-1")).Succeeded);

        var second = await users.CreateAsync(new ConsoleUser { UserName = "BOB" }, "Long-enough-pw-2");

        Assert.False(second.Succeeded);
        Assert.Contains(second.Errors, e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName));
        Assert.Equal(1, await Get<IUserRepository>().CountAsync(Ct));
    }

    [Fact]
    public async Task Roles_follow_the_hierarchy()
    {
        var (provider, users) = Identity();
        await using var _ = provider;
        var viewer = new ConsoleUser { UserName = "vera" };
        var op = new ConsoleUser { UserName = "otto", Role = ConsoleRoles.Operator };
        var admin = new ConsoleUser { UserName = "ada", Role = ConsoleRoles.Admin };
        foreach (var u in new[] { viewer, op, admin })
        {
            Assert.True((await users.CreateAsync(u, "Long-enough-pw-1")).Succeeded);
        }

        Assert.Equal([ConsoleRoles.Admin, ConsoleRoles.Operator, ConsoleRoles.Viewer], await users.GetRolesAsync(admin));
        Assert.Equal([ConsoleRoles.Viewer], await users.GetRolesAsync(viewer));
        Assert.True(await users.IsInRoleAsync(admin, ConsoleRoles.Operator));
        Assert.True(await users.IsInRoleAsync(op, ConsoleRoles.Viewer));
        Assert.False(await users.IsInRoleAsync(op, ConsoleRoles.Admin));
        Assert.Equal(["ada", "otto"], (await users.GetUsersInRoleAsync(ConsoleRoles.Operator)).Select(u => u.UserName).Order(StringComparer.Ordinal));

        // Promote the viewer through Identity: persisted.
        Assert.True((await users.AddToRoleAsync(viewer, ConsoleRoles.Admin)).Succeeded);
        Assert.Equal(ConsoleRoles.Admin, (await Get<IUserRepository>().FindByIdAsync(viewer.Id, Ct))!.Role);
        // Take Admin away from ada: she keeps what is below it.
        Assert.True((await users.RemoveFromRoleAsync(admin, ConsoleRoles.Admin)).Succeeded);
        Assert.Equal(ConsoleRoles.Operator, (await Get<IUserRepository>().FindByIdAsync(admin.Id, Ct))!.Role);
        Assert.Equal(1, await Get<IUserRepository>().CountEnabledInRoleAsync(ConsoleRoles.Admin, Ct));
    }

    [Fact]
    public async Task Disable_rename_and_delete_are_persisted()
    {
        var repo = Get<IUserRepository>();
        var user = new ConsoleUser { UserName = "dave", NormalizedUserName = "DAVE", Role = ConsoleRoles.Operator };
        await repo.CreateAsync(user, Ct);
        await repo.CreateAsync(new ConsoleUser { UserName = "erin", NormalizedUserName = "ERIN" }, Ct);

        user.Disabled = true;
        user.UserName = "david";
        user.NormalizedUserName = "DAVID";
        Assert.True(await repo.UpdateAsync(user, Ct));
        var read = await repo.FindByNormalizedNameAsync("DAVID", Ct);
        Assert.True(read!.Disabled);
        Assert.Null(await repo.FindByNormalizedNameAsync("DAVE", Ct));
        Assert.Equal(0, await repo.CountEnabledInRoleAsync(ConsoleRoles.Operator, Ct));

        user.NormalizedUserName = "ERIN";
        await Assert.ThrowsAsync<NameAlreadyExistsException>(() => repo.UpdateAsync(user, Ct));

        Assert.True(await repo.DeleteAsync(user.Id, Ct));
        Assert.Equal(["erin"], (await repo.ListAsync(Ct)).Select(u => u.UserName));
    }
}

public sealed class UserStoreSqliteTests() : UserStoreTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class UserStorePostgresTests(StorePostgresFixture server) : UserStoreTests(new PostgresStoreHarness(server));
