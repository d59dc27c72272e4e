using System.Globalization;
using System.Text;
using PgHaConsole.Core.Text;

namespace PgHaConsole.Core.Tests.Text;

/// <summary>
/// Expectations written by hand from the unified format (GNU diffutils manual, "Unified Format"): a hunk header is
/// <c>@@ -start,count +start,count @@</c> with 1-based line numbers, 3 lines of context, hunks closer than twice the
/// context merged, an empty range written as the line before it with count 0, and a last line without newline followed
/// by <c>\ No newline at end of file</c>.
/// </summary>
public sealed class UnifiedDiffTests
{
    private const string Path = "/data10/pgdata/postgresql.conf";

    /// <summary>"line 1\n" … "line n\n".</summary>
    private static string Numbered(int n, Func<int, string>? replace = null)
    {
        var sb = new StringBuilder();
        for (var i = 1; i <= n; i++)
        {
            sb.Append(replace?.Invoke(i) ?? "line " + i.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    private static string Head(string oldPath = Path) => $"--- {oldPath}\n+++ {Path}\n";

    [Theory]
    [InlineData("")]
    [InlineData("a\n")]
    [InlineData("a\nb")]
    public void Equal_texts_give_an_empty_string(string text) =>
        Assert.Equal("", UnifiedDiff.Render(Path, text, text));

    [Fact]
    public void New_file_is_diffed_against_dev_null()
    {
        Assert.Equal(
            "--- /dev/null\n" +
            $"+++ {Path}\n" +
            "@@ -0,0 +1,2 @@\n" +
            "+a\n" +
            "+b\n",
            UnifiedDiff.Render(Path, null, "a\nb\n"));
    }

    [Fact]
    public void Emptied_file_removes_every_line()
    {
        Assert.Equal(Head() + "@@ -1,2 +0,0 @@\n-a\n-b\n", UnifiedDiff.Render(Path, "a\nb\n", ""));
    }

    [Fact]
    public void One_line_changed_in_the_middle_of_20_lines_is_one_hunk_with_3_lines_of_context()
    {
        var old = Numbered(20);
        var @new = Numbered(20, i => i == 10 ? "changed 10" : null!);
        // Context 7, 8, 9 before and 11, 12, 13 after: old lines 7..13 (7 lines), new lines 7..13 (7 lines).
        Assert.Equal(
            Head() +
            "@@ -7,7 +7,7 @@\n" +
            " line 7\n" +
            " line 8\n" +
            " line 9\n" +
            "-line 10\n" +
            "+changed 10\n" +
            " line 11\n" +
            " line 12\n" +
            " line 13\n",
            UnifiedDiff.Render(Path, old, @new));
    }

    [Fact]
    public void Two_changes_far_apart_are_two_hunks()
    {
        var old = Numbered(20);
        var @new = Numbered(20, i => i is 3 or 18 ? $"changed {i}" : null!);
        // First: only 2 lines exist before line 3, so old/new 1..6. Second: 15..20 (only 2 lines after line 18).
        Assert.Equal(
            Head() +
            "@@ -1,6 +1,6 @@\n" +
            " line 1\n" +
            " line 2\n" +
            "-line 3\n" +
            "+changed 3\n" +
            " line 4\n" +
            " line 5\n" +
            " line 6\n" +
            "@@ -15,6 +15,6 @@\n" +
            " line 15\n" +
            " line 16\n" +
            " line 17\n" +
            "-line 18\n" +
            "+changed 18\n" +
            " line 19\n" +
            " line 20\n",
            UnifiedDiff.Render(Path, old, @new));
    }

    [Fact]
    public void Changes_separated_by_exactly_twice_the_context_share_one_hunk()
    {
        // Lines 6..11 (6 = 2 x 3) between the changes at 5 and 12: one hunk from 2 to 15.
        var @new = Numbered(20, i => i is 5 or 12 ? $"changed {i}" : null!);
        var diff = UnifiedDiff.Render(Path, Numbered(20), @new);
        Assert.Single(diff.Split('\n'), l => l.StartsWith("@@", StringComparison.Ordinal));
        Assert.Contains("\n@@ -2,14 +2,14 @@\n line 2\n", diff, StringComparison.Ordinal);
        Assert.EndsWith(" line 15\n", diff, StringComparison.Ordinal);
    }

    [Fact]
    public void Changes_separated_by_more_than_twice_the_context_are_two_hunks()
    {
        // Lines 6..12 (7) between the changes at 5 and 13: 2..8 and 10..16.
        var @new = Numbered(20, i => i is 5 or 13 ? $"changed {i}" : null!);
        var headers = UnifiedDiff.Render(Path, Numbered(20), @new).Split('\n').Where(l => l.StartsWith("@@", StringComparison.Ordinal));
        Assert.Equal(["@@ -2,7 +2,7 @@", "@@ -10,7 +10,7 @@"], headers);
    }

    [Fact]
    public void Lines_appended_at_the_end()
    {
        // Old 1..5, new 1..7: context 3, 4, 5 then two additions; old 3..5 (3 lines), new 3..7 (5 lines).
        Assert.Equal(
            Head() +
            "@@ -3,3 +3,5 @@\n" +
            " line 3\n" +
            " line 4\n" +
            " line 5\n" +
            "+line 6\n" +
            "+line 7\n",
            UnifiedDiff.Render(Path, Numbered(5), Numbered(7)));
    }

    [Fact]
    public void Line_inserted_at_the_start()
    {
        Assert.Equal(
            Head() + "@@ -1,3 +1,4 @@\n+zero\n a\n b\n c\n",
            UnifiedDiff.Render(Path, "a\nb\nc\nd\n", "zero\na\nb\nc\nd\n"));
    }

    [Fact]
    public void Pure_insertion_in_the_middle_keeps_both_ranges_right()
    {
        // "new" goes after old line 10: old 8..13 (6 lines), new 8..14 (7 lines).
        var @new = Numbered(20).Replace("line 10\n", "line 10\nnew\n", StringComparison.Ordinal);
        Assert.Equal(
            Head() + "@@ -8,6 +8,7 @@\n line 8\n line 9\n line 10\n+new\n line 11\n line 12\n line 13\n",
            UnifiedDiff.Render(Path, Numbered(20), @new));
    }

    [Fact]
    public void Pure_deletion_in_the_middle_keeps_both_ranges_right()
    {
        var @new = Numbered(20).Replace("line 10\n", "", StringComparison.Ordinal);
        Assert.Equal(
            Head() + "@@ -7,7 +7,6 @@\n line 7\n line 8\n line 9\n-line 10\n line 11\n line 12\n line 13\n",
            UnifiedDiff.Render(Path, Numbered(20), @new));
    }

    [Fact]
    public void Newline_added_at_the_end_of_the_last_line_is_shown()
    {
        // The texts differ only by the final newline: the diff must not be just the two header lines.
        Assert.Equal(
            Head() + "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
            UnifiedDiff.Render(Path, "a\nb", "a\nb\n"));
    }

    [Fact]
    public void Newline_removed_at_the_end_of_the_last_line_is_shown()
    {
        Assert.Equal(
            Head() + "@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n",
            UnifiedDiff.Render(Path, "a\nb\n", "a\nb"));
    }

    [Fact]
    public void Appending_to_a_file_without_final_newline()
    {
        // The typical postgresql.conf edit: include lines appended to a file whose last line had no newline.
        Assert.Equal(
            Head() + "@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n",
            UnifiedDiff.Render(Path, "a\nb", "a\nb\nc\n"));
    }

    [Fact]
    public void Both_without_final_newline_and_only_an_earlier_line_changed()
    {
        Assert.Equal(
            Head() + "@@ -1,2 +1,2 @@\n-a\n+x\n b\n\\ No newline at end of file\n",
            UnifiedDiff.Render(Path, "a\nb", "x\nb"));
    }

    [Fact]
    public void New_file_without_final_newline()
    {
        Assert.Equal(
            $"--- /dev/null\n+++ {Path}\n@@ -0,0 +1,1 @@\n+only\n\\ No newline at end of file\n",
            UnifiedDiff.Render(Path, null, "only"));
    }

    [Fact]
    public void Random_edits_apply_back_to_the_new_text()
    {
        // Whatever the edits, applying the hunks to the old text (a strict applier: context and removals must match
        // at the stated line numbers) gives the new text exactly.
        var random = new Random(20240611);
        for (var round = 0; round < 300; round++)
        {
            var old = RandomText(random);
            var @new = Mutate(random, old);
            var diff = UnifiedDiff.Render(Path, old, @new);
            if (old == @new)
            {
                Assert.Equal("", diff);
                continue;
            }

            Assert.Equal(@new, Apply(old, diff));
        }
    }

    private static string RandomText(Random random)
    {
        var lines = Enumerable.Range(0, random.Next(0, 30)).Select(_ => "l" + random.Next(0, 6).ToString(CultureInfo.InvariantCulture)).ToList();
        var text = string.Join('\n', lines);
        return lines.Count > 0 && random.Next(4) > 0 ? text + "\n" : text;
    }

    private static string Mutate(Random random, string text)
    {
        var lines = text.Split('\n').ToList();
        var final = text.EndsWith('\n');
        if (final)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        if (text.Length == 0)
        {
            lines.Clear();
        }

        for (var k = random.Next(0, 4); k > 0; k--)
        {
            var at = random.Next(0, lines.Count + 1);
            switch (random.Next(3))
            {
                case 0:
                    lines.Insert(at, "n" + random.Next(0, 6).ToString(CultureInfo.InvariantCulture));
                    break;
                case 1 when at < lines.Count:
                    lines.RemoveAt(at);
                    break;
                case 2 when at < lines.Count:
                    lines[at] = "c" + random.Next(0, 6).ToString(CultureInfo.InvariantCulture);
                    break;
            }
        }

        if (random.Next(5) == 0)
        {
            final = !final;
        }

        var result = string.Join('\n', lines);
        return lines.Count > 0 && final ? result + "\n" : result;
    }

    /// <summary>A minimal strict patch: each hunk's header must agree with its body and the old text.</summary>
    private static string Apply(string old, string diff)
    {
        var oldLines = Split(old, out var oldFinal);
        var result = new List<string>();
        var lines = diff.Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.StartsWith("--- ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("+++ ", lines[1], StringComparison.Ordinal);
        var pos = 0; // lines of old consumed
        var k = 2;
        bool? lastNewSideMarked = null; // of the last hunk: whether its last ' ' or '+' line had the no-newline marker
        while (k < lines.Length - 1)
        {
            var header = lines[k++];
            var m = System.Text.RegularExpressions.Regex.Match(header, @"^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$");
            Assert.True(m.Success, header);
            var oldStart = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var oldCount = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            var newStart = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            var newCount = int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture);
            var from = oldCount == 0 ? oldStart : oldStart - 1; // 0-based index of the hunk's first old line
            Assert.True(from >= pos, $"hunks overlap or go backwards: {header}");
            result.AddRange(oldLines.Skip(pos).Take(from - pos));
            pos = from;
            Assert.Equal(newCount == 0 ? newStart : newStart - 1, result.Count);
            int seenOld = 0, seenNew = 0;
            lastNewSideMarked = null;
            while (k < lines.Length - 1 && !lines[k].StartsWith("@@", StringComparison.Ordinal))
            {
                var line = lines[k++];
                Assert.NotEqual('\\', line[0]);
                var body = line[1..];
                var marked = k < lines.Length - 1 && lines[k] == "\\ No newline at end of file";
                if (marked)
                {
                    k++;
                }

                if (line[0] is ' ' or '-')
                {
                    Assert.Equal(oldLines[pos], body);
                    pos++;
                    seenOld++;
                    if (marked)
                    {
                        // The marker on an old-side line: it is old's last line and old has no final newline.
                        Assert.Equal(oldLines.Count, pos);
                        Assert.False(oldFinal);
                    }
                }
                else
                {
                    Assert.Equal('+', line[0]);
                }

                if (line[0] is ' ' or '+')
                {
                    result.Add(body);
                    seenNew++;
                    lastNewSideMarked = marked;
                }
            }

            Assert.Equal(oldCount, seenOld);
            Assert.Equal(newCount, seenNew);
        }

        // The last hunk reached old's end: its last new-side line is the new text's last line.
        var newFinal = pos == oldLines.Count && lastNewSideMarked is { } lastMarked ? !lastMarked : oldFinal;
        result.AddRange(oldLines.Skip(pos));
        var text = string.Join('\n', result);
        return result.Count > 0 && newFinal ? text + "\n" : text;
    }

    private static List<string> Split(string text, out bool final)
    {
        final = text.EndsWith('\n');
        if (text.Length == 0)
        {
            final = true;
            return [];
        }

        var lines = text.Split('\n').ToList();
        if (final)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }
}
