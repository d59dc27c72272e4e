namespace PgHaConsole.Core.History;

/// <summary>Downsampling: raw samples into minute buckets, minute buckets into hour buckets. Pure; known-answer tested.</summary>
public static class Rollups
{
    public const int Minute = 60;
    public const int Hour = 3600;

    /// <summary>Start of the bucket of <paramref name="atMs"/> (floor; works for times before 1970 too).</summary>
    public static long BucketOf(long atMs, int resolutionSeconds)
    {
        var size = resolutionSeconds * 1000L;
        return (long)Math.Floor((double)atMs / size) * size;
    }

    /// <summary>Aggregates raw samples into buckets of <paramref name="resolutionSeconds"/>, one rollup per (cluster, node, bucket).</summary>
    public static IReadOnlyList<HealthRollup> FromSamples(IEnumerable<HealthSample> samples, int resolutionSeconds)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(resolutionSeconds, 1);
        return samples
            .GroupBy(s => (s.ClusterId, s.Node, Bucket: BucketOf(s.AtMs, resolutionSeconds)))
            .OrderBy(g => g.Key.Bucket).ThenBy(g => g.Key.Node, StringComparer.Ordinal)
            .Select(g =>
            {
                var lagBytes = g.Where(s => s.LagBytes is not null).Select(s => s.LagBytes!.Value).ToList();
                var lagSeconds = g.Where(s => s.LagSeconds is not null).Select(s => s.LagSeconds!.Value).ToList();
                var connections = g.Where(s => s.Connections is not null).Select(s => s.Connections!.Value).ToList();
                return new HealthRollup
                {
                    ClusterId = g.Key.ClusterId,
                    Node = g.Key.Node,
                    ResolutionSeconds = resolutionSeconds,
                    BucketMs = g.Key.Bucket,
                    Samples = g.Count(),
                    UpSamples = g.Count(s => s.Available),
                    PrimarySamples = g.Count(s => s.Role == Topology.NodeRole.Primary),
                    LagBytesN = lagBytes.Count,
                    LagBytesAvg = lagBytes.Count == 0 ? null : lagBytes.Average(v => (double)v),
                    LagBytesMax = lagBytes.Count == 0 ? null : lagBytes.Max(),
                    LagSecondsN = lagSeconds.Count,
                    LagSecondsAvg = lagSeconds.Count == 0 ? null : lagSeconds.Average(),
                    LagSecondsMax = lagSeconds.Count == 0 ? null : lagSeconds.Max(),
                    ConnectionsN = connections.Count,
                    ConnectionsAvg = connections.Count == 0 ? null : connections.Average(v => (double)v),
                    ConnectionsMax = connections.Count == 0 ? null : connections.Max(),
                };
            })
            .ToList();
    }

    /// <summary>
    /// Merges finer rollups into coarser buckets (minutes into hours): counts add up, maxima take the max, averages are
    /// weighted by how many samples had the value, so the result equals rolling the raw samples up directly.
    /// </summary>
    public static IReadOnlyList<HealthRollup> FromRollups(IEnumerable<HealthRollup> rollups, int resolutionSeconds)
    {
        ArgumentNullException.ThrowIfNull(rollups);
        return rollups
            .GroupBy(r => (r.ClusterId, r.Node, Bucket: BucketOf(r.BucketMs, resolutionSeconds)))
            .OrderBy(g => g.Key.Bucket).ThenBy(g => g.Key.Node, StringComparer.Ordinal)
            .Select(g => new HealthRollup
            {
                ClusterId = g.Key.ClusterId,
                Node = g.Key.Node,
                ResolutionSeconds = resolutionSeconds,
                BucketMs = g.Key.Bucket,
                Samples = g.Sum(r => r.Samples),
                UpSamples = g.Sum(r => r.UpSamples),
                PrimarySamples = g.Sum(r => r.PrimarySamples),
                LagBytesN = g.Sum(r => r.LagBytesN),
                LagBytesAvg = WeightedAverage(g, r => r.LagBytesAvg, r => r.LagBytesN),
                LagBytesMax = g.Max(r => r.LagBytesMax),
                LagSecondsN = g.Sum(r => r.LagSecondsN),
                LagSecondsAvg = WeightedAverage(g, r => r.LagSecondsAvg, r => r.LagSecondsN),
                LagSecondsMax = g.Max(r => r.LagSecondsMax),
                ConnectionsN = g.Sum(r => r.ConnectionsN),
                ConnectionsAvg = WeightedAverage(g, r => r.ConnectionsAvg, r => r.ConnectionsN),
                ConnectionsMax = g.Max(r => r.ConnectionsMax),
            })
            .ToList();
    }

    private static double? WeightedAverage(IEnumerable<HealthRollup> rollups, Func<HealthRollup, double?> avg, Func<HealthRollup, int> n)
    {
        double sum = 0;
        long count = 0;
        foreach (var r in rollups)
        {
            if (avg(r) is { } a && n(r) > 0)
            {
                sum += a * n(r);
                count += n(r);
            }
        }

        return count == 0 ? null : sum / count;
    }

    /// <summary>
    /// The finest resolution whose points per series over the range stay within <paramref name="maxPoints"/>:
    /// 0 means raw samples at <paramref name="sampleInterval"/>; else 60 or 3600.
    /// </summary>
    public static int ChooseResolution(TimeSpan range, TimeSpan sampleInterval, int maxPoints = 1500)
    {
        if (range <= TimeSpan.Zero || range.TotalSeconds / Math.Max(1, sampleInterval.TotalSeconds) <= maxPoints)
        {
            return 0;
        }

        return range.TotalSeconds / Minute <= maxPoints ? Minute : Hour;
    }
}
