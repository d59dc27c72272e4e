using System.Text;
using System.Text.RegularExpressions;

namespace PgHaConsole.Core.Shell;

/// <summary>
/// Masks every secret-bearing line of a configuration file by its form, whatever its value. The
/// <see cref="SecretMasker"/> only knows the secrets the console holds now; a plan's diff also shows what a host's
/// file holds today — an old or foreign VRRP <c>auth_pass</c>, a <c>.pgpass</c> password, a conninfo password — and
/// a Viewer may read plans. So a diff is masked line by line first: keepalived <c>auth_pass</c>, every password
/// field of a <c>.pgpass</c> file, <c>password=</c> in a conninfo, <c>PGPASSWORD=</c>, HAProxy <c>stats auth</c> and
/// userlist passwords.
/// </summary>
public static partial class SecretLines
{
    /// <summary>Masks a unified diff of <paramref name="path"/>: the first character of a content line (' ', '-', '+') is kept.</summary>
    public static string MaskDiff(string path, string diff)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(diff);
        var pgpass = IsPgpass(path);
        var lines = diff.Split('\n');
        var sb = new StringBuilder(diff.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
            }

            var line = lines[i];
            if (line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("+++", StringComparison.Ordinal)
                || line.StartsWith("@@", StringComparison.Ordinal) || line.Length == 0 || line[0] is not (' ' or '-' or '+'))
            {
                sb.Append(line);
                continue;
            }

            sb.Append(line[0]).Append(MaskLine(line[1..], pgpass));
        }

        return sb.ToString();
    }

    /// <summary>One line of a file's content (no diff prefix).</summary>
    public static string MaskLine(string path, string line) => MaskLine(line, IsPgpass(path));

    private static string MaskLine(string line, bool pgpass)
    {
        if (pgpass)
        {
            return MaskPgpassLine(line);
        }

        line = AuthPass().Replace(line, m => m.Groups[1].Value + SecretMasker.Mask);
        line = KeyValuePassword().Replace(line, m => m.Groups[1].Value + SecretMasker.Mask);
        line = StatsAuth().Replace(line, m => m.Groups[1].Value + SecretMasker.Mask);
        line = UserlistPassword().Replace(line, m => m.Groups[1].Value + SecretMasker.Mask);
        return line;
    }

    /// <summary><c>hostname:port:database:username:password</c>; <c>\:</c> and <c>\\</c> escape; comments kept.</summary>
    private static string MaskPgpassLine(string line)
    {
        if (line.TrimStart().StartsWith('#') || line.Trim().Length == 0)
        {
            return line;
        }

        var fields = 0;
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\')
            {
                i++;
                continue;
            }

            if (line[i] == ':' && ++fields == 4)
            {
                return line[..(i + 1)] + SecretMasker.Mask;
            }
        }

        // Not a well-formed entry: it may still hold a password, so hide all of it.
        return SecretMasker.Mask;
    }

    private static bool IsPgpass(string path)
    {
        var name = path.Replace('\\', '/');
        name = name[(name.LastIndexOf('/') + 1)..];
        return name is ".pgpass" or "pgpass" || name.EndsWith(".pgpass", StringComparison.Ordinal);
    }

    // keepalived: "auth_pass secret" (authentication block).
    [GeneratedRegex(@"(\bauth_pass\s+)\S+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AuthPass();

    // conninfo "password=x", "PGPASSWORD=x", "masterauth x"-like key=value forms: up to a blank or a quote.
    [GeneratedRegex(@"(\b(?:password|passwd|pgpassword)\s*=\s*)(?:'(?:[^'\\]|\\.|'')*'|""(?:[^""\\]|\\.)*""|[^\s'""]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeyValuePassword();

    // HAProxy: "stats auth user:password".
    [GeneratedRegex(@"(\bstats\s+auth\s+[^:\s]+:)\S+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StatsAuth();

    // HAProxy userlist: "user NAME password HASH" / "insecure-password TEXT".
    [GeneratedRegex(@"(\buser\s+\S+\s+(?:insecure-)?password\s+)\S+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UserlistPassword();
}
