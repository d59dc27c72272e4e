using System.Security.Claims;
using System.Text.Json;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// Who may resume an operation, and what they may change when doing so: the role that may start that kind (setup is
/// Admin: it may wipe a data directory), and only the fields that kind takes at resume (a typed confirmation). An
/// Operator resuming a setup with new <c>clientCidrs</c> or <c>installPackages</c> would be running a setup of their
/// own making. A kind not listed here is Admin-only and takes no field.
/// </summary>
public static class ResumePolicy
{
    public sealed record Rule(string Role, IReadOnlyList<string> Fields);

    private static readonly Rule AdminOnly = new(ConsoleRoles.Admin, []);

    private static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        [SetupOperation.Kind] = new(ConsoleRoles.Admin, ["confirmWipeHost"]),
        [SwitchoverOperation.Kind] = new(ConsoleRoles.Operator, []),
        [RejoinOperation.RejoinKind] = new(ConsoleRoles.Operator, ["confirmHost"]),
        [RejoinOperation.RebuildKind] = new(ConsoleRoles.Operator, ["confirmHost"]),
        // Admin, like its start; the secret and the typed name stay as started.
        [RotateOperation.Kind] = new(ConsoleRoles.Admin, []),
    };

    public static Rule For(string kind) => Rules.GetValueOrDefault(kind) ?? AdminOnly;

    /// <summary>True when <paramref name="user"/> holds the role (or a higher one) that <paramref name="kind"/> needs.</summary>
    public static bool MayResume(ClaimsPrincipal user, string kind)
    {
        var required = For(kind).Role;
        // Cookies carry every included role, tokens only their own: ask for any role that satisfies the requirement.
        return ConsoleRoles.All.Any(r => ConsoleRoles.Satisfies(r, required) && user.IsInRole(r));
    }

    /// <summary>Throws <see cref="OperationRefusedException"/> (403 for the role, 400 for a field) when the resume is not allowed.</summary>
    public static void Check(ClaimsPrincipal user, string kind, JsonElement parameters)
    {
        var rule = For(kind);
        if (!MayResume(user, kind))
        {
            throw new OperationRefusedException($"Resuming a {kind} needs the {rule.Role} role.", StatusCodes.Status403Forbidden);
        }

        if (parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return;
        }

        if (parameters.ValueKind != JsonValueKind.Object)
        {
            throw new OperationRefusedException("The resume body must be a JSON object.", StatusCodes.Status400BadRequest);
        }

        var refused = parameters.EnumerateObject()
            .Select(p => p.Name)
            .Where(name => !rule.Fields.Contains(name, StringComparer.OrdinalIgnoreCase))
            .ToList();
        if (refused.Count > 0)
        {
            var allowed = rule.Fields.Count == 0 ? "none" : string.Join(", ", rule.Fields);
            throw new OperationRefusedException(
                $"A {kind} cannot be resumed with {string.Join(", ", refused)}: the fields it takes at resume are {allowed}.",
                StatusCodes.Status400BadRequest);
        }
    }
}
