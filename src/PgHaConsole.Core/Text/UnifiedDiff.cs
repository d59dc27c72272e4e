using System.Globalization;
using System.Text;

namespace PgHaConsole.Core.Text;

/// <summary>
/// A unified diff of two small text files (configuration files: at most a few thousand lines), for plans: what a
/// step will change, shown before anything runs. Longest-common-subsequence on lines, 3 lines of context.
/// </summary>
public static class UnifiedDiff
{
    private const int Context = 3;

    private const char NoNewlineMark = '\n';

    private const string NoNewlineAtEnd = "\\ No newline at end of file";

    /// <summary>The diff, or an empty string when the texts are equal. A null <paramref name="oldText"/> is a new file.</summary>
    public static string Render(string path, string? oldText, string newText)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(newText);
        if (oldText == newText)
        {
            return "";
        }

        var a = Lines(oldText ?? "");
        var b = Lines(newText);
        var ops = Diff(a, b);
        var sb = new StringBuilder();
        sb.Append("--- ").Append(oldText is null ? "/dev/null" : path).Append('\n');
        sb.Append("+++ ").Append(path).Append('\n');

        // Group the edit script into hunks with context.
        var i = 0;
        while (i < ops.Count)
        {
            if (ops[i].Kind == ' ')
            {
                i++;
                continue;
            }

            var start = Math.Max(0, i - Context);
            var end = i;
            while (end < ops.Count)
            {
                if (ops[end].Kind != ' ')
                {
                    end++;
                    continue;
                }

                var run = end;
                while (run < ops.Count && ops[run].Kind == ' ')
                {
                    run++;
                }

                if (run == ops.Count || run - end > 2 * Context)
                {
                    end = Math.Min(ops.Count, end + Context);
                    break;
                }

                end = run;
            }

            var hunk = ops.GetRange(start, end - start);
            var oldStart = hunk.First().OldLine;
            var newStart = hunk.First().NewLine;
            var oldCount = hunk.Count(o => o.Kind != '+');
            var newCount = hunk.Count(o => o.Kind != '-');
            sb.Append("@@ -").Append(Range(oldStart, oldCount)).Append(" +").Append(Range(newStart, newCount)).Append(" @@\n");
            foreach (var op in hunk)
            {
                if (op.Text.EndsWith(NoNewlineMark))
                {
                    sb.Append(op.Kind).Append(op.Text.AsSpan(0, op.Text.Length - 1)).Append('\n').Append(NoNewlineAtEnd).Append('\n');
                }
                else
                {
                    sb.Append(op.Kind).Append(op.Text).Append('\n');
                }
            }

            i = end;
        }

        return sb.ToString();
    }

    private static string Range(int start, int count) =>
        count == 0
            ? $"{(start - 1).ToString(CultureInfo.InvariantCulture)},0"
            : $"{start.ToString(CultureInfo.InvariantCulture)},{count.ToString(CultureInfo.InvariantCulture)}";

    private static string[] Lines(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var lines = text.Split('\n');
        if (text.EndsWith('\n'))
        {
            return lines[..^1];
        }

        // A last line without its newline differs from the same line with one (diff(1) marks it): the mark, a
        // character no split line can contain, keeps the two apart in the comparison and is printed as the marker line.
        lines[^1] += NoNewlineMark;
        return lines;
    }

    private readonly record struct Op(char Kind, string Text, int OldLine, int NewLine);

    private static List<Op> Diff(string[] a, string[] b)
    {
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var x = a.Length - 1; x >= 0; x--)
        {
            for (var y = b.Length - 1; y >= 0; y--)
            {
                lcs[x, y] = a[x] == b[y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
            }
        }

        var ops = new List<Op>();
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (i < a.Length && j < b.Length && a[i] == b[j])
            {
                ops.Add(new Op(' ', a[i], i + 1, j + 1));
                i++;
                j++;
            }
            else if (i < a.Length && (j == b.Length || lcs[i + 1, j] >= lcs[i, j + 1]))
            {
                // Removals before additions on a tie: a changed line reads "-old" then "+new", as diff(1) prints it.
                ops.Add(new Op('-', a[i], i + 1, j + 1));
                i++;
            }
            else
            {
                ops.Add(new Op('+', b[j], i + 1, j + 1));
                j++;
            }
        }

        return ops;
    }
}
