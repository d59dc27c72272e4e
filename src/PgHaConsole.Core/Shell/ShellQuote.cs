using System.Text;

namespace PgHaConsole.Core.Shell;

/// <summary>
/// The one place where an argument becomes text for a POSIX shell. Every remote command is built from
/// <see cref="Quote"/>d arguments; user input is never concatenated into a command line.
/// </summary>
public static class ShellQuote
{
    /// <summary>
    /// Quotes one argument for <c>sh</c>: wrapped in single quotes, each embedded single quote written as
    /// <c>'\''</c>. Plain words made only of safe characters are left as they are for readable plans.
    /// NUL cannot be passed through a shell at all and is refused.
    /// </summary>
    public static string Quote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A shell argument cannot contain a NUL character.", nameof(argument));
        }

        if (argument.Length > 0 && IsSafeWord(argument))
        {
            return argument;
        }

        var sb = new StringBuilder(argument.Length + 2);
        sb.Append('\'');
        foreach (var c in argument)
        {
            if (c == '\'')
            {
                sb.Append("'\\''");
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('\'');
        return sb.ToString();
    }

    /// <summary>Joins a program and its arguments into one command line, quoting every part.</summary>
    public static string Join(params IEnumerable<string> arguments) => string.Join(' ', arguments.Select(Quote));

    private static bool IsSafeWord(string s)
    {
        foreach (var c in s)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '_' or '-' or '.' or '/' or ':' or '@' or '%' or '+' or ',' or '=';
            if (!ok)
            {
                return false;
            }
        }

        // A leading '-' is safe for the shell; whether the *program* takes it as an option is the caller's
        // concern (use "--" before user-supplied operands). A leading '=' or '~' could expand: quote it.
        return s[0] is not ('~' or '=');
    }
}
