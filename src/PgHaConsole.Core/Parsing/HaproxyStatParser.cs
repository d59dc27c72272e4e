using System.Globalization;

namespace PgHaConsole.Core.Parsing;

/// <summary>What a row of <c>show stat</c> describes (the "type" column: 0 frontend, 1 backend, 2 server, 3 listener).</summary>
public enum HaproxyRowType
{
    Frontend = 0,
    Backend = 1,
    Server = 2,
    Listener = 3,
}

/// <summary>The "status" column reduced to what an operator acts on.</summary>
public enum HaproxyStatus
{
    Other = 0,

    /// <summary>"UP", or "UP n/m" while going down.</summary>
    Up,

    /// <summary>"DOWN", or "DOWN n/m" while coming up.</summary>
    Down,

    /// <summary>"MAINT" (disabled by configuration or the admin socket), also "MAINT (via …)".</summary>
    Maintenance,

    /// <summary>"DRAIN": up but taking no new traffic (weight 0).</summary>
    Drain,

    /// <summary>"no check": never health-checked, so its real state is unknown.</summary>
    NoCheck,

    /// <summary>A frontend accepting connections ("OPEN").</summary>
    Open,

    /// <summary>"STOP" (frontend stopped) or "FULL".</summary>
    Stopped,
}

/// <summary>One row of <c>show stat</c>; every column is also in <see cref="Fields"/> by its header name.</summary>
public sealed record HaproxyStatRow(
    string Proxy,
    string Name,
    HaproxyRowType Type,
    string StatusText,
    HaproxyStatus Status,
    string? CheckStatus,
    long? CurrentSessions,
    long? MaxSessions,
    long? SessionLimit,
    long? TotalSessions,
    long? BytesIn,
    long? BytesOut,
    int? Weight,
    IReadOnlyDictionary<string, string> Fields);

/// <summary>A proxy (frontend, backend or listen section) with its rows grouped.</summary>
public sealed record HaproxyProxy(string Name, HaproxyStatRow? Frontend, HaproxyStatRow? Backend, IReadOnlyList<HaproxyStatRow> Servers);

/// <summary>Parses HAProxy's <c>show stat</c> CSV (stats socket or <c>;csv</c> page), 1.8 to 3.x.</summary>
public static class HaproxyStatParser
{
    public static ParseResult<IReadOnlyList<HaproxyStatRow>> Parse(string? csv)
    {
        if (string.IsNullOrWhiteSpace(csv))
        {
            return ParseResult.Fail<IReadOnlyList<HaproxyStatRow>>("show stat printed nothing.");
        }

        string[]? header = null;
        var rows = new List<HaproxyStatRow>();
        var warnings = new List<string>();
        foreach (var raw in ParseText.Lines(csv))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# pxname", StringComparison.Ordinal))
            {
                header = line[2..].Split(',');
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            if (header is null)
            {
                // "Permission denied", "Unknown command", a closed socket…: report what HAProxy said.
                return new ParseResult<IReadOnlyList<HaproxyStatRow>>(null,
                    [$"Not HAProxy 'show stat' CSV (no '# pxname' header): '{line}'."], warnings);
            }

            // show stat never quotes: proxy and server names cannot hold commas, and check_desc etc. are plain.
            var cells = line.Split(',');
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length && i < cells.Length; i++)
            {
                if (header[i].Length > 0)
                {
                    fields[header[i]] = cells[i];
                }
            }

            if (!fields.TryGetValue("pxname", out var proxy) || !fields.TryGetValue("svname", out var name))
            {
                warnings.Add($"Row without pxname/svname skipped: '{line}'.");
                continue;
            }

            var statusText = fields.GetValueOrDefault("status") ?? string.Empty;
            rows.Add(new HaproxyStatRow(
                proxy,
                name,
                RowType(fields.GetValueOrDefault("type"), name),
                statusText,
                ParseStatus(statusText),
                NullIfEmpty(fields.GetValueOrDefault("check_status")),
                Long(fields, "scur"),
                Long(fields, "smax"),
                Long(fields, "slim"),
                Long(fields, "stot"),
                Long(fields, "bin"),
                Long(fields, "bout"),
                (int?)Long(fields, "weight"),
                fields));
        }

        if (header is null)
        {
            return ParseResult.Fail<IReadOnlyList<HaproxyStatRow>>("Not HAProxy 'show stat' CSV (no '# pxname' header).");
        }

        return ParseResult.Ok<IReadOnlyList<HaproxyStatRow>>(rows, warnings);
    }

    /// <summary>Groups rows by proxy, in the order HAProxy printed them.</summary>
    public static IReadOnlyList<HaproxyProxy> GroupByProxy(IEnumerable<HaproxyStatRow> rows) =>
        rows.GroupBy(r => r.Proxy, StringComparer.Ordinal)
            .Select(g => new HaproxyProxy(
                g.Key,
                g.FirstOrDefault(r => r.Type == HaproxyRowType.Frontend),
                g.FirstOrDefault(r => r.Type == HaproxyRowType.Backend),
                g.Where(r => r.Type == HaproxyRowType.Server).ToArray()))
            .ToArray();

    public static HaproxyStatus ParseStatus(string? status)
    {
        var s = status?.Trim() ?? string.Empty;
        return s switch
        {
            "no check" => HaproxyStatus.NoCheck,
            "OPEN" => HaproxyStatus.Open,
            "STOP" or "FULL" => HaproxyStatus.Stopped,
            "DRAIN" => HaproxyStatus.Drain,
            _ when s.StartsWith("MAINT", StringComparison.Ordinal) => HaproxyStatus.Maintenance,
            _ when s.StartsWith("DRAIN", StringComparison.Ordinal) => HaproxyStatus.Drain,
            _ when s.StartsWith("UP", StringComparison.Ordinal) => HaproxyStatus.Up,
            _ when s.StartsWith("DOWN", StringComparison.Ordinal) => HaproxyStatus.Down,
            _ => HaproxyStatus.Other,
        };
    }

    private static HaproxyRowType RowType(string? type, string name) => type switch
    {
        "0" => HaproxyRowType.Frontend,
        "1" => HaproxyRowType.Backend,
        "2" => HaproxyRowType.Server,
        "3" => HaproxyRowType.Listener,
        _ => name switch
        {
            "FRONTEND" => HaproxyRowType.Frontend,
            "BACKEND" => HaproxyRowType.Backend,
            _ => HaproxyRowType.Server,
        },
    };

    private static long? Long(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : null;

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
