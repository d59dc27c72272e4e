using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Services;

/// <summary>
/// The store's first user: created by a visitor who has the setup code (<see cref="SetupCode"/>: printed at start and
/// in a 0600 file) or, for automation, from configuration (<c>PgHaConsole:Bootstrap:AdminPassword</c> /
/// <c>:ApiToken</c>), and only while the store has no users. Two creators at once — two visitors, or two consoles
/// sharing a store — cannot both succeed: the right is claimed in the store (<see cref="IFirstAdminClaim"/>).
/// </summary>
public sealed class FirstAdminService(
    IUserRepository userRepository,
    UserManager<ConsoleUser> users,
    IApiTokenRepository tokens,
    IFirstAdminClaim claim,
    SetupCode setupCode,
    IOptions<ConsoleOptions> options,
    AuditService audit,
    ILogger<FirstAdminService> logger)
{
    public async Task<bool> IsNeededAsync(CancellationToken ct) => await userRepository.CountAsync(ct) == 0;

    public sealed record Result(ConsoleUser? User, string? Error);

    public async Task<Result> CreateAsync(string? userName, string? password, string? confirm, string? code, CancellationToken ct)
    {
        if (!setupCode.Matches(code))
        {
            return new Result(null, setupCode.IsIssued
                ? "Wrong setup code. It was printed in the console's output when it started, and is in the file setup-code in its data directory."
                : "No setup code is waiting: an administrator exists already, or the console was started with a bootstrap password.");
        }

        if (string.IsNullOrWhiteSpace(userName))
        {
            return new Result(null, "Enter a user name.");
        }

        if (string.IsNullOrEmpty(password) || password.Length < 12)
        {
            return new Result(null, "The password must have at least 12 characters.");
        }

        if (!string.Equals(password, confirm, StringComparison.Ordinal))
        {
            return new Result(null, "The two passwords differ.");
        }

        var claimant = "setup-code:" + Guid.NewGuid().ToString("N");
        if (!await claim.TryClaimAsync(claimant, ct))
        {
            return new Result(null, "An administrator exists already (or is being created): sign in instead.");
        }

        var result = await CreateAdminAsync(userName.Trim(), password);
        if (result.Error is not null)
        {
            await claim.ReleaseAsync(claimant, CancellationToken.None);
            return result;
        }

        setupCode.Retire();
        return result;
    }

    /// <summary>Headless bootstrap at start; a no-op once the store has a user.</summary>
    public async Task BootstrapFromConfigurationAsync(CancellationToken ct)
    {
        var bootstrap = options.Value.Bootstrap;
        if (string.IsNullOrEmpty(bootstrap.AdminPassword) && string.IsNullOrEmpty(bootstrap.ApiToken))
        {
            return;
        }

        var claimant = "bootstrap:" + Guid.NewGuid().ToString("N");
        if (!await claim.TryClaimAsync(claimant, ct))
        {
            logger.LogInformation("Bootstrap settings ignored: the store has users already");
            return;
        }

        // An admin user must exist for the token's "created by"; without a configured password it gets a
        // random one nobody knows (the token is the way in).
        var password = string.IsNullOrEmpty(bootstrap.AdminPassword)
            ? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24))
            : bootstrap.AdminPassword;
        var result = await CreateAdminAsync(bootstrap.AdminUserName, password);
        if (result.Error is not null)
        {
            await claim.ReleaseAsync(claimant, CancellationToken.None);
            throw new InvalidOperationException($"Bootstrap of the first admin failed: {result.Error}");
        }

        await audit.WriteAsync("bootstrap", "user.bootstrap-admin", null, bootstrap.AdminUserName, "succeeded", null, ct);
        if (!string.IsNullOrEmpty(bootstrap.ApiToken))
        {
            await tokens.ImportAsync(bootstrap.ApiToken, "bootstrap", ConsoleRoles.Admin, bootstrap.AdminUserName, ct);
            await audit.WriteAsync("bootstrap", "token.bootstrap", null, "bootstrap", "succeeded", null, ct);
        }

        logger.LogInformation("Bootstrapped the first admin {User} from configuration", bootstrap.AdminUserName);
    }

    private async Task<Result> CreateAdminAsync(string userName, string password)
    {
        var user = new ConsoleUser { UserName = userName };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded)
        {
            return new Result(null, string.Join(" ", created.Errors.Select(e => e.Description)));
        }

        var role = await users.AddToRoleAsync(user, ConsoleRoles.Admin);
        return role.Succeeded
            ? new Result(user, null)
            : new Result(null, string.Join(" ", role.Errors.Select(e => e.Description)));
    }
}
