using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// A browser session is the user as the store has it now (issue #15 item 6): the cookie carries the user's security
/// stamp, which changes with the password and the role; a session whose user was removed, disabled, demoted or
/// given a new password ends within <c>Security:SessionRevalidationInterval</c> — the cookie on its next request, an
/// open page (Blazor circuit) through <see cref="SessionRevalidatingStateProvider"/>.
/// </summary>
public static class SessionClaims
{
    public const string StampClaim = "pgha:stamp";
    private const string ValidatedAtKey = "pgha.validated";

    /// <summary>The cookie's principal for <paramref name="user"/>: name, id, every included role, the security stamp.</summary>
    public static async Task<ClaimsPrincipal> CreatePrincipalAsync(UserManager<ConsoleUser> users, ConsoleUser user)
    {
        var roles = await users.GetRolesAsync(user);
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, user.UserName),
            new(ClaimTypes.NameIdentifier, await users.GetUserIdAsync(user)),
            new(StampClaim, await users.GetSecurityStampAsync(user)),
        };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, AuthPolicies.CookieScheme));
    }

    /// <summary>False when the principal's user is gone, disabled, or its stamp changed (password, role).</summary>
    public static async Task<bool> IsCurrentAsync(ClaimsPrincipal principal, UserManager<ConsoleUser> users)
    {
        var id = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var stamp = principal.FindFirstValue(StampClaim);
        if (id is null || string.IsNullOrEmpty(stamp))
        {
            return false;
        }

        var user = await users.FindByIdAsync(id);
        return user is not null && !user.Disabled && string.Equals(user.SecurityStamp, stamp, StringComparison.Ordinal);
    }

    /// <summary>The cookie's check: at most once per interval (the time of the last check rides in the cookie).</summary>
    public static async Task ValidateCookieAsync(CookieValidatePrincipalContext context, TimeSpan interval)
    {
        if (context.Principal is null)
        {
            return;
        }

        var now = context.HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (context.Properties.Items.TryGetValue(ValidatedAtKey, out var last)
            && DateTimeOffset.TryParse(last, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            && now - at < interval && now >= at)
        {
            return;
        }

        var users = context.HttpContext.RequestServices.GetRequiredService<UserManager<ConsoleUser>>();
        if (!await IsCurrentAsync(context.Principal, users))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(AuthPolicies.CookieScheme);
            return;
        }

        context.Properties.Items[ValidatedAtKey] = now.ToString("O", CultureInfo.InvariantCulture);
        context.ShouldRenew = true;
    }
}

/// <summary>An open page (Blazor circuit) re-checks its user against the store every interval and signs out when it is no longer current.</summary>
public sealed class SessionRevalidatingStateProvider(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopes,
    IOptions<ConsoleOptions> options)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => options.Value.Security.SessionRevalidationInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        var principal = authenticationState.User;
        if (principal.Identity?.IsAuthenticated != true || principal.Identity.AuthenticationType != AuthPolicies.CookieScheme)
        {
            // Anonymous stays anonymous; a token's principal is checked on each request by its handler.
            return true;
        }

        await using var scope = scopes.CreateAsyncScope();
        return await SessionClaims.IsCurrentAsync(principal, scope.ServiceProvider.GetRequiredService<UserManager<ConsoleUser>>());
    }
}
