using Microsoft.AspNetCore.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Identity;

/// <summary>
/// ASP.NET Core Identity store over <see cref="IUserRepository"/> (Dapper, no Entity Framework). Roles follow the
/// hierarchy: a user holds one role, and <see cref="GetRolesAsync"/>/<see cref="IsInRoleAsync"/> answer with every role
/// it includes, so an Admin passes an Operator check. Wire with
/// <c>services.AddIdentityCore&lt;ConsoleUser&gt;().AddUserStore&lt;ConsoleUserStore&gt;()</c>.
/// </summary>
public sealed class ConsoleUserStore :
    IUserStore<ConsoleUser>,
    IUserPasswordStore<ConsoleUser>,
    IUserSecurityStampStore<ConsoleUser>,
    IUserRoleStore<ConsoleUser>,
    IUserLockoutStore<ConsoleUser>
{
    private readonly IUserRepository _users;
    private readonly IdentityErrorDescriber _errors;

    public ConsoleUserStore(IUserRepository users, IdentityErrorDescriber? errors = null)
    {
        _users = users;
        _errors = errors ?? new IdentityErrorDescriber();
    }

    public void Dispose()
    {
        // Nothing held: every call opens and closes its own connection.
    }

    public Task<string> GetUserIdAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.Id.ToString("D"));

    public Task<string?> GetUserNameAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult<string?>(user.UserName);

    public Task SetUserNameAsync(ConsoleUser user, string? userName, CancellationToken cancellationToken)
    {
        user.UserName = userName ?? "";
        return Task.CompletedTask;
    }

    public Task<string?> GetNormalizedUserNameAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult<string?>(user.NormalizedUserName);

    public Task SetNormalizedUserNameAsync(ConsoleUser user, string? normalizedName, CancellationToken cancellationToken)
    {
        user.NormalizedUserName = normalizedName ?? "";
        return Task.CompletedTask;
    }

    public async Task<IdentityResult> CreateAsync(ConsoleUser user, CancellationToken cancellationToken)
    {
        try
        {
            await _users.CreateAsync(user, cancellationToken);
            return IdentityResult.Success;
        }
        catch (NameAlreadyExistsException)
        {
            return IdentityResult.Failed(_errors.DuplicateUserName(user.UserName));
        }
    }

    public async Task<IdentityResult> UpdateAsync(ConsoleUser user, CancellationToken cancellationToken)
    {
        try
        {
            return await _users.UpdateAsync(user, cancellationToken)
                ? IdentityResult.Success
                : IdentityResult.Failed(_errors.ConcurrencyFailure());
        }
        catch (NameAlreadyExistsException)
        {
            return IdentityResult.Failed(_errors.DuplicateUserName(user.UserName));
        }
    }

    public async Task<IdentityResult> DeleteAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        await _users.DeleteAsync(user.Id, cancellationToken)
            ? IdentityResult.Success
            : IdentityResult.Failed(_errors.ConcurrencyFailure());

    public Task<ConsoleUser?> FindByIdAsync(string userId, CancellationToken cancellationToken) =>
        Guid.TryParse(userId, out var id) ? _users.FindByIdAsync(id, cancellationToken) : Task.FromResult<ConsoleUser?>(null);

    public Task<ConsoleUser?> FindByNameAsync(string normalizedUserName, CancellationToken cancellationToken) =>
        _users.FindByNormalizedNameAsync(normalizedUserName, cancellationToken);

    public Task SetPasswordHashAsync(ConsoleUser user, string? passwordHash, CancellationToken cancellationToken)
    {
        user.PasswordHash = passwordHash;
        return Task.CompletedTask;
    }

    public Task<string?> GetPasswordHashAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.PasswordHash);

    public Task<bool> HasPasswordAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.PasswordHash is not null);

    public Task SetSecurityStampAsync(ConsoleUser user, string stamp, CancellationToken cancellationToken)
    {
        user.SecurityStamp = stamp;
        return Task.CompletedTask;
    }

    public Task<string?> GetSecurityStampAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.SecurityStamp);

    /// <summary>Gives the user this role (replacing the one it had): one role per user.</summary>
    public Task AddToRoleAsync(ConsoleUser user, string roleName, CancellationToken cancellationToken)
    {
        user.Role = RequireRole(roleName);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes the role away: a user holding it (or a higher one, which includes it) drops to the role just below it.
    /// Removing Viewer changes nothing: every user keeps at least Viewer; disable the user to shut it out.
    /// </summary>
    public Task RemoveFromRoleAsync(ConsoleUser user, string roleName, CancellationToken cancellationToken)
    {
        var rank = ConsoleRoles.Rank(RequireRole(roleName));
        if (ConsoleRoles.Rank(user.Role) >= rank && rank > 1)
        {
            user.Role = ConsoleRoles.All[rank - 2];
        }

        return Task.CompletedTask;
    }

    public Task<IList<string>> GetRolesAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult<IList<string>>(ConsoleRoles.Including(user.Role).ToList());

    public Task<bool> IsInRoleAsync(ConsoleUser user, string roleName, CancellationToken cancellationToken) =>
        Task.FromResult(ConsoleRoles.Satisfies(user.Role, RequireRole(roleName)));

    public async Task<IList<ConsoleUser>> GetUsersInRoleAsync(string roleName, CancellationToken cancellationToken) =>
        (await _users.ListIncludingRoleAsync(RequireRole(roleName), cancellationToken)).ToList();

    public Task<DateTimeOffset?> GetLockoutEndDateAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.LockoutEnd);

    public Task SetLockoutEndDateAsync(ConsoleUser user, DateTimeOffset? lockoutEnd, CancellationToken cancellationToken)
    {
        user.LockoutEnd = lockoutEnd;
        return Task.CompletedTask;
    }

    public Task<int> IncrementAccessFailedCountAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(++user.AccessFailedCount);

    public Task ResetAccessFailedCountAsync(ConsoleUser user, CancellationToken cancellationToken)
    {
        user.AccessFailedCount = 0;
        return Task.CompletedTask;
    }

    public Task<int> GetAccessFailedCountAsync(ConsoleUser user, CancellationToken cancellationToken) =>
        Task.FromResult(user.AccessFailedCount);

    /// <summary>Every user can be locked out (there is no per-user opt-out to store).</summary>
    public Task<bool> GetLockoutEnabledAsync(ConsoleUser user, CancellationToken cancellationToken) => Task.FromResult(true);

    public Task SetLockoutEnabledAsync(ConsoleUser user, bool enabled, CancellationToken cancellationToken) => Task.CompletedTask;

    private static string RequireRole(string roleName) =>
        ConsoleRoles.Canonical(roleName) ?? throw new ArgumentException($"Unknown role '{roleName}'.", nameof(roleName));
}
