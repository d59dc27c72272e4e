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
