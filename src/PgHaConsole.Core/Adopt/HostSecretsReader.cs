using System.Globalization;
using System.Text;

namespace PgHaConsole.Core.Adopt;

/// <summary>
/// Reads the secrets a running pair already keeps on its hosts, so the console can adopt it without rotating them:
/// <c>primary_conninfo</c> (libpq keyword/value syntax), a <c>.pgpass</c> file, and keepalived's <c>auth_pass</c>.
/// Pure text parsing: the caller fetches the files and verifies what is found against the server.
/// </summary>
public static class HostSecretsReader
{
    /// <summary>
    /// Parses a libpq connection string in keyword/value form (<c>host=a port=5432 password='it''s'</c>): values bare
    /// or single-quoted, with <c>\'</c> and <c>\\</c> escapes. Returns null when it is not well formed.
    /// </summary>
    public static IReadOnlyDictionary<string, string>? ParseConninfo(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return result;
        }

        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                return result;
            }

            var keyStart = i;
            while (i < text.Length && text[i] != '=' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var key = text[keyStart..i];
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (key.Length == 0 || i >= text.Length || text[i] != '=')
            {
                return null;
            }

            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var value = new StringBuilder();
            if (i < text.Length && text[i] == '\'')
            {
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    var c = text[i++];
                    if (c == '\\' && i < text.Length)
                    {
                        value.Append(text[i++]);
                    }
                    else if (c == '\'')
                    {
                        closed = true;
                        break;
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                if (!closed)
                {
                    return null;
                }
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    var c = text[i++];
                    if (c == '\\' && i < text.Length)
                    {
                        c = text[i++];
                    }

                    value.Append(c);
                }
            }

            result[key] = value.ToString();
        }
    }

    /// <summary>
    /// The password a <c>.pgpass</c> file gives for a connection, as libpq picks it: the first line whose
    /// <c>hostname:port:database:username</c> fields match (<c>*</c> matches anything; <c>\:</c> and <c>\\</c> are
    /// escapes). Null when no line matches.
    /// </summary>
    public static string? PgPassPassword(string? text, string host, int port, string database, string user)
    {
        foreach (var raw in (text ?? "").Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = SplitPgPass(line);
            if (fields.Count < 5)
            {
                continue;
            }

            if (Matches(fields[0], host) && Matches(fields[1], port.ToString(CultureInfo.InvariantCulture))
                && Matches(fields[2], database) && Matches(fields[3], user))
            {
                return fields[4];
            }
        }

        return null;
    }

    private static bool Matches(string field, string value) => field == "*" || string.Equals(field, value, StringComparison.Ordinal);

    private static List<string> SplitPgPass(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else if (c == ':' && fields.Count < 4)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }

    /// <summary>The distinct <c>auth_pass</c> values of a keepalived configuration (comments ignored), in order.</summary>
    public static IReadOnlyList<string> KeepalivedAuthPasses(string? config)
    {
        var found = new List<string>();
        foreach (var raw in (config ?? "").Split('\n'))
        {
            var line = raw;
            var comment = line.IndexOfAny(['#', '!']);
            if (comment >= 0)
            {
                line = line[..comment];
            }

            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var value = parts.Length >= 2 && parts[0] == "auth_pass" ? parts[1].Trim('"') : null;
            if (value is { Length: > 0 } && !found.Contains(value))
            {
                found.Add(value);
            }
        }

        return found;
    }
}
