using System.Net;

namespace PgHaConsole.Core.Parsing;

/// <summary>What kind of change a line of the live channel reports.</summary>
public enum LiveSignalKind
{
    /// <summary>A line nobody understood: treated as a change (a probe is cheap, a missed change is not).</summary>
    Unknown = 0,

    /// <summary>The channel is alive; nothing changed.</summary>
    Heartbeat,

    /// <summary>An address was added or deleted (<c>ip -o monitor address</c>).</summary>
    Address,

    /// <summary>The postmaster's pid file or process changed (started, stopping, promoted, gone, killed).</summary>
    Postmaster,

    /// <summary>A keepalived state file changed (write or read instance).</summary>
    Keepalived,

    /// <summary>The fence marker appeared or went away.</summary>
    Fence,

    /// <summary>
    /// Not a line: the console heard nothing on the channel, not even a heartbeat, for
    /// <see cref="Topology.LiveMonitorScript.SuspectAfter"/> (a cut link, a lost host).
    /// </summary>
    Silent,
}

/// <summary>One parsed line of the live channel (<see cref="Topology.LiveMonitorScript"/>).</summary>
/// <param name="Detail">The line without its tag.</param>
/// <param name="Deleted">Address lines: the address was removed.</param>
/// <param name="Interface">Address lines: the interface.</param>
/// <param name="Address">Address lines: the address (without prefix length).</param>
/// <param name="PostmasterState">Postmaster lines: <c>up</c>, <c>dead</c> (pid file left behind, process gone) or <c>none</c> (no pid file).</param>
/// <param name="PostmasterStatus">Postmaster lines: the pid file's status line (<c>starting</c>, <c>stopping</c>, <c>ready</c>, <c>standby</c>).</param>
public sealed record LiveSignal(
    LiveSignalKind Kind,
    string Detail,
    bool Deleted = false,
    string? Interface = null,
    IPAddress? Address = null,
    string? PostmasterState = null,
    string? PostmasterStatus = null)
{
    /// <summary>True when the line reports a change (everything but the heartbeat).</summary>
    public bool IsChange => Kind != LiveSignalKind.Heartbeat;
}

/// <summary>Parses the lines of the live channel. Pure; never throws.</summary>
public static class LiveSignalParser
{
    public static LiveSignal Parse(string? line)
    {
        var text = (line ?? string.Empty).TrimEnd('\r');
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var tag = space < 0 ? text : text[..space];
        var rest = space < 0 ? string.Empty : text[(space + 1)..];
        return tag switch
        {
            "hb" => new LiveSignal(LiveSignalKind.Heartbeat, rest),
            "addr" => ParseAddress(rest),
            "pm" => ParsePostmaster(rest),
            "ka" or "kr" or "kp" => new LiveSignal(LiveSignalKind.Keepalived, text),
            "fence" => new LiveSignal(LiveSignalKind.Fence, rest),
            _ => new LiveSignal(LiveSignalKind.Unknown, text),
        };
    }

    /// <summary>
    /// One line of <c>ip -o monitor address</c> (iproute2 6.1; <c>-j</c> is ignored by <c>monitor</c> there), e.g.
    /// <c>Deleted 2: mgt    inet 198.18.4.251/32 scope global mgt\       valid_lft forever preferred_lft forever</c>.
    /// </summary>
    public static LiveSignal ParseAddress(string line)
    {
        var text = line ?? string.Empty;
        var words = ParseText.Words(text.Replace('\\', ' '));
        var i = 0;
        var deleted = false;
        if (i < words.Length && words[i] == "Deleted")
        {
            deleted = true;
            i++;
        }

        // "2:" the interface index, then its name, then the family and the address with its prefix length.
        if (i + 3 >= words.Length || !words[i].EndsWith(':') || !int.TryParse(words[i].TrimEnd(':'), out _)
            || words[i + 2] is not ("inet" or "inet6"))
        {
            return new LiveSignal(LiveSignalKind.Address, text, deleted);
        }

        var name = words[i + 1];
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            name = name[..at]; // "mgt@if12": a veth names its peer
        }

        var local = words[i + 3];
        var slash = local.IndexOf('/', StringComparison.Ordinal);
        var address = IPAddress.TryParse(slash < 0 ? local : local[..slash], out var ip) ? ip : null;
        return new LiveSignal(LiveSignalKind.Address, text, deleted, name, address);
    }

    private static LiveSignal ParsePostmaster(string rest)
    {
        var words = ParseText.Words(rest);
        var state = words.Length > 0 ? words[0] : null;
        var status = words.Length > 2 ? words[2] : null;
        return new LiveSignal(LiveSignalKind.Postmaster, rest, PostmasterState: state, PostmasterStatus: status);
    }
}
