namespace PgHaConsole.Infrastructure.Identity;

/// <summary>A person who signs in to the console. Mutable because ASP.NET Core Identity's stores work that way.</summary>
public sealed class ConsoleUser
{
    public Guid Id { get; set; } = Guid.NewGuid();

    public string UserName { get; set; } = "";

    /// <summary>Set by Identity's key normalizer (upper-invariant); unique.</summary>
    public string NormalizedUserName { get; set; } = "";

    public string? PasswordHash { get; set; }

    public string? SecurityStamp { get; set; }

    /// <summary>One of <see cref="ConsoleRoles"/>; a user has exactly one (which includes the lower ones).</summary>
    public string Role { get; set; } = ConsoleRoles.Viewer;

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A disabled user keeps its audit history but must not sign in (the sign-in code checks it).</summary>
    public bool Disabled { get; set; }

    /// <summary>Failed sign-ins in a row (Identity's lockout counter); reset by a successful one.</summary>
    public int AccessFailedCount { get; set; }

    /// <summary>Until when sign-in is refused after too many failures; null when not locked out.</summary>
    public DateTimeOffset? LockoutEnd { get; set; }
}
