using System.Globalization;
using System.Text;

namespace PgHaConsole.Core.Postgres;

/// <summary>
/// libpq connection strings (<c>key=value</c> pairs). Values are single-quoted when needed, with <c>'</c> and <c>\</c>
/// written as <c>\'</c> and <c>\\</c>, exactly as libpq's conninfo parser reads them.
/// </summary>
public static class Conninfo
{
    /// <summary>Quotes one value: plain words stay bare for readability, anything else is <c>'…'</c> with escapes.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        RefuseNul(value, nameof(value));
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or '@' or ','))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            if (c is '\'' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('\'').ToString();
    }

    /// <summary>Builds <c>k1=v1 k2=v2 …</c> in the given order. Keys must be libpq keywords (lowercase letters and '_').</summary>
    public static string Build(IEnumerable<KeyValuePair<string, string>> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var items = new List<string>();
        foreach (var (key, value) in parts)
        {
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterLower(c) || c == '_'))
            {
                throw new ArgumentException($"'{key}' is not a libpq connection keyword.", nameof(parts));
            }

            items.Add($"{key}={Quote(value)}");
        }

        return string.Join(' ', items);
    }

    internal static void RefuseNul(string value, string name)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The value cannot contain a NUL character.", name);
        }
    }
}

/// <summary>
/// The parts of a standby's <c>primary_conninfo</c>. There is deliberately no password: the standby reads it from
/// <see cref="PassFile"/> (a .pgpass, mode 0600), so it never lands in postgresql.auto.conf, recovery.conf or
/// <c>pg_stat_wal_receiver</c> (seed defect 3).
/// </summary>
public sealed record PrimaryConninfo
{
    public required string Host { get; init; }

    public int Port { get; init; } = 5432;

    public required string User { get; init; }

    /// <summary>Shows up as <c>application_name</c> in <c>pg_stat_replication</c> on the primary: the standby's node name.</summary>
    public required string ApplicationName { get; init; }

    /// <summary>Absolute path of the .pgpass file that holds the replication password.</summary>
    public string? PassFile { get; init; }

    /// <summary>libpq sslmode; <c>prefer</c> (libpq's default) when null.</summary>
    public string? SslMode { get; init; }

    /// <summary>Seconds the walreceiver waits for a connection before retrying.</summary>
    public int ConnectTimeoutSeconds { get; init; } = 5;

    public override string ToString()
    {
        var parts = new List<KeyValuePair<string, string>>
        {
            new("host", Host),
            new("port", Port.ToString(CultureInfo.InvariantCulture)),
            new("user", User),
            new("application_name", ApplicationName),
        };
        if (PassFile is not null)
        {
            parts.Add(new("passfile", PassFile));
        }

        if (SslMode is not null)
        {
            parts.Add(new("sslmode", SslMode));
        }

        parts.Add(new("connect_timeout", ConnectTimeoutSeconds.ToString(CultureInfo.InvariantCulture)));
        return Conninfo.Build(parts);
    }
}

/// <summary>Lines of a libpq password file (~/.pgpass or the file named by <c>passfile=</c>).</summary>
public static class PgPass
{
    /// <summary>The database name libpq matches in .pgpass for physical replication connections.</summary>
    public const string ReplicationDatabase = "replication";

    /// <summary>Escapes one field: <c>\</c> and <c>:</c> get a backslash (libpq's .pgpass syntax). Line breaks cannot be represented.</summary>
    public static string Escape(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.Any(c => c is '\n' or '\r' or '\0'))
        {
            throw new ArgumentException("A .pgpass field cannot contain a line break or NUL.", nameof(field));
        }

        return field.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(":", "\\:", StringComparison.Ordinal);
    }

    /// <summary><c>host:port:database:user:password</c>, every field escaped; no trailing newline.</summary>
    public static string Line(string host, int port, string database, string user, string password) =>
        string.Join(':', Escape(host), port.ToString(CultureInfo.InvariantCulture), Escape(database), Escape(user), Escape(password));
}

/// <summary>Quoting of configuration values for postgresql.conf and for <c>ALTER SYSTEM</c>.</summary>
public static class GucValue
{
    /// <summary>
    /// A value as a quoted string in postgresql.conf: <c>'…'</c> with <c>'</c> doubled. A backslash is doubled too,
    /// because the configuration file lexer reads backslash escapes inside quoted strings (<c>\n</c>, <c>\\</c>, octal).
    /// </summary>
    public static string QuoteForFile(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        RefuseLineBreaks(value);
        return "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// A value as an SQL string literal for <c>ALTER SYSTEM SET</c>: <c>'…'</c> with <c>'</c> doubled. A value with a
    /// backslash is written as <c>E'…'</c> with the backslash doubled, so the result does not depend on
    /// <c>standard_conforming_strings</c>.
    /// </summary>
    public static string QuoteForSql(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        RefuseLineBreaks(value);
        var doubled = value.Replace("'", "''", StringComparison.Ordinal);
        return value.Contains('\\', StringComparison.Ordinal)
            ? "E'" + doubled.Replace("\\", "\\\\", StringComparison.Ordinal) + "'"
            : "'" + doubled + "'";
    }

    /// <summary>An SQL identifier (a setting name) double-quoted only when it is not a plain lowercase name.</summary>
    public static string QuoteIdentifier(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Conninfo.RefuseNul(name, nameof(name));
        return name.Length > 0 && (char.IsAsciiLetterLower(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
            ? name
            : "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static void RefuseLineBreaks(string value)
    {
        if (value.Any(c => c is '\n' or '\r' or '\0'))
        {
            throw new ArgumentException("A configuration value cannot contain a line break or NUL.", nameof(value));
        }
    }
}
