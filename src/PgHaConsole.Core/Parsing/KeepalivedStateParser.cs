using System.Globalization;

namespace PgHaConsole.Core.Parsing;

/// <summary>A VRRP instance state as keepalived names it.</summary>
public enum VrrpState
{
    Unknown = 0,
    Init,
    Backup,
    Master,
    Fault,

    /// <summary>keepalived stopped (its notify script is called with STOP on shutdown).</summary>
    Stop,

    /// <summary>Only in the data dump while keepalived is deleting the instance.</summary>
    Deleted,
}

/// <summary>
/// The one-line state file the console's generated notify script writes (see
/// <see cref="KeepalivedStateParser.StateFileFormat"/>).
/// </summary>
public sealed record KeepalivedStateFile(VrrpState State, string StateText, string Instance, int? Priority, DateTimeOffset? At)
{
    /// <summary>How long ago keepalived reported this state, against <paramref name="now"/>.</summary>
    public TimeSpan? Age(DateTimeOffset now) => At is { } at ? now - at : null;
}

/// <summary>A virtual address line of the data dump: <c>198.18.4.10/24 dev d0 scope global label d0:wvip set</c>.</summary>
/// <param name="IsSet">keepalived added it to the interface ("set" suffix, seen in MASTER).</param>
public sealed record KeepalivedVip(string Text, string Address, int? PrefixLength, string? Device, string? Label, bool IsSet);

/// <summary>One VRRP instance of <c>/tmp/keepalived.data</c>.</summary>
public sealed record KeepalivedVrrpInstance(
    string Name,
    VrrpState State,
    string? StateText,
    VrrpState WantState,
    int? VirtualRouterId,
    string? Interface,
    int? Priority,
    int? EffectivePriority,
    bool? Preempt,
    DateTimeOffset? LastTransition,
    IReadOnlyList<KeepalivedVip> VirtualIps,
    IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// Parses keepalived state: the console's own state file, and keepalived's data dump
/// (<c>kill -USR1 $(cat /run/keepalived.pid)</c> writes <c>/tmp/keepalived.data</c>).
/// </summary>
public static class KeepalivedStateParser
{
    /// <summary>
    /// The state file contract. The generated notify script (keepalived calls it with
    /// <c>$1=INSTANCE|GROUP $2=name $3=state $4=priority</c>) writes exactly one line, atomically
    /// (write a temporary file, then <c>mv</c>), for example
    /// <c>STATE=MASTER INSTANCE=VI_PG PRIORITY=101 AT=1795701212</c>:
    /// STATE is MASTER, BACKUP, FAULT or STOP; INSTANCE the vrrp_instance name (no spaces, as keepalived
    /// requires); PRIORITY the configured priority; AT the Unix time in seconds (<c>date +%s</c>).
    /// Keys may come in any order; unknown keys are ignored so the format can grow.
    /// </summary>
    public const string StateFileFormat = "STATE=<MASTER|BACKUP|FAULT|STOP> INSTANCE=<name> PRIORITY=<n> AT=<unix seconds>";

    /// <summary>Writes the line the notify script writes (for tests and for documentation of the contract).</summary>
    public static string FormatStateLine(VrrpState state, string instance, int priority, DateTimeOffset at) =>
        string.Create(CultureInfo.InvariantCulture,
            $"STATE={state.ToString().ToUpperInvariant()} INSTANCE={instance} PRIORITY={priority} AT={at.ToUnixTimeSeconds()}");

    public static ParseResult<KeepalivedStateFile> ParseStateFile(string? text)
    {
        // The last non-empty line wins: a file appended to by an older script still reads right.
        var line = ParseText.Lines(text).Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        if (line is null)
        {
            return ParseResult.Fail<KeepalivedStateFile>("The keepalived state file is empty.");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in ParseText.Words(line))
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[word[..eq]] = word[(eq + 1)..];
            }
        }

        if (!values.TryGetValue("STATE", out var stateText) || stateText.Length == 0)
        {
            return ParseResult.Fail<KeepalivedStateFile>($"No STATE= in the keepalived state file: '{line}'.");
        }

        var warnings = new List<string>();
        var state = ParseState(stateText);
        if (state == VrrpState.Unknown)
        {
            warnings.Add($"Unknown VRRP state '{stateText}'.");
        }

        int? priority = null;
        if (values.TryGetValue("PRIORITY", out var p))
        {
            if (int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pr))
            {
                priority = pr;
            }
            else
            {
                warnings.Add($"PRIORITY is not a number: '{p}'.");
            }
        }

        DateTimeOffset? at = null;
        if (values.TryGetValue("AT", out var a))
        {
            if (long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            {
                at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            }
            else
            {
                warnings.Add($"AT is not Unix seconds: '{a}'.");
            }
        }

        var instance = values.TryGetValue("INSTANCE", out var name) ? name : string.Empty;
        if (instance.Length == 0)
        {
            warnings.Add("No INSTANCE= in the keepalived state file.");
        }

        return ParseResult.Ok(new KeepalivedStateFile(state, stateText, instance, priority, at), warnings);
    }

    public static VrrpState ParseState(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "INIT" => VrrpState.Init,
        "BACKUP" => VrrpState.Backup,
        "MASTER" => VrrpState.Master,
        "FAULT" => VrrpState.Fault,
        "STOP" => VrrpState.Stop,
        "DELETED" => VrrpState.Deleted,
        _ => VrrpState.Unknown,
    };

    /// <summary>Parses the VRRP instances of a keepalived data dump (2.x layout; 1.3+ mostly the same).</summary>
    public static ParseResult<IReadOnlyList<KeepalivedVrrpInstance>> ParseDataDump(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ParseResult.Fail<IReadOnlyList<KeepalivedVrrpInstance>>("The keepalived data dump is empty.");
        }

        var lines = ParseText.Lines(text);
        var instances = new List<KeepalivedVrrpInstance>();
        var warnings = new List<string>();
        var sawTopology = false;
        var inTopology = false;
        InstanceBuilder? current = null;
        var vipIndent = -1;

        foreach (var raw in lines)
        {
            if (raw.StartsWith("------<", StringComparison.Ordinal))
            {
                inTopology = raw.Contains("VRRP Topology", StringComparison.Ordinal);
                sawTopology |= inTopology;
                continue;
            }

            if (!inTopology || raw.Trim().Length == 0)
            {
                continue;
            }

            var indent = raw.Length - raw.TrimStart().Length;
            var line = raw.Trim();
            if (line.StartsWith("VRRP Instance = ", StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    instances.Add(current.Build());
                }

                current = new InstanceBuilder(line["VRRP Instance = ".Length..].Trim());
                vipIndent = -1;
                continue;
            }

            if (current is null)
            {
                continue;
            }

            if (vipIndent >= 0)
            {
                if (indent > vipIndent)
                {
                    current.Vips.Add(ParseVip(line));
                    continue;
                }

                vipIndent = -1;
            }

            if (line.StartsWith("Virtual IP", StringComparison.Ordinal) && !line.StartsWith("Virtual IP Excluded", StringComparison.Ordinal))
            {
                // "Virtual IP (2):" (2.x) or "Virtual IP = 2" (1.x); the addresses follow, indented deeper.
                vipIndent = indent;
                continue;
            }

            var eq = line.IndexOf(" = ", StringComparison.Ordinal);
            if (eq > 0)
            {
                current.Fields.TryAdd(line[..eq].Trim(), line[(eq + 3)..].Trim());
            }
        }

        if (current is not null)
        {
            instances.Add(current.Build());
        }

        if (!sawTopology)
        {
            return new ParseResult<IReadOnlyList<KeepalivedVrrpInstance>>(null,
                ["No '------< VRRP Topology >------' section: not a keepalived data dump, or no VRRP configured."], warnings);
        }

        return ParseResult.Ok<IReadOnlyList<KeepalivedVrrpInstance>>(instances, warnings);
    }

    private static KeepalivedVip ParseVip(string line)
    {
        var words = ParseText.Words(line);
        var addressPart = words[0];
        int? prefix = null;
        var slash = addressPart.IndexOf('/', StringComparison.Ordinal);
        var address = addressPart;
        if (slash > 0)
        {
            address = addressPart[..slash];
            if (int.TryParse(addressPart[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var p))
            {
                prefix = p;
            }
        }

        string? device = null;
        string? label = null;
        for (var i = 1; i + 1 < words.Length; i++)
        {
            if (words[i] == "dev")
            {
                device = words[i + 1];
            }
            else if (words[i] == "label")
            {
                label = words[i + 1];
            }
        }

        return new KeepalivedVip(line, address, prefix, device, label, words[^1] == "set");
    }

    private sealed class InstanceBuilder(string name)
    {
        public Dictionary<string, string> Fields { get; } = new(StringComparer.Ordinal);
        public List<KeepalivedVip> Vips { get; } = [];

        public KeepalivedVrrpInstance Build()
        {
            var stateText = Fields.GetValueOrDefault("State");
            return new KeepalivedVrrpInstance(
                name,
                ParseState(stateText),
                stateText,
                ParseState(Fields.GetValueOrDefault("Wantstate")),
                Int(Fields.GetValueOrDefault("Virtual Router ID")),
                Fields.GetValueOrDefault("Interface"),
                Int(Fields.GetValueOrDefault("Priority")),
                Int(Fields.GetValueOrDefault("Effective priority")),
                Fields.GetValueOrDefault("Preempt") switch { "enabled" => true, "disabled" => false, _ => null },
                Transition(Fields.GetValueOrDefault("Last transition")),
                Vips.ToArray(),
                Fields);
        }

        private static int? Int(string? text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

        private static DateTimeOffset? Transition(string? text)
        {
            // "1795701212.826872 (Thu Nov 26 13:53:32.826872 2026)": the epoch part is unambiguous.
            var first = text is null ? null : ParseText.Words(text).FirstOrDefault();
            return decimal.TryParse(first, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
                && seconds > 0 && seconds < 253402300799m
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000m))
                : null;
        }
    }
}
