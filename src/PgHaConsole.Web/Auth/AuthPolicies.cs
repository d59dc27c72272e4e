using Microsoft.AspNetCore.Authorization;
using PgHaConsole.Infrastructure.Identity;

namespace PgHaConsole.Web.Auth;

/// <summary>Viewer ⊂ Operator ⊂ Admin: a policy admits its role and every role above it.</summary>
public static class AuthPolicies
{
    public const string Viewer = "Viewer";
    public const string Operator = "Operator";
    public const string Admin = "Admin";

    /// <summary>Cookie for browsers, Bearer token for the API and hub clients.</summary>
    public const string CookieScheme = "Cookies";
    public const string TokenScheme = "Bearer";
    public const string SmartScheme = "CookieOrToken";

    public static void AddConsolePolicies(this AuthorizationOptions options)
    {
        options.AddPolicy(Viewer, p => p.RequireAuthenticatedUser()
            .RequireRole(ConsoleRoles.Viewer, ConsoleRoles.Operator, ConsoleRoles.Admin));
        options.AddPolicy(Operator, p => p.RequireAuthenticatedUser()
            .RequireRole(ConsoleRoles.Operator, ConsoleRoles.Admin));
        options.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(ConsoleRoles.Admin));
        options.DefaultPolicy = options.GetPolicy(Viewer)!;
        // An endpoint that says nothing about authorization (a future one, or one a library maps) needs a Viewer:
        // anonymous access is always a decision, marked with AllowAnonymous.
        options.FallbackPolicy = options.GetPolicy(Viewer)!;
    }
}
