using Microsoft.AspNetCore.Identity;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>
/// Console users (Admin only): create with a role, change the role, remove; never the last admin. A user's API tokens
/// go with the user's rights: demoted, the tokens they created above the new role are revoked; removed, all of them.
/// </summary>
public sealed class UserService(UserManager<ConsoleUser> users, IUserRepository repository, AuditService audit, IApiTokenRepository tokens)
{
    public Task<IReadOnlyList<ConsoleUser>> ListAsync(CancellationToken ct) => repository.ListAsync(ct);

    public async Task<ServiceResult<ConsoleUser>> CreateAsync(string? userName, string? password, string? role, string actor, CancellationToken ct)
    {
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(userName))
        {
            errors.Add(new("userName", "Enter a user name."));
        }

        if (string.IsNullOrEmpty(password) || password.Length < 12)
        {
            errors.Add(new("password", "The password must have at least 12 characters."));
        }

        if (!ConsoleRoles.IsValid(role))
        {
            errors.Add(new("role", $"The role must be one of {string.Join(", ", ConsoleRoles.All)}."));
        }

        if (errors.Count > 0)
        {
            return ServiceResult<ConsoleUser>.Invalid(errors);
        }

        var user = new ConsoleUser { UserName = userName!.Trim(), Role = role! };
        var created = await users.CreateAsync(user, password!);
        if (!created.Succeeded)
        {
            return ServiceResult<ConsoleUser>.Invalid(created.Errors.Select(e => new ValidationError("userName", e.Description)).ToList());
        }

        await audit.WriteAsync(actor, "user.create", null, user.UserName, "succeeded", $"role {role}", ct);
        return ServiceResult<ConsoleUser>.Ok(user);
    }

    public async Task<string?> SetRoleAsync(Guid id, string role, string actor, CancellationToken ct)
    {
        var user = await repository.FindByIdAsync(id, ct);
        if (user is null)
        {
            return "No such user.";
        }

        if (!ConsoleRoles.IsValid(role))
        {
            return "Unknown role.";
        }

        if (user.Role == ConsoleRoles.Admin && role != ConsoleRoles.Admin
            && await repository.CountEnabledInRoleAsync(ConsoleRoles.Admin, ct) <= 1)
        {
            return "The last administrator cannot lose the Admin role.";
        }

        user.Role = role;
        // A new stamp: the user's open sessions end (they carried the old role).
        await users.UpdateSecurityStampAsync(user);
        await audit.WriteAsync(actor, "user.set-role", null, user.UserName, "succeeded", $"role {role}", ct);
        await RevokeTokensAboveAsync(user.UserName!, ConsoleRoles.Rank(role), actor, $"its creator {user.UserName} now has the role {role}", ct);
        return null;
    }

    /// <summary>Sets a new password (Admin); the user's open sessions end (Identity renews the security stamp).</summary>
    public async Task<string?> SetPasswordAsync(Guid id, string? password, string actor, CancellationToken ct)
    {
        var user = await repository.FindByIdAsync(id, ct);
        if (user is null)
        {
            return "No such user.";
        }

        if (string.IsNullOrEmpty(password) || password.Length < 12)
        {
            return "The password must have at least 12 characters.";
        }

        foreach (var validator in users.PasswordValidators)
        {
            var valid = await validator.ValidateAsync(users, user, password);
            if (!valid.Succeeded)
            {
                return string.Join(" ", valid.Errors.Select(e => e.Description));
            }
        }

        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        // Saves the hash with a new stamp: the user's open sessions end.
        await users.UpdateSecurityStampAsync(user);

        await audit.WriteAsync(actor, "user.set-password", null, user.UserName, "succeeded", null, ct);
        return null;
    }

    public async Task<string?> DeleteAsync(Guid id, string actor, CancellationToken ct)
    {
        var user = await repository.FindByIdAsync(id, ct);
        if (user is null)
        {
            return "No such user.";
        }

        if (user.Role == ConsoleRoles.Admin && await repository.CountEnabledInRoleAsync(ConsoleRoles.Admin, ct) <= 1)
        {
            return "The last administrator cannot be removed.";
        }

        await repository.DeleteAsync(id, ct);
        await audit.WriteAsync(actor, "user.delete", null, user.UserName, "succeeded", null, ct);
        await RevokeTokensAboveAsync(user.UserName!, 0, actor, $"its creator {user.UserName} was removed", ct);
        return null;
    }

    /// <summary>
    /// Revokes the active API tokens <paramref name="creator"/> created whose role ranks above <paramref name="maxRank"/>
    /// (0: all): a token must not keep rights its creator lost. Each revocation is audited.
    /// </summary>
    private async Task RevokeTokensAboveAsync(string creator, int maxRank, string actor, string why, CancellationToken ct)
    {
        foreach (var token in (await tokens.ListAsync(ct)).Where(t => t.RevokedAt is null
            && string.Equals(t.CreatedBy, creator, StringComparison.OrdinalIgnoreCase) && ConsoleRoles.Rank(t.Role) > maxRank))
        {
            if (await tokens.RevokeAsync(token.Id, ct))
            {
                await audit.WriteAsync(actor, "token.revoke", null, token.Name, "succeeded", $"role {token.Role}: {why}", ct);
            }
        }
    }
}
