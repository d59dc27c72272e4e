using System.Globalization;

namespace PgHaConsole.Core.Parsing;

/// <summary>
/// Parses <c>ipvsadm -Ln</c>, <c>-Ln --stats</c> and <c>-Ln --rate</c> (with or without <c>--exact</c>).
/// Splits on whitespace rather than fixed columns: published and pasted listings often lose the column
/// padding, and long IPv6 addresses overflow ipvsadm's own column widths.
/// </summary>
public static class IpvsadmParser
{
    /// <summary>Parses one listing. <paramref name="kind"/> is a hint for rows without a title line.</summary>
    public static ParseResult<IpvsTable> Parse(string? text, IpvsListingKind kind = IpvsListingKind.Unknown)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ParseResult.Fail<IpvsTable>("ipvsadm printed nothing.");
        }

        if (DetectUnavailable(text) is { } unavailable)
        {
            return unavailable;
        }

        var warnings = new List<string>();
        string? version = null;
        int? size = null;
        var detectedKind = IpvsListingKind.Unknown;
        var services = new List<ServiceBuilder>();
        var recognisedAnything = false;
        var sawTitle = false;

        foreach (var rawLine in ParseText.Lines(text))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (IpvsConnectionParser.IsTitleLine(line))
            {
                return ParseResult.Fail<IpvsTable>(NotAListing, warnings);
            }

            if (line.StartsWith("IP Virtual Server version", StringComparison.Ordinal))
            {
                (version, size) = ParseVersion(line);
                recognisedAnything = sawTitle = true;
                continue;
            }

            if (line.StartsWith("Prot LocalAddress:Port", StringComparison.Ordinal))
            {
                detectedKind = line.Contains("Conns", StringComparison.Ordinal) ? IpvsListingKind.Stats
                    : line.Contains("CPS", StringComparison.Ordinal) ? IpvsListingKind.Rate
                    : IpvsListingKind.Connections;
                recognisedAnything = sawTitle = true;
                continue;
            }

            if (line.Contains("RemoteAddress:Port", StringComparison.Ordinal))
            {
                recognisedAnything = true;
                continue;
            }

            var effectiveKind = detectedKind != IpvsListingKind.Unknown ? detectedKind : kind;
            var words = ParseText.Words(line);
            if (words[0] == "->")
            {
                if (services.Count == 0)
                {
                    warnings.Add($"Real server line before any virtual service skipped: '{line}'.");
                    continue;
                }

                effectiveKind = ResolveKind(effectiveKind, words.Length - 2, warnings);
                if (ParseRealServer(words, effectiveKind) is { } server)
                {
                    services[^1].RealServers.Add(server);
                    recognisedAnything = true;
                }
                else
                {
                    warnings.Add($"Unrecognised real server line skipped: '{line}'.");
                }

                continue;
            }

            // A row of the connection table (-Lnc) also starts with a protocol word: without this check its
            // expiry time would be read as an address and its state as a scheduler.
            if (IpvsConnectionParser.TryParseEntry(words) is not null)
            {
                return ParseResult.Fail<IpvsTable>(NotAListing, warnings);
            }

            if (IsProtocolWord(words[0]))
            {
                if (effectiveKind == IpvsListingKind.Unknown)
                {
                    effectiveKind = GuessKindFromServiceWords(words, warnings);
                }

                if (ParseService(words, effectiveKind) is { } service)
                {
                    services.Add(service);
                    recognisedAnything = true;
                }
                else
                {
                    services.Add(Unreadable(words[0], line, warnings));
                }

                if (detectedKind == IpvsListingKind.Unknown && kind == IpvsListingKind.Unknown)
                {
                    detectedKind = effectiveKind;
                }

                continue;
            }

            if (sawTitle || services.Count > 0)
            {
                // Inside a listing every line that is not a real server is a service line, whatever it names
                // (DPVS prints "MATCH …" services): the servers below it must not be handed to the one before.
                services.Add(Unreadable(words[0], line, warnings));
                continue;
            }

            warnings.Add($"Unrecognised line skipped: '{line}'.");
        }

        if (!recognisedAnything)
        {
            return new ParseResult<IpvsTable>(null, ["The text is not an ipvsadm listing."], warnings);
        }

        var finalKind = detectedKind != IpvsListingKind.Unknown ? detectedKind : kind;
        var table = new IpvsTable(finalKind, IpvsAvailability.Available, null, version, size,
            services.Select(s => s.Build()).ToArray());
        return ParseResult.Ok(table, warnings);
    }

    private const string NotAListing =
        "The text is the IPVS connection table (ipvsadm -Lnc), not a service listing.";

    private static ServiceBuilder Unreadable(string firstWord, string line, List<string> warnings)
    {
        warnings.Add($"Unreadable virtual service line kept as an unknown service: '{line}'.");
        var protocol = firstWord switch
        {
            "TCP" => IpvsProtocol.Tcp,
            "UDP" => IpvsProtocol.Udp,
            "SCTP" => IpvsProtocol.Sctp,
            "FWM" => IpvsProtocol.FirewallMark,
            _ => IpvsProtocol.Unknown,
        };
        return new ServiceBuilder { Protocol = protocol, UnreadableLine = line };
    }

    /// <summary>
    /// Combines the three listings of one host into one table: the connection listing's services and
    /// servers, with the stats and rate columns attached by service key and server address.
    /// </summary>
    public static IpvsTable Merge(IpvsTable connections, IpvsTable? stats, IpvsTable? rates)
    {
        ArgumentNullException.ThrowIfNull(connections);
        if (!connections.IsAvailable)
        {
            return connections;
        }

        var statsByKey = stats?.Services.GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.First());
        var ratesByKey = rates?.Services.GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.First());
        var merged = connections.Services.Select(service =>
        {
            IpvsVirtualService? s = null;
            IpvsVirtualService? r = null;
            statsByKey?.TryGetValue(service.Key, out s);
            ratesByKey?.TryGetValue(service.Key, out r);
            var servers = service.RealServers.Select(rs => rs with
            {
                Stats = s?.RealServers.FirstOrDefault(x => x.Endpoint.Text == rs.Endpoint.Text)?.Stats ?? rs.Stats,
                Rates = r?.RealServers.FirstOrDefault(x => x.Endpoint.Text == rs.Endpoint.Text)?.Rates ?? rs.Rates,
            }).ToArray();
            return service with { Stats = s?.Stats ?? service.Stats, Rates = r?.Rates ?? service.Rates, RealServers = servers };
        }).ToArray();
        return connections with { Services = merged };
    }

    private static ParseResult<IpvsTable>? DetectUnavailable(string text)
    {
        // ipvsadm's own words when the ip_vs module is absent (this machine's kernel): report it as a
        // state of the host, not as a parse failure, so the page can say "IPVS is not available".
        if (text.Contains("Protocol not available", StringComparison.Ordinal)
            || text.Contains("Are you sure that IP Virtual Server is built in the kernel", StringComparison.Ordinal))
        {
            return ParseResult.Ok(new IpvsTable(IpvsListingKind.Unknown, IpvsAvailability.KernelModuleMissing,
                FirstMeaningfulLine(text), null, null, []));
        }

        if (text.Contains("ipvsadm: command not found", StringComparison.Ordinal)
            || text.Contains("ipvsadm: not found", StringComparison.Ordinal)
            || text.Contains("No such file or directory", StringComparison.Ordinal) && text.Contains("ipvsadm", StringComparison.Ordinal))
        {
            return ParseResult.Ok(new IpvsTable(IpvsListingKind.Unknown, IpvsAvailability.CommandMissing,
                FirstMeaningfulLine(text), null, null, []));
        }

        if (text.Contains("Can't initialize ipvs", StringComparison.Ordinal))
        {
            // e.g. "Permission denied (you must be root)": IPVS may well be there; we just could not ask.
            return ParseResult.Fail<IpvsTable>(FirstMeaningfulLine(text));
        }

        return null;
    }

    private static string FirstMeaningfulLine(string text) =>
        ParseText.Lines(text).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#')) ?? text.Trim();

    private static (string? Version, int? Size) ParseVersion(string line)
    {
        // "IP Virtual Server version 1.2.1 (size=4096)"
        var words = ParseText.Words(line);
        var version = words.Length > 4 ? words[4] : null;
        int? size = null;
        var at = line.IndexOf("size=", StringComparison.Ordinal);
        if (at >= 0)
        {
            var digits = new string(line[(at + 5)..].TakeWhile(char.IsAsciiDigit).ToArray());
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var s))
            {
                size = s;
            }
        }

        return (version, size);
    }

    private static bool IsProtocolWord(string word) => word is "TCP" or "UDP" or "SCTP" or "FWM";

    private static IpvsListingKind ResolveKind(IpvsListingKind kind, int valueCount, List<string> warnings)
    {
        if (kind != IpvsListingKind.Unknown)
        {
            return kind;
        }

        // Without a title, five numbers after the address are stats or rates; say which we assumed.
        if (valueCount == 5)
        {
            warnings.Add("No title line: five counters read as --stats.");
            return IpvsListingKind.Stats;
        }

        return IpvsListingKind.Connections;
    }

    private static IpvsListingKind GuessKindFromServiceWords(string[] words, List<string> warnings)
    {
        var rest = words.Skip(2).Where(w => w != "IPv6").ToArray();
        if (rest.Length == 5 && rest.All(w => IpvsCounter.TryParse(w, out _)))
        {
            warnings.Add("No title line: five counters read as --stats.");
            return IpvsListingKind.Stats;
        }

        return IpvsListingKind.Connections;
    }

    private static ServiceBuilder? ParseService(string[] words, IpvsListingKind kind)
    {
        var protocol = words[0] switch
        {
            "TCP" => IpvsProtocol.Tcp,
            "UDP" => IpvsProtocol.Udp,
            "SCTP" => IpvsProtocol.Sctp,
            _ => IpvsProtocol.FirewallMark,
        };

        if (words.Length < 2)
        {
            return null;
        }

        var builder = new ServiceBuilder { Protocol = protocol };
        var index = 2;
        if (protocol == IpvsProtocol.FirewallMark)
        {
            // Marks above int.MaxValue were printed negative by ipvsadm before 1.29 ("%d").
            if (uint.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var mark))
            {
                builder.FirewallMark = mark;
            }
            else if (int.TryParse(words[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var signed))
            {
                builder.FirewallMark = unchecked((uint)signed);
            }
            else
            {
                return null;
            }

            if (words.Length > 2 && words[2] == "IPv6")
            {
                builder.IsIPv6 = true;
                index = 3;
            }
        }
        else
        {
            builder.Endpoint = IpvsEndpoint.TryParse(words[1]);
            if (builder.Endpoint is null)
            {
                return null;
            }

            builder.IsIPv6 = builder.Endpoint.IsIPv6 || words[1].StartsWith('[');
        }

        var rest = words[index..];
        switch (kind)
        {
            case IpvsListingKind.Stats:
                if (ParseFive(rest) is not { } st)
                {
                    return null;
                }

                builder.Stats = new IpvsStats(st[0], st[1], st[2], st[3], st[4]);
                break;
            case IpvsListingKind.Rate:
                if (ParseFive(rest) is not { } rt)
                {
                    return null;
                }

                builder.Rates = new IpvsRates(rt[0], rt[1], rt[2], rt[3], rt[4]);
                break;
            default:
                if (rest.Length == 0)
                {
                    return null;
                }

                builder.Scheduler = rest[0];
                ParseFlags(rest[1..], builder);
                break;
        }

        return builder;
    }

    private static void ParseFlags(string[] flags, ServiceBuilder builder)
    {
        for (var i = 0; i < flags.Length; i++)
        {
            var flag = flags[i];
            var hasValue = i + 1 < flags.Length;
            switch (flag)
            {
                case "persistent" when hasValue && int.TryParse(flags[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var timeout):
                    builder.PersistenceTimeout = timeout;
                    builder.Flags.Add($"persistent {flags[i + 1]}");
                    i++;
                    break;
                case "mask" when hasValue:
                    builder.PersistenceMask = flags[i + 1];
                    builder.Flags.Add($"mask {flags[i + 1]}");
                    i++;
                    break;
                case "pe" when hasValue:
                    builder.PersistenceEngine = flags[i + 1];
                    builder.Flags.Add($"pe {flags[i + 1]}");
                    i++;
                    break;
                case "ops":
                    builder.OnePacket = true;
                    builder.Flags.Add(flag);
                    break;
                default:
                    // Scheduler flags (sh-fallback, sh-port, flag-1…) and anything newer: kept as printed.
                    builder.Flags.Add(flag);
                    break;
            }
        }
    }

    private static IpvsRealServer? ParseRealServer(string[] words, IpvsListingKind kind)
    {
        if (words.Length < 2 || IpvsEndpoint.TryParse(words[1]) is not { } endpoint)
        {
            return null;
        }

        var rest = words[2..];
        switch (kind)
        {
            case IpvsListingKind.Stats:
                return ParseFive(rest) is { } st
                    ? new IpvsRealServer(endpoint, null, null, null, null, null, new IpvsStats(st[0], st[1], st[2], st[3], st[4]), null)
                    {
                        TrailingFlags = rest[5..],
                    }
                    : null;
            case IpvsListingKind.Rate:
                return ParseFive(rest) is { } rt
                    ? new IpvsRealServer(endpoint, null, null, null, null, null, null, new IpvsRates(rt[0], rt[1], rt[2], rt[3], rt[4]))
                    {
                        TrailingFlags = rest[5..],
                    }
                    : null;
            default:
                // "Forward Weight ActiveConn InActConn", or with --tun-info "Forward TunnelInfo Weight …"; forks
                // (DPVS) may print words after the counters, e.g. "inhibited": kept, not a reason to drop the server.
                if (rest.Length < 4)
                {
                    return null;
                }

                var at = ReadsAsCounters(rest, 1) ? 1 : rest.Length >= 5 && ReadsAsCounters(rest, 2) ? 2 : -1;
                if (at < 0)
                {
                    return null;
                }

                var weight = int.Parse(rest[at], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                var active = ulong.Parse(rest[at + 1], NumberStyles.None, CultureInfo.InvariantCulture);
                var inactive = ulong.Parse(rest[at + 2], NumberStyles.None, CultureInfo.InvariantCulture);
                return new IpvsRealServer(endpoint, ParseForwarding(rest[0]), rest[0], weight, active, inactive, null, null)
                {
                    TrailingFlags = rest[(at + 3)..],
                };
        }
    }

    private static bool ReadsAsCounters(string[] rest, int at) =>
        rest.Length >= at + 3
        && int.TryParse(rest[at], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
        && ulong.TryParse(rest[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out _)
        && ulong.TryParse(rest[at + 2], NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static IpvsForwarding ParseForwarding(string text) => text switch
    {
        "Route" => IpvsForwarding.DirectRouting,
        "Masq" => IpvsForwarding.Nat,
        "Tunnel" => IpvsForwarding.Tunnel,
        "Local" => IpvsForwarding.Local,
        "FullNat" => IpvsForwarding.FullNat,
        _ => IpvsForwarding.Unknown,
    };

    private static IpvsCounter[]? ParseFive(string[] values)
    {
        if (values.Length < 5)
        {
            return null;
        }

        var result = new IpvsCounter[5];
        for (var i = 0; i < 5; i++)
        {
            if (!IpvsCounter.TryParse(values[i], out result[i]))
            {
                return null;
            }
        }

        return result;
    }

    private sealed class ServiceBuilder
    {
        public IpvsProtocol Protocol { get; set; }
        public IpvsEndpoint? Endpoint { get; set; }
        public uint? FirewallMark { get; set; }
        public bool IsIPv6 { get; set; }
        public string? Scheduler { get; set; }
        public List<string> Flags { get; } = [];
        public int? PersistenceTimeout { get; set; }
        public string? PersistenceMask { get; set; }
        public string? PersistenceEngine { get; set; }
        public bool OnePacket { get; set; }
        public IpvsStats? Stats { get; set; }
        public IpvsRates? Rates { get; set; }
        public List<IpvsRealServer> RealServers { get; } = [];
        public string? UnreadableLine { get; init; }

        public IpvsVirtualService Build() => new(Protocol, Endpoint, FirewallMark, IsIPv6, Scheduler, Flags.ToArray(),
            PersistenceTimeout, PersistenceMask, PersistenceEngine, OnePacket, Stats, Rates, RealServers.ToArray())
        {
            UnreadableLine = UnreadableLine,
        };
    }
}
