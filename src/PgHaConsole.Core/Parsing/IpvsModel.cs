using System.Globalization;
using System.Net;

namespace PgHaConsole.Core.Parsing;

/// <summary>Which ipvsadm listing a text is: <c>-Ln</c>, <c>-Ln --stats</c> or <c>-Ln --rate</c>.</summary>
public enum IpvsListingKind
{
    Unknown = 0,
    Connections,
    Stats,
    Rate,
}

/// <summary>Whether IPVS could be asked at all.</summary>
public enum IpvsAvailability
{
    Available = 0,

    /// <summary>"Can't initialize ipvs: Protocol not available": the kernel has no ip_vs (this build machine).</summary>
    KernelModuleMissing,

    /// <summary>The shell could not find ipvsadm.</summary>
    CommandMissing,
}

public enum IpvsProtocol
{
    Tcp,
    Udp,
    Sctp,

    /// <summary>A firewall-mark service (<c>FWM n</c>): matched by an iptables mangle MARK, not by address.</summary>
    FirewallMark,

    /// <summary>A service line that names no protocol ipvsadm prints (see <see cref="IpvsVirtualService.UnreadableLine"/>).</summary>
    Unknown,
}

/// <summary>Forwarding method of a real server as ipvsadm prints it.</summary>
public enum IpvsForwarding
{
    Unknown = 0,

    /// <summary>"Route": direct routing (LVS-DR, <c>-g</c>).</summary>
    DirectRouting,

    /// <summary>"Masq": NAT (LVS-NAT, <c>-m</c>).</summary>
    Nat,

    /// <summary>"Tunnel": IP-in-IP (LVS-TUN, <c>-i</c>).</summary>
    Tunnel,

    /// <summary>"Local": the real server is the director itself.</summary>
    Local,

    /// <summary>"FullNat" (only in DPVS/Alibaba forks).</summary>
    FullNat,
}

/// <summary>
/// One ipvsadm counter. Without <c>--exact</c> ipvsadm shortens values of 100 million and more to
/// K/M/G/T (powers of 1000, truncated), so such a value is a lower bound: <see cref="IsApproximate"/>.
/// </summary>
public readonly record struct IpvsCounter(ulong Value, bool IsApproximate)
{
    public static bool TryParse(string? text, out IpvsCounter counter)
    {
        counter = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        ulong multiplier = 1;
        switch (span[^1])
        {
            case 'K': multiplier = 1_000UL; break;
            case 'M': multiplier = 1_000_000UL; break;
            case 'G': multiplier = 1_000_000_000UL; break;
            case 'T': multiplier = 1_000_000_000_000UL; break;
            default: break;
        }

        var digits = multiplier == 1 ? span : span[..^1];
        if (digits.IsEmpty || !ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        if (multiplier != 1 && number > ulong.MaxValue / multiplier)
        {
            return false;
        }

        counter = new IpvsCounter(number * multiplier, multiplier != 1);
        return true;
    }

    public override string ToString() =>
        IsApproximate
            ? string.Create(CultureInfo.InvariantCulture, $"≥{Value}")
            : Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>An address:port as printed by ipvsadm (<c>10.0.0.1:80</c>, <c>[2001:db8::1]:80</c>, or names without -n).</summary>
/// <param name="Text">The text as printed.</param>
/// <param name="Host">The host part without brackets.</param>
/// <param name="Ip">The host as an address when it is one (with <c>-n</c> it always is).</param>
/// <param name="Port">The numeric port, or null when a service name was printed.</param>
/// <param name="PortName">The port as printed when it was not a number (e.g. "https").</param>
public sealed record IpvsEndpoint(string Text, string Host, IPAddress? Ip, int? Port, string? PortName)
{
    public bool IsIPv6 => Ip?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    public static IpvsEndpoint? TryParse(string text)
    {
        string host;
        string port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0 || colon == text.Length - 1)
            {
                return null;
            }

            host = text[..colon];
            port = text[(colon + 1)..];
        }

        var ip = IPAddress.TryParse(host, out var parsed) ? parsed : null;
        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= 65535
            ? new IpvsEndpoint(text, host, ip, p, null)
            : new IpvsEndpoint(text, host, ip, null, port);
    }

    public override string ToString() => Text;
}

/// <summary>The five <c>--stats</c> columns (totals since the service or server was added).</summary>
public sealed record IpvsStats(
    IpvsCounter Connections,
    IpvsCounter InPackets,
    IpvsCounter OutPackets,
    IpvsCounter InBytes,
    IpvsCounter OutBytes);

/// <summary>The five <c>--rate</c> columns (per second, kernel estimator).</summary>
public sealed record IpvsRates(
    IpvsCounter ConnectionsPerSecond,
    IpvsCounter InPacketsPerSecond,
    IpvsCounter OutPacketsPerSecond,
    IpvsCounter InBytesPerSecond,
    IpvsCounter OutBytesPerSecond);

/// <summary>A real server under a virtual service. Columns absent from the listing read are null.</summary>
public sealed record IpvsRealServer(
    IpvsEndpoint Endpoint,
    IpvsForwarding? Forwarding,
    string? ForwardingText,
    int? Weight,
    ulong? ActiveConnections,
    ulong? InactiveConnections,
    IpvsStats? Stats,
    IpvsRates? Rates)
{
    /// <summary>A weight of 0 means "quiesced": no new connections are scheduled to it.</summary>
    public bool IsQuiesced => Weight == 0;

    /// <summary>Words printed after the counters (DPVS's ipvsadm adds e.g. "inhibited"), kept as printed.</summary>
    public IReadOnlyList<string> TrailingFlags { get; init; } = [];
}

/// <summary>A virtual service: address:port (TCP/UDP/SCTP) or a firewall mark.</summary>
public sealed record IpvsVirtualService(
    IpvsProtocol Protocol,
    IpvsEndpoint? Endpoint,
    uint? FirewallMark,
    bool IsIPv6,
    string? Scheduler,
    IReadOnlyList<string> Flags,
    int? PersistenceTimeoutSeconds,
    string? PersistenceMask,
    string? PersistenceEngine,
    bool OnePacketScheduling,
    IpvsStats? Stats,
    IpvsRates? Rates,
    IReadOnlyList<IpvsRealServer> RealServers)
{
    public bool IsPersistent => PersistenceTimeoutSeconds is not null;

    /// <summary>
    /// The service line as printed when it could not be read (a truncated name, a fork's own service kind such
    /// as DPVS's <c>MATCH</c>): the real servers below it still belong to it, never to the service before.
    /// </summary>
    public string? UnreadableLine { get; init; }

    public bool IsUnreadable => UnreadableLine is not null;

    /// <summary>Stable identity across the three listings: "TCP 10.0.0.1:80", "FWM 3", "FWM 3 IPv6".</summary>
    public string Key => UnreadableLine is not null ? "? " + UnreadableLine
        : Protocol == IpvsProtocol.FirewallMark
        ? string.Create(CultureInfo.InvariantCulture, $"FWM {FirewallMark}{(IsIPv6 ? " IPv6" : string.Empty)}")
        : $"{ProtocolName(Protocol)} {Endpoint?.Text}";

    internal static string ProtocolName(IpvsProtocol protocol) => protocol switch
    {
        IpvsProtocol.Tcp => "TCP",
        IpvsProtocol.Udp => "UDP",
        IpvsProtocol.Sctp => "SCTP",
        IpvsProtocol.FirewallMark => "FWM",
        _ => "?",
    };
}

/// <summary>A whole ipvsadm listing, or the plain statement that IPVS is not there.</summary>
public sealed record IpvsTable(
    IpvsListingKind Kind,
    IpvsAvailability Availability,
    string? UnavailableReason,
    string? Version,
    int? ConnectionTableSize,
    IReadOnlyList<IpvsVirtualService> Services)
{
    public bool IsAvailable => Availability == IpvsAvailability.Available;
}
