using System.Globalization;

namespace PgHaConsole.Core.Parsing;

/// <summary>One entry of the IPVS connection table: a client connection (or a persistence template) a director tracks.</summary>
/// <param name="Protocol">As printed: TCP, UDP, SCTP, or IP for a persistence template of a firewall-mark service.</param>
/// <param name="Expires">Time until the entry expires.</param>
/// <param name="State">ESTABLISHED, FIN_WAIT, SYN_RECV, NONE (templates), … as printed.</param>
/// <param name="Source">The client.</param>
/// <param name="Virtual">The virtual address the client connected to (0.0.0.N:0 for a firewall-mark template).</param>
/// <param name="Destination">The real server the connection went to.</param>
/// <param name="PersistenceEngine">With <c>--persistent-conn</c>: the persistence engine's name and data, when printed.</param>
public sealed record IpvsConnection(
    string Protocol,
    TimeSpan Expires,
    string State,
    IpvsEndpoint Source,
    IpvsEndpoint Virtual,
    IpvsEndpoint Destination,
    string? PersistenceEngine)
{
    /// <summary>A persistence template (state NONE) holds no client connection, only the client-to-server affinity.</summary>
    public bool IsTemplate => State == "NONE";
}

/// <summary>The IPVS connection table as <c>ipvsadm -Lnc</c> prints it.</summary>
public sealed record IpvsConnectionTable(IReadOnlyList<IpvsConnection> Entries)
{
    /// <summary>Live client connections (not templates) per real server address, e.g. "198.18.4.247:5432" → 3.</summary>
    public IReadOnlyDictionary<string, int> ConnectionsByDestination =>
        Entries.Where(e => !e.IsTemplate).GroupBy(e => e.Destination.Text, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}

/// <summary>
/// Parses <c>ipvsadm -Lnc</c> (<c>-L -n -c</c>, optionally <c>--persistent-conn</c>): a title
/// "IPVS connection entries", a column line "pro expire state source virtual destination", then one entry per line
/// ("TCP 14:59  ESTABLISHED 198.18.4.1:40022 198.18.4.252:5432 198.18.4.248:5432"). Split on whitespace.
/// </summary>
public static class IpvsConnectionParser
{
    /// <summary>True for the two title lines of the connection table.</summary>
    public static bool IsTitleLine(string trimmedLine) =>
        trimmedLine.StartsWith("IPVS connection entries", StringComparison.Ordinal)
        || trimmedLine.StartsWith("pro expire state", StringComparison.Ordinal);

    public static ParseResult<IpvsConnectionTable> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ParseResult.Fail<IpvsConnectionTable>("ipvsadm printed nothing.");
        }

        if (text.Contains("Protocol not available", StringComparison.Ordinal)
            || text.Contains("Can't initialize ipvs", StringComparison.Ordinal))
        {
            return ParseResult.Fail<IpvsConnectionTable>("IPVS is not available: " + text.Trim().Split('\n')[0].Trim());
        }

        var warnings = new List<string>();
        var entries = new List<IpvsConnection>();
        var sawTitle = false;
        foreach (var raw in ParseText.Lines(text))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (IsTitleLine(line))
            {
                sawTitle = true;
                continue;
            }

            if (TryParseEntry(ParseText.Words(line)) is { } entry)
            {
                entries.Add(entry);
            }
            else
            {
                warnings.Add($"Unrecognised connection entry skipped: '{line}'.");
            }
        }

        if (!sawTitle && entries.Count == 0)
        {
            return ParseResult.Fail<IpvsConnectionTable>("The text is not an IPVS connection table (ipvsadm -Lnc).", warnings);
        }

        return ParseResult.Ok(new IpvsConnectionTable(entries), warnings);
    }

    /// <summary>Reads one entry's words, or null when they are not one.</summary>
    public static IpvsConnection? TryParseEntry(string[] words)
    {
        if (words.Length < 6 || words[0] is not ("TCP" or "UDP" or "SCTP" or "IP") || ParseExpiry(words[1]) is not { } expires)
        {
            return null;
        }

        if (IpvsEndpoint.TryParse(words[3]) is not { } source
            || IpvsEndpoint.TryParse(words[4]) is not { } vip
            || IpvsEndpoint.TryParse(words[5]) is not { } destination)
        {
            return null;
        }

        var engine = words.Length > 6 ? string.Join(' ', words[6..]) : null;
        return new IpvsConnection(words[0], expires, words[2], source, vip, destination, engine);
    }

    private static TimeSpan? ParseExpiry(string text)
    {
        // ipvsadm prints "%02d:%02d" of minutes and seconds; minutes may exceed two digits for long timeouts.
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !int.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || text.Length - colon - 1 != 2 || seconds > 59)
        {
            return null;
        }

        return TimeSpan.FromSeconds((minutes * 60L) + seconds);
    }
}
