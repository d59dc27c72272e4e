using System.Text;
using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Rotate;

/// <summary>
/// Rewrites a secret where it lives in a text the console did not render itself (an adopted pair's files): only the
/// secret changes; every other line, comment and field is kept byte for byte.
/// </summary>
public static class SecretRewriters
{
    /// <summary>
    /// A <c>.pgpass</c> file with the password of every line for <paramref name="user"/> replaced (the first four fields
    /// are kept as written, escapes included). <c>Lines</c> is how many lines changed.
    /// </summary>
    public static (string Text, int Lines) PgPass(string? text, string user, string newPassword)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(newPassword);
        if (string.IsNullOrEmpty(text))
        {
            return (text ?? "", 0);
        }

        var lines = text.Split('\n');
        var changed = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var cr = line.EndsWith('\r');
            var body = cr ? line[..^1] : line;
            if (body.Length == 0 || body.StartsWith('#'))
            {
                continue;
            }

            // The end of the fourth field: the fourth unescaped ':'.
            var colons = 0;
            var userStart = -1;
            var passwordStart = -1;
            for (var j = 0; j < body.Length; j++)
            {
                if (body[j] == '\\')
                {
                    j++;
                    continue;
                }

                if (body[j] != ':')
                {
                    continue;
                }

                colons++;
                if (colons == 3)
                {
                    userStart = j + 1;
                }
                else if (colons == 4)
                {
                    passwordStart = j + 1;
                    break;
                }
            }

            if (passwordStart < 0 || Unescape(body[userStart..(passwordStart - 1)]) != user)
            {
                continue;
            }

            lines[i] = body[..passwordStart] + Postgres.PgPass.Escape(newPassword) + (cr ? "\r" : "");
            changed++;
        }

        return (string.Join('\n', lines), changed);
    }

    /// <summary>
    /// A keepalived configuration with the value of every <c>auth_pass</c> replaced (indentation and a trailing
    /// comment kept). <c>Lines</c> is how many lines changed.
    /// </summary>
    public static (string Text, int Lines) KeepalivedAuthPass(string? config, string newPassword)
    {
        ArgumentNullException.ThrowIfNull(newPassword);
        if (string.IsNullOrEmpty(config))
        {
            return (config ?? "", 0);
        }

        var lines = config.Split('\n');
        var changed = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var comment = line.IndexOfAny(['#', '!']);
            var code = comment >= 0 ? line[..comment] : line;
            var trimmed = code.TrimStart();
            if (!trimmed.StartsWith("auth_pass", StringComparison.Ordinal) || trimmed.Length == "auth_pass".Length || !char.IsWhiteSpace(trimmed["auth_pass".Length]))
            {
                continue;
            }

            var indent = code[..(code.Length - trimmed.Length)];
            var rest = comment >= 0 ? " " + line[comment..].TrimEnd('\r') : "";
            var cr = line.EndsWith('\r') ? "\r" : "";
            lines[i] = indent + "auth_pass " + newPassword + rest + cr;
            changed++;
        }

        return (string.Join('\n', lines), changed);
    }

    /// <summary>
    /// A <c>primary_conninfo</c> whose <c>password</c> is replaced (the other keywords in their order), or null when it
    /// carries no password or cannot be parsed.
    /// </summary>
    public static string? ConninfoPassword(string? conninfo, string newPassword)
    {
        ArgumentNullException.ThrowIfNull(newPassword);
        var parsed = HostSecretsReader.ParseConninfo(conninfo);
        if (parsed is null || !parsed.ContainsKey("password"))
        {
            return null;
        }

        return Conninfo.Build(parsed.Select(p => new KeyValuePair<string, string>(p.Key, p.Key == "password" ? newPassword : p.Value)));
    }

    private static string Unescape(string field)
    {
        var sb = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 1 < field.Length)
            {
                i++;
            }

            sb.Append(field[i]);
        }

        return sb.ToString();
    }
}
