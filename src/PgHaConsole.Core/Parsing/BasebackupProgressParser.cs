using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PgHaConsole.Core.Parsing;

/// <summary>One progress report of <c>pg_basebackup --progress</c>.</summary>
/// <param name="CurrentFile">With <c>--verbose</c>, the file being copied (pg_basebackup shortens long paths with a leading "...").</param>
public sealed record BasebackupProgress(long DoneKb, long TotalKb, int Percent, int TablespacesDone, int TablespacesTotal, string? CurrentFile)
{
    /// <summary>Fraction 0..1 for a progress bar; pg_basebackup's total is an estimate, so it is clamped.</summary>
    public double Fraction => TotalKb <= 0 ? 0 : Math.Clamp((double)DoneKb / TotalKb, 0, 1);

    public bool IsFinished => TablespacesTotal > 0 && TablespacesDone == TablespacesTotal;
}

/// <summary>Everything read from a pg_basebackup stderr.</summary>
public sealed record BasebackupOutput(
    IReadOnlyList<BasebackupProgress> Progress,
    IReadOnlyList<string> Messages,
    bool Completed,
    string? Error)
{
    public BasebackupProgress? Last => Progress.Count > 0 ? Progress[^1] : null;
}

/// <summary>
/// Parses pg_basebackup's progress output. On a terminal each report overwrites the last with a
/// carriage return; into a pipe (SSH without a pty) each report ends with a newline. Both are handled.
/// </summary>
public static partial class BasebackupProgressParser
{
    [GeneratedRegex(@"^\s*(\d+)/(\d+) kB \((\d+)%\), (\d+)/(\d+) tablespaces?(?:\s+\((.*)\))?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ProgressLine();

    /// <summary>Parses one progress report, or returns null for anything else (messages, partial lines).</summary>
    public static BasebackupProgress? ParseLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }

        var m = ProgressLine().Match(line);
        if (!m.Success
            || !long.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var done)
            || !long.TryParse(m.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var total)
            || !int.TryParse(m.Groups[3].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var percent)
            || !int.TryParse(m.Groups[4].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var tsDone)
            || !int.TryParse(m.Groups[5].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var tsTotal))
        {
            return null;
        }

        var file = m.Groups[6].Success ? m.Groups[6].Value.Trim() : null;
        return new BasebackupProgress(done, total, percent, tsDone, tsTotal, string.IsNullOrEmpty(file) ? null : file);
    }

    /// <summary>Parses a whole captured stderr.</summary>
    public static ParseResult<BasebackupOutput> Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return ParseResult.Fail<BasebackupOutput>("pg_basebackup printed nothing.");
        }

        var progress = new List<BasebackupProgress>();
        var messages = new List<string>();
        string? error = null;
        var completed = false;
        foreach (var raw in ParseText.Lines(text))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("# source:", StringComparison.Ordinal))
            {
                continue;
            }

            if (ParseLine(line) is { } p)
            {
                progress.Add(p);
                continue;
            }

            messages.Add(line);
            if (line.Contains("base backup completed", StringComparison.Ordinal))
            {
                completed = true;
            }

            if (error is null && (line.Contains(": error:", StringComparison.Ordinal) || line.Contains("FATAL:", StringComparison.Ordinal)))
            {
                error = line;
            }
        }

        var output = new BasebackupOutput(progress, messages, completed, error);
        return error is null ? ParseResult.Ok(output) : ParseResult.Partial(output, error);
    }
}

/// <summary>
/// Follows pg_basebackup's stderr as it streams in arbitrary chunks: a report cut in two by the
/// transport is held back until its terminator arrives, so the bar never jumps to a half-read number.
/// Not thread-safe: one instance per stream.
/// </summary>
public sealed class BasebackupProgressTracker
{
    private readonly StringBuilder _pending = new();
    private readonly List<string> _messages = [];

    public BasebackupProgress? Latest { get; private set; }

    public IReadOnlyList<string> Messages => _messages;

    /// <summary>Feeds a chunk; returns the newest complete progress report seen so far.</summary>
    public BasebackupProgress? Feed(string? chunk)
    {
        if (string.IsNullOrEmpty(chunk))
        {
            return Latest;
        }

        _pending.Append(chunk);
        var text = _pending.ToString();
        var lastBreak = text.LastIndexOfAny(['\r', '\n']);
        if (lastBreak < 0)
        {
            return Latest;
        }

        foreach (var line in text[..lastBreak].Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (BasebackupProgressParser.ParseLine(line) is { } progress)
            {
                Latest = progress;
            }
            else if (line.Trim().Length > 0)
            {
                _messages.Add(line.Trim());
            }
        }

        _pending.Clear().Append(text, lastBreak + 1, text.Length - lastBreak - 1);
        return Latest;
    }
}
