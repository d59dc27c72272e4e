namespace PgHaConsole.Infrastructure.Identity;

/// <summary>The three roles, ordered: Admin includes Operator, which includes Viewer.</summary>
public static class ConsoleRoles
{
    /// <summary>Reads everything.</summary>
    public const string Viewer = "Viewer";

    /// <summary>Viewer, plus switchover and rejoin.</summary>
    public const string Operator = "Operator";

    /// <summary>Operator, plus setup, inventory, users and tokens.</summary>
    public const string Admin = "Admin";

    /// <summary>All roles, lowest first.</summary>
    public static IReadOnlyList<string> All { get; } = [Viewer, Operator, Admin];

    /// <summary>1 for Viewer, 2 for Operator, 3 for Admin; 0 for anything else. Case-insensitive.</summary>
    public static int Rank(string? role) => Canonical(role) switch
    {
        Viewer => 1,
        Operator => 2,
        Admin => 3,
        _ => 0,
    };

    public static bool IsValid(string? role) => Rank(role) > 0;

    /// <summary>True when <paramref name="role"/> grants at least what <paramref name="required"/> grants.</summary>
    public static bool Satisfies(string? role, string required)
    {
        var need = Rank(required);
        if (need == 0)
        {
            throw new ArgumentException($"Unknown role '{required}'.", nameof(required));
        }

        return Rank(role) >= need;
    }

    /// <summary>The canonical spelling ("Admin") of a role given in any case ("ADMIN" from Identity's normalizer); null when unknown.</summary>
    public static string? Canonical(string? role) =>
        role is null ? null : All.FirstOrDefault(r => string.Equals(r, role.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The role and every role it includes (Admin → Admin, Operator, Viewer). Emitting one role claim per entry lets
    /// plain <c>[Authorize(Roles = "Operator")]</c> and <c>RequireRole</c> honour the hierarchy.
    /// </summary>
    public static IReadOnlyList<string> Including(string role)
    {
        var rank = Rank(role);
        if (rank == 0)
        {
            throw new ArgumentException($"Unknown role '{role}'.", nameof(role));
        }

        return All.Take(rank).Reverse().ToList();
    }
}
