using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// Sign-in, sign-out and first-admin creation. These are plain form posts: a cookie cannot be issued from inside
/// an interactive Blazor circuit, so the interactive pages render native forms that post here.
/// </summary>
public static class AccountEndpoints
{
    public static void MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        // Anonymous posts: small bodies only, and a budget per client address (issue #15: brute force).
        var group = app.MapGroup("/account").AllowAnonymous().ExcludeFromDescription()
            .WithMetadata(new RequestSizeLimitAttribute(MaxFormBytes))
            .WithFormOptions(valueCountLimit: 16, valueLengthLimit: 1024, multipartBodyLengthLimit: MaxFormBytes);
        group.MapPost("/signin", SignInAsync).RequireRateLimiting(AuthThrottle.SignInPolicy);
        group.MapPost("/signout", SignOutAsync);
        group.MapPost("/create-first-admin", CreateFirstAdminAsync).RequireRateLimiting(AuthThrottle.SignInPolicy);
    }

    /// <summary>A sign-in form is a few hundred bytes; nothing larger is read.</summary>
    public const int MaxFormBytes = 8 * 1024;

    /// <summary>What an anonymous request may write into the audit log as a user name.</summary>
    public const int MaxAuditedNameLength = 64;

    internal static string ForAudit(string? userName) =>
        string.IsNullOrEmpty(userName) ? "(none)"
        : userName.Length <= MaxAuditedNameLength ? userName
        : userName[..MaxAuditedNameLength] + "…";

    private static async Task<IResult> SignInAsync(
        HttpContext http,
        [FromForm] string? username,
        [FromForm] string? password,
        [FromForm] string? returnUrl,
        UserManager<ConsoleUser> users,
        AuditService audit)
    {
        var target = SafeReturnUrl(returnUrl);
        var name = ForAudit(username);
        var user = string.IsNullOrWhiteSpace(username) || username.Length > 256 ? null : await users.FindByNameAsync(username.Trim());
        if (user is not null && await users.IsLockedOutAsync(user))
        {
            // Not even the right password opens a locked account until the lockout ends; the password is not checked.
            await audit.WriteAsync(name, "auth.signin", null, name, "refused", "locked out after too many failed sign-ins", http.RequestAborted);
            return Results.LocalRedirect($"/account/login?error=locked&returnUrl={Uri.EscapeDataString(target)}");
        }

        // A disabled user is refused like a wrong password: Identity does not check the flag by itself.
        if (user is null || user.Disabled || string.IsNullOrEmpty(password) || !await users.CheckPasswordAsync(user, password))
        {
            if (user is not null)
            {
                await users.AccessFailedAsync(user);
            }

            await audit.WriteAsync(name, "auth.signin", null, name, "failed", "wrong user name or password", http.RequestAborted);
            return Results.LocalRedirect($"/account/login?error=1&returnUrl={Uri.EscapeDataString(target)}");
        }

        await users.ResetAccessFailedCountAsync(user);
        await SignInCookieAsync(http, users, user);
        await audit.WriteAsync(user.UserName!, "auth.signin", null, user.UserName!, "succeeded", null, http.RequestAborted);
        return Results.LocalRedirect(target);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, AuditService audit)
    {
        var name = http.User.Identity?.Name;
        await http.SignOutAsync(AuthPolicies.CookieScheme);
        if (name is not null)
        {
            await audit.WriteAsync(name, "auth.signout", null, name, "succeeded", null, http.RequestAborted);
        }

        return Results.LocalRedirect("/account/login");
    }

    private static async Task<IResult> CreateFirstAdminAsync(
        HttpContext http,
        [FromForm] string? username,
        [FromForm] string? password,
        [FromForm] string? confirm,
        [FromForm] string? setupCode,
        UserManager<ConsoleUser> users,
        FirstAdminService firstAdmin,
        AuditService audit)
    {
        var result = await firstAdmin.CreateAsync(username, password, confirm, setupCode, http.RequestAborted);
        if (result.Error is not null)
        {
            return Results.LocalRedirect($"/account/first-admin?error={Uri.EscapeDataString(result.Error)}");
        }

        await SignInCookieAsync(http, users, result.User!);
        await audit.WriteAsync(result.User!.UserName!, "user.create-first-admin", null, result.User.UserName!, "succeeded", null, http.RequestAborted);
        return Results.LocalRedirect("/clusters");
    }

    private static async Task SignInCookieAsync(HttpContext http, UserManager<ConsoleUser> users, ConsoleUser user) =>
        await http.SignInAsync(AuthPolicies.CookieScheme, await SessionClaims.CreatePrincipalAsync(users, user));

    /// <summary>Only local paths: an absolute return URL would make the login page an open redirect.</summary>
    internal static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal)
            && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/clusters";
}
