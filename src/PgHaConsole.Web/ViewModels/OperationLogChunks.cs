using PgHaConsole.Core.Operations;

namespace PgHaConsole.Web.ViewModels;

/// <summary>One run of log lines for the <c>OperationLogChunk</c> component; its key changes with the filter, so a filtered view never reuses an unfiltered chunk.</summary>
public sealed record LogChunk(string Key, IReadOnlyList<OperationLogLine> Lines, bool Full);

/// <summary>Splits a log (optionally one host's lines) into fixed-size chunks: all but the last are full and never change.</summary>
public static class OperationLogChunks
{
    public const int ChunkSize = 100;

    public const string ConsoleHost = "console";

    public static IReadOnlyList<LogChunk> Of(IReadOnlyList<OperationLogLine> lines, string? host, int size = ChunkSize)
    {
        ArgumentNullException.ThrowIfNull(lines);
        IReadOnlyList<OperationLogLine> shown = host is null ? lines : lines.Where(l => (l.Host ?? ConsoleHost) == host).ToList();
        var chunks = new List<LogChunk>((shown.Count / size) + 1);
        for (var start = 0; start < shown.Count; start += size)
        {
            var count = Math.Min(size, shown.Count - start);
            var slice = new OperationLogLine[count];
            for (var i = 0; i < count; i++)
            {
                slice[i] = shown[start + i];
            }

            chunks.Add(new LogChunk($"{host ?? "*"}:{start / size}", slice, count == size));
        }

        return chunks;
    }

    /// <summary>
    /// The chunks of <paramref name="lines"/> reusing the full chunks of <paramref name="previous"/> that still hold the
    /// same lines (same first and last sequence numbers at the same place): a render of a growing log copies only the
    /// lines after the last full chunk it had, not every chunk's slice again.
    /// </summary>
    public static IReadOnlyList<LogChunk> Of(IReadOnlyList<OperationLogLine> lines, string? host, IReadOnlyList<LogChunk> previous, int size = ChunkSize)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(previous);
        IReadOnlyList<OperationLogLine> shown = host is null ? lines : lines.Where(l => (l.Host ?? ConsoleHost) == host).ToList();
        var chunks = new List<LogChunk>((shown.Count / size) + 1);
        for (var start = 0; start < shown.Count; start += size)
        {
            var index = start / size;
            var count = Math.Min(size, shown.Count - start);
            var key = $"{host ?? "*"}:{index}";
            if (count == size && index < previous.Count && previous[index] is { Full: true } old && old.Key == key
                && old.Lines[0].Seq == shown[start].Seq && old.Lines[^1].Seq == shown[start + size - 1].Seq)
            {
                chunks.Add(old);
                continue;
            }

            var slice = new OperationLogLine[count];
            for (var i = 0; i < count; i++)
            {
                slice[i] = shown[start + i];
            }

            chunks.Add(new LogChunk(key, slice, count == size));
        }

        return chunks;
    }

    /// <summary>The hosts that wrote lines, in order of first appearance ("console" for the console's own lines).</summary>
    public static IReadOnlyList<string> HostsOf(IReadOnlyList<OperationLogLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var seen = new List<string>();
        foreach (var l in lines)
        {
            var h = l.Host ?? ConsoleHost;
            if (!seen.Contains(h))
            {
                seen.Add(h);
            }
        }

        return seen;
    }
}
