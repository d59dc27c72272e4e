namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>SHA-256 host key fingerprints as <c>ssh-keygen -lf</c> prints them after <c>SHA256:</c>.</summary>
public static class HostKeyFingerprint
{
    private const string Prefix = "SHA256:";

    /// <summary>Strips a <c>SHA256:</c> prefix, whitespace and base64 padding; null or blank gives null.</summary>
    public static string? Normalize(string? fingerprint)
    {
        if (string.IsNullOrWhiteSpace(fingerprint))
        {
            return null;
        }

        var f = fingerprint.Trim();
        if (f.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            f = f[Prefix.Length..];
        }

        return f.Trim().TrimEnd('=');
    }

    /// <summary>Base64 is case-sensitive: compared ordinally after normalising both sides.</summary>
    public static bool Matches(string? pinned, string? actual)
    {
        var p = Normalize(pinned);
        var a = Normalize(actual);
        return p is not null && a is not null && string.Equals(p, a, StringComparison.Ordinal);
    }

    /// <summary>The form shown to users: <c>SHA256:xxxx</c>.</summary>
    public static string Display(string fingerprint) => Prefix + Normalize(fingerprint);
}
