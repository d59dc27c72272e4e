using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Rotate;

/// <summary>A secret the console can rotate on a running pair.</summary>
public enum RotatableSecret
{
    /// <summary>The replication role's password: the role on the primary, the pass files, any primary_conninfo carrying it.</summary>
    Replication,

    /// <summary>The console's monitoring role's password: the role, the console's store (and the LVS-DR check's pass file).</summary>
    Monitoring,

    /// <summary>keepalived's VRRP <c>auth_pass</c> on both nodes.</summary>
    Vrrp,
}

/// <summary>The request to rotate a secret, its validation, and the names the API and the journal use.</summary>
public static class SecretRotation
{
    public const string SecretField = "secret";
    public const string ConfirmField = "confirm";
    public const string NewSecretField = "newSecret";

    /// <summary>The names the API takes, in the order the UI offers them.</summary>
    public static readonly IReadOnlyList<string> Names = ["replication", "monitoring", "vrrp"];

    /// <summary>VRRP PASS authentication uses at most 8 characters (RFC 2338; keepalived truncates longer ones).</summary>
    public const int VrrpMaxLength = 8;

    /// <summary>The shortest password the Admin may give for a role.</summary>
    public const int RoleMinLength = 16;

    public static string Name(RotatableSecret secret) => secret switch
    {
        RotatableSecret.Replication => "replication",
        RotatableSecret.Monitoring => "monitoring",
        _ => "vrrp",
    };

    public static bool TryParse(string? value, out RotatableSecret secret)
    {
        switch (value)
        {
            case "replication":
                secret = RotatableSecret.Replication;
                return true;
            case "monitoring":
                secret = RotatableSecret.Monitoring;
                return true;
            case "vrrp":
                secret = RotatableSecret.Vrrp;
                return true;
            default:
                secret = default;
                return false;
        }
    }

    /// <summary>The length of a secret the console generates for <paramref name="secret"/>.</summary>
    public static int GeneratedLength(RotatableSecret secret) => secret == RotatableSecret.Vrrp ? VrrpMaxLength : 32;

    /// <summary>
    /// Validates a rotation request before anything is read from a host: the secret's name, the typed cluster name, and
    /// a new secret the Admin gave (optional). Every problem names its field.
    /// </summary>
    public static IReadOnlyList<ValidationError> ValidateRequest(string? secret, string? confirm, string clusterName, string? newSecret = null)
    {
        var errors = new List<ValidationError>();
        if (!TryParse(secret, out var kind))
        {
            errors.Add(new(SecretField, string.IsNullOrEmpty(secret)
                ? $"Name the secret to rotate: one of {string.Join(", ", Names)}."
                : $"'{Truncate(secret)}' is not a secret the console rotates: one of {string.Join(", ", Names)}."));
        }

        if (!string.Equals(confirm, clusterName, StringComparison.Ordinal))
        {
            errors.Add(new(ConfirmField, $"Type the cluster's name ('{clusterName}') to confirm the rotation."));
        }

        if (newSecret is not null && errors.All(e => e.Field != SecretField) && NewSecretProblem(kind, newSecret) is { } problem)
        {
            errors.Add(new(NewSecretField, problem));
        }

        return errors;
    }

    /// <summary>
    /// Why a given new secret cannot be used, or null. Letters, digits and <c>-_.+=@%</c> only: it is written into
    /// .pgpass lines, conninfo strings and keepalived.conf, where quotes, spaces, <c>:</c>, <c>\</c> or <c>#</c>/<c>!</c>
    /// (keepalived comments) would need escaping each its own way.
    /// </summary>
    public static string? NewSecretProblem(RotatableSecret secret, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '+' or '=' or '@' or '%')))
        {
            return "Use letters, digits and - _ . + = @ % only.";
        }

        return secret == RotatableSecret.Vrrp
            ? value.Length is < 1 or > VrrpMaxLength ? $"A VRRP auth_pass has 1 to {VrrpMaxLength} characters (PASS authentication uses no more)." : null
            : value.Length < RoleMinLength ? $"Give at least {RoleMinLength} characters (or leave it out: the console generates one)." : null;
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
