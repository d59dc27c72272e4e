using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PgHaConsole.Core.Validation;

/// <summary>
/// The application's client networks (CIDR, IPv4 or IPv6) as the wizard and the API take them: strict syntax, no host
/// bits set, no duplicates, and no "any address" (<c>0.0.0.0/0</c>, <c>::/0</c>) unless the operator said so explicitly.
/// </summary>
public static class ClientNetworks
{
    /// <summary>The API's field name for the list (errors are keyed <c>clientCidrs[i]</c>).</summary>
    public const string Field = "clientCidrs";

    /// <summary>The API's field name for the explicit "any address is fine" confirmation.</summary>
    public const string AllowAnyField = "allowAnyClientAddress";

    public const int MaxCount = 64;

    /// <summary>Splits what the wizard's text field holds: one network per line, or separated by commas or spaces.</summary>
    public static IReadOnlyList<string> Split(string? text) =>
        string.IsNullOrWhiteSpace(text)
            ? []
            : [.. text.Split([',', ';', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>Whether the network is every address of its family (prefix length 0).</summary>
    public static bool IsAnyAddress(string cidr) => TryParse(cidr, out var n, out _) && n.EndsWith("/0", StringComparison.Ordinal);

    /// <summary>
    /// Parses <c>address/prefix</c>; <paramref name="normalized"/> is the canonical text (IPv6 compressed, lower case).
    /// <paramref name="error"/> says what is wrong, in words an operator can act on.
    /// </summary>
    public static bool TryParse(string? text, out string normalized, out string? error)
    {
        normalized = string.Empty;
        var s = text?.Trim() ?? string.Empty;
        if (s.Length == 0)
        {
            error = "An empty entry is not a network.";
            return false;
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = $"'{Shown(s)}' has no prefix length: write a network as address/prefix, e.g. 10.20.0.0/16, or {Shown(s)}/{(s.Contains(':', StringComparison.Ordinal) ? "128" : "32")} for one host.";
            return false;
        }

        var addressText = s[..slash];
        var prefixText = s[(slash + 1)..];
        byte[] bytes;
        if (ClusterValidator.TryParseIpv4(addressText, out var v4))
        {
            bytes = BitConverter.GetBytes(v4);
            if (BitConverter.IsLittleEndian)
            {
                Array.Reverse(bytes);
            }
        }
        else if (addressText.Contains(':', StringComparison.Ordinal) && !addressText.Contains('%', StringComparison.Ordinal)
                 && addressText.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                 && IPAddress.TryParse(addressText, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
        {
            bytes = v6.GetAddressBytes();
        }
        else
        {
            error = $"'{Shown(addressText)}' is not an IPv4 address (a.b.c.d) or an IPv6 address.";
            return false;
        }

        var max = bytes.Length * 8;
        var prefix = prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit) || (prefixText.Length > 1 && prefixText[0] == '0')
            ? -1
            : int.Parse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture);
        if (prefix < 0 || prefix > max)
        {
            error = $"'{Shown(prefixText)}' is not a prefix length for {(max == 32 ? "IPv4" : "IPv6")} (0-{max}).";
            return false;
        }

        for (var bit = prefix; bit < max; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                var network = (byte[])bytes.Clone();
                for (var b = prefix; b < max; b++)
                {
                    network[b / 8] &= (byte)~(0x80 >> (b % 8));
                }

                error = $"{Shown(s)} has host bits set after the first {prefix}: the network is {new IPAddress(network)}/{prefix}.";
                return false;
            }
        }

        normalized = (max == 32 ? addressText : new IPAddress(bytes).ToString()) + "/" + prefix.ToString(CultureInfo.InvariantCulture);
        error = null;
        return true;
    }

    /// <summary>
    /// Errors keyed <c>clientCidrs[i]</c> (or <c>clientCidrs</c> for the whole list); empty when every entry is usable.
    /// A network of every address needs <paramref name="allowAnyAddress"/>.
    /// </summary>
    public static IReadOnlyList<ValidationError> Validate(IReadOnlyList<string>? cidrs, bool allowAnyAddress)
    {
        var errors = new List<ValidationError>();
        if (cidrs is null)
        {
            return errors;
        }

        if (cidrs.Count > MaxCount)
        {
            errors.Add(new(Field, $"{cidrs.Count} networks: at most {MaxCount}. Summarise them into wider networks."));
            return errors;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < cidrs.Count; i++)
        {
            var field = $"{Field}[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (!TryParse(cidrs[i], out var normalized, out var error))
            {
                errors.Add(new(field, error!));
            }
            else if (seen.TryGetValue(normalized, out var first))
            {
                errors.Add(new(field, $"{normalized} is listed twice (also entry {first + 1})."));
            }
            else
            {
                seen[normalized] = i;
                if (normalized.EndsWith("/0", StringComparison.Ordinal) && !allowAnyAddress)
                {
                    errors.Add(new(field,
                        $"{normalized} lets every {(normalized.Contains(':', StringComparison.Ordinal) ? "IPv6" : "IPv4")} address try to log in to every database. "
                        + $"Name the application's networks instead, or confirm explicitly ({AllowAnyField}) that any address may connect."));
                }
            }
        }

        return errors;
    }

    /// <summary>The canonical form of every entry; throws <see cref="ArgumentException"/> on the first invalid one.</summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> cidrs)
    {
        ArgumentNullException.ThrowIfNull(cidrs);
        return [.. cidrs.Select(c => TryParse(c, out var n, out var e) ? n : throw new ArgumentException(e, nameof(cidrs))).Distinct(StringComparer.Ordinal)];
    }

    private static string Shown(string s) => s.Length > 60 ? s[..60] + "…" : new string([.. s.Select(c => char.IsControl(c) ? '?' : c)]);
}
