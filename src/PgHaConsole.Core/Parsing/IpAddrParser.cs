using System.Net;
using System.Text.Json;

namespace PgHaConsole.Core.Parsing;

/// <summary>One address of an interface, as in <c>ip -j addr</c>'s <c>addr_info</c>.</summary>
/// <param name="Family">"inet" or "inet6".</param>
/// <param name="Local">The address as printed.</param>
/// <param name="Ip">The address parsed, when it parses.</param>
/// <param name="PrefixLength">The prefix length.</param>
/// <param name="Label">The IPv4 label ("eth0", "eth0:vip"); IPv6 addresses have none.</param>
/// <param name="Scope">"global", "host", "link"….</param>
/// <param name="IsSecondary">True for an address added in a subnet that already had one (keepalived VIPs usually are).</param>
public sealed record IpInterfaceAddress(
    string Family,
    string Local,
    IPAddress? Ip,
    int PrefixLength,
    string? Label,
    string? Scope,
    bool IsSecondary);

/// <summary>One interface of <c>ip -j addr</c>.</summary>
/// <param name="State">operstate: "UP", "DOWN", "UNKNOWN" (loopback and veth often report UNKNOWN while working).</param>
/// <param name="Mac">The link-layer address ("address"), when it has one.</param>
public sealed record IpInterface(
    int Index,
    string Name,
    string? State,
    string? Mac,
    string? LinkType,
    int? Mtu,
    IReadOnlyList<string> Flags,
    IReadOnlyList<IpInterfaceAddress> Addresses)
{
    /// <summary>The administrative UP flag (not operstate: lo is "UNKNOWN" yet up).</summary>
    public bool IsUp => Flags.Contains("UP");
}

/// <summary>Parses <c>ip -j addr</c> (iproute2 JSON) and answers "does this host hold that address?".</summary>
public static class IpAddrParser
{
    public static ParseResult<IReadOnlyList<IpInterface>> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return ParseResult.Fail<IReadOnlyList<IpInterface>>("ip -j addr printed nothing.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            return ParseResult.Fail<IReadOnlyList<IpInterface>>($"ip -j addr output is not JSON: {ex.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return ParseResult.Fail<IReadOnlyList<IpInterface>>("ip -j addr output is not a JSON array.");
            }

            var warnings = new List<string>();
            var interfaces = new List<IpInterface>();
            foreach (var element in document.RootElement.EnumerateArray())
            {
                // Old iproute2 versions print {} for links filtered out; skip anything without a name.
                if (element.ValueKind != JsonValueKind.Object || String(element, "ifname") is not { } name)
                {
                    warnings.Add("An entry without 'ifname' was skipped.");
                    continue;
                }

                var addresses = new List<IpInterfaceAddress>();
                if (element.TryGetProperty("addr_info", out var infos) && infos.ValueKind == JsonValueKind.Array)
                {
                    foreach (var info in infos.EnumerateArray())
                    {
                        if (info.ValueKind != JsonValueKind.Object || String(info, "local") is not { } local)
                        {
                            continue;
                        }

                        addresses.Add(new IpInterfaceAddress(
                            String(info, "family") ?? "unknown",
                            local,
                            IPAddress.TryParse(local, out var ip) ? ip : null,
                            Int(info, "prefixlen") ?? 0,
                            String(info, "label"),
                            String(info, "scope"),
                            info.TryGetProperty("secondary", out var secondary) && secondary.ValueKind == JsonValueKind.True));
                    }
                }

                var flags = element.TryGetProperty("flags", out var f) && f.ValueKind == JsonValueKind.Array
                    ? f.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                    : [];

                interfaces.Add(new IpInterface(
                    Int(element, "ifindex") ?? 0,
                    name,
                    String(element, "operstate"),
                    String(element, "address"),
                    String(element, "link_type"),
                    Int(element, "mtu"),
                    flags,
                    addresses));
            }

            return ParseResult.Ok<IReadOnlyList<IpInterface>>(interfaces, warnings);
        }
    }

    /// <summary>True when any interface carries <paramref name="ip"/> (compared as addresses, so IPv6 spellings match).</summary>
    public static bool HoldsAddress(IEnumerable<IpInterface> interfaces, IPAddress ip) => FindHolder(interfaces, ip) is not null;

    /// <summary>As <see cref="HoldsAddress(IEnumerable{IpInterface}, IPAddress)"/>; false when <paramref name="ip"/> is not an address.</summary>
    public static bool HoldsAddress(IEnumerable<IpInterface> interfaces, string ip) =>
        IPAddress.TryParse(ip, out var parsed) && HoldsAddress(interfaces, parsed);

    /// <summary>
    /// The interface that carries <paramref name="ip"/> for the network, or null. A loopback interface never counts:
    /// an LVS-DR real server keeps both VIPs on <c>lo</c> (with arp_ignore) to accept what a director forwards, which is
    /// not holding them.
    /// </summary>
    public static IpInterface? FindHolder(IEnumerable<IpInterface> interfaces, IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        ArgumentNullException.ThrowIfNull(ip);
        var wanted = ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
        return interfaces
            .Where(i => i.Name != "lo" && !i.Flags.Contains("LOOPBACK"))
            .FirstOrDefault(i => i.Addresses.Any(a => a.Ip is not null && a.Ip.Equals(wanted)));
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int? Int(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i) ? i : null;
}
