using System.Text;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Postgres;

/// <summary>One pg_hba.conf record. <see cref="Address"/> is null for <c>local</c> lines.</summary>
public sealed record HbaLine(string Type, string Database, string User, string? Address, string Method)
{
    public override string ToString() =>
        Address is null
            ? $"{Type,-7} {Database,-15} {User,-23} {"",-18} {Method}".TrimEnd()
            : $"{Type,-7} {Database,-15} {User,-23} {Address,-18} {Method}";

    internal string[] Tokens() => Address is null
        ? [Type, Database, User, Method]
        : [Type, Database, User, Address, Method];
}

/// <summary>The result of <see cref="PgHbaEditor.Apply"/>.</summary>
/// <param name="Text">The new file content (identical to the input when nothing was missing).</param>
/// <param name="Added">The lines appended, in order; empty when the file already had them all.</param>
/// <param name="Shadowed">
/// Desired lines that an earlier line with the same type, database, user and address but another method would
/// override (pg_hba.conf is first-match): the plan shows them as warnings.
/// </param>
public sealed record HbaEditResult(string Text, IReadOnlyList<HbaLine> Added, IReadOnlyList<HbaLine> Shadowed)
{
    public bool Changed => Added.Count > 0;
}

/// <summary>
/// Adds lines to an existing pg_hba.conf without disturbing it: only missing lines are appended, inside one marked
/// block that later runs extend; comments, order and the rest of the text stay byte for byte. Applying the same lines
/// twice gives the same text.
/// </summary>
public static class PgHbaEditor
{
    public const string BeginMarker = "# BEGIN PgHaConsole";

    public const string EndMarker = "# END PgHaConsole";

    public static HbaEditResult Apply(string existingText, IEnumerable<HbaLine> desired)
    {
        ArgumentNullException.ThrowIfNull(existingText);
        ArgumentNullException.ThrowIfNull(desired);

        var lines = SplitLines(existingText);
        var existing = lines.Select(Tokenize).Where(t => t.Length > 0).ToList();

        var added = new List<HbaLine>();
        var shadowed = new List<HbaLine>();
        foreach (var line in desired)
        {
            var tokens = line.Tokens();
            if (existing.Any(e => Equivalent(e, tokens)) || added.Any(a => Equivalent(a.Tokens(), tokens)))
            {
                continue;
            }

            if (existing.Any(e => SameTarget(e, tokens)))
            {
                shadowed.Add(line);
            }

            added.Add(line);
        }

        if (added.Count == 0)
        {
            return new HbaEditResult(existingText, added, shadowed);
        }

        var newLines = added.Select(a => a.ToString()).ToList();
        var begin = lines.FindIndex(l => l.TrimStart().StartsWith(BeginMarker, StringComparison.Ordinal));
        var end = begin < 0 ? -1 : lines.FindIndex(begin, l => l.Trim() == EndMarker);
        if (begin >= 0 && end > begin)
        {
            // Our block exists already: extend it, so the file keeps one block however many times it is edited.
            lines.InsertRange(end, newLines);
            return new HbaEditResult(JoinLines(lines, existingText), added, shadowed);
        }

        var sb = new StringBuilder(existingText);
        if (sb.Length > 0 && sb[^1] != '\n')
        {
            sb.Append('\n');
        }

        sb.Append(BeginMarker).Append(" - lines added by the setup wizard; the rest of the file is untouched\n");
        foreach (var l in newLines)
        {
            sb.Append(l).Append('\n');
        }

        sb.Append(EndMarker).Append('\n');
        return new HbaEditResult(sb.ToString(), added, shadowed);
    }

    /// <summary>What <see cref="Apply"/> would add, as text for the plan: one line per record, nothing when complete.</summary>
    public static IReadOnlyList<string> Plan(string existingText, IEnumerable<HbaLine> desired)
    {
        var result = Apply(existingText, desired);
        var plan = result.Added.Select(l => "+ " + l).ToList();
        plan.AddRange(result.Shadowed.Select(l =>
            $"! an earlier line for {l.Type} {l.Database} {l.User} {l.Address} uses another method and takes precedence"));
        return plan;
    }

    /// <summary>
    /// The pair's lines: replication for the replication role from each node (/32) with scram-sha-256, the
    /// monitoring role from each node (HAProxy's pgsql-check and the console's probes come from there), then the
    /// application's lines for its client networks (<see cref="ClientAccess"/>: which addresses PostgreSQL sees
    /// depends on the balancer mode). Throws <see cref="ArgumentException"/> for a network that is not a valid CIDR.
    /// </summary>
    public static IReadOnlyList<HbaLine> DesiredLines(ClusterSpec cluster, IEnumerable<string>? clientCidrs = null, string method = "scram-sha-256")
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var pg = cluster.Postgres;
        var list = new List<HbaLine>();
        foreach (var node in cluster.Nodes)
        {
            list.Add(new("host", "replication", pg.ReplicationUser, node.Address + "/32", method));
        }

        foreach (var node in cluster.Nodes)
        {
            list.Add(new("host", "all", pg.MonitorUser, node.Address + "/32", method));
        }

        list.AddRange(ClientAccess.Render(cluster, clientCidrs).Lines.Select(l => l with { Method = method }));
        return list;
    }

    /// <summary>Tokens of a record line, without its comment; empty for blank and comment lines.</summary>
    private static string[] Tokenize(string line)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (char.IsWhiteSpace(line[i]))
            {
                i++;
                continue;
            }

            if (line[i] == '#')
            {
                break;
            }

            var sb = new StringBuilder();
            var quoted = false;
            while (i < line.Length && (quoted || (!char.IsWhiteSpace(line[i]) && line[i] != '#')))
            {
                if (line[i] == '"')
                {
                    quoted = !quoted;
                }

                sb.Append(line[i]);
                i++;
            }

            tokens.Add(sb.ToString());
        }

        return NormalizeNetmask(tokens);
    }

    /// <summary>Writes "address netmask" as CIDR so "10.0.0.1 255.255.255.255" matches "10.0.0.1/32".</summary>
    private static string[] NormalizeNetmask(List<string> t)
    {
        if (t.Count >= 5 && t[0].StartsWith("host", StringComparison.OrdinalIgnoreCase)
            && Validation.ClusterValidator.TryParseIpv4(t[3], out _) && Validation.ClusterValidator.TryParseIpv4(t[4], out var mask))
        {
            var bits = System.Numerics.BitOperations.PopCount(mask);
            if (bits == 32 || (mask == (uint.MaxValue << (32 - bits))))
            {
                t[3] = $"{t[3]}/{bits}";
                t.RemoveAt(4);
            }
        }

        return [.. t];
    }

    private static bool Equivalent(string[] a, string[] b) =>
        a.Length == b.Length && a.Select((x, i) => TokenEquals(x, b[i], i, a.Length)).All(x => x);

    /// <summary>Same connection type, database, user and address: the first of such lines decides the method.</summary>
    private static bool SameTarget(string[] existing, string[] desired) =>
        existing.Length >= desired.Length && desired.Length >= 2
        && desired.Take(desired.Length - 1).Select((x, i) => TokenEquals(existing[i], x, i, desired.Length)).All(x => x);

    private static bool TokenEquals(string a, string b, int index, int count) =>
        // The connection type and the method are keywords (case-insensitive); names and addresses are compared as written.
        index == 0 || index == count - 1 ? string.Equals(a, b, StringComparison.OrdinalIgnoreCase) : string.Equals(a, b, StringComparison.Ordinal);

    private static List<string> SplitLines(string text)
    {
        var lines = text.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private static string JoinLines(List<string> lines, string original)
    {
        var text = string.Join('\n', lines);
        return original.EndsWith('\n') || original.Length == 0 ? text + "\n" : text;
    }
}
