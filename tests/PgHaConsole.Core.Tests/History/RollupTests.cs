using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.History;

public sealed class RollupTests
{
    private static readonly long M0 = Pictures.T0.ToUnixTimeMilliseconds();

    private static HealthSample S(long atMs, string node = "pg2", bool up = true, long? lagBytes = null, double? lagSeconds = null, int? connections = null, NodeRole role = NodeRole.Standby) => new()
    {
        ClusterId = Pictures.ClusterId,
        Node = node,
        AtMs = atMs,
        Reachable = up,
        PgUp = up,
        Role = role,
        LagBytes = lagBytes,
        LagSeconds = lagSeconds,
        Connections = connections,
    };

    [Fact]
    public void Four_samples_of_a_minute_give_known_averages_maxima_and_availability()
    {
        var samples = new[]
        {
            S(M0, lagBytes: 100, lagSeconds: 1, connections: 4),
            S(M0 + 15_000, lagBytes: 300, lagSeconds: 3, connections: 6),
            S(M0 + 30_000, up: false),
            S(M0 + 45_000, lagBytes: 200, lagSeconds: 2, connections: 5),
            // Next minute.
            S(M0 + 60_000, lagBytes: 1000, connections: 1),
        };

        var rollups = Rollups.FromSamples(samples, Rollups.Minute);

        Assert.Equal(2, rollups.Count);
        var first = rollups[0];
        Assert.Equal(M0, first.BucketMs);
        Assert.Equal(4, first.Samples);
        Assert.Equal(3, first.UpSamples);
        Assert.Equal(0.75, first.Availability);
        Assert.Equal(3, first.LagBytesN);
        Assert.Equal(200, first.LagBytesAvg);
        Assert.Equal(300, first.LagBytesMax);
        Assert.Equal(2, first.LagSecondsAvg);
        Assert.Equal(3, first.LagSecondsMax);
        Assert.Equal(5, first.ConnectionsAvg);
        Assert.Equal(6, first.ConnectionsMax);
        Assert.Equal(M0 + 60_000, rollups[1].BucketMs);
        Assert.Null(rollups[1].LagSecondsAvg);
        Assert.Equal(1, rollups[1].Availability);
    }

    [Fact]
    public void Nodes_are_rolled_up_separately_and_primary_samples_counted()
    {
        var rollups = Rollups.FromSamples(
            [S(M0, "pg1", role: NodeRole.Primary), S(M0 + 15_000, "pg1", role: NodeRole.Primary), S(M0, "pg2"), S(M0 + 15_000, "pg2", role: NodeRole.Primary)],
            Rollups.Minute);

        Assert.Equal(["pg1", "pg2"], rollups.Select(r => r.Node));
        Assert.Equal(2, rollups[0].PrimarySamples);
        Assert.Equal(1, rollups[1].PrimarySamples);
    }

    [Fact]
    public void Hour_from_minutes_equals_hour_from_raw_samples()
    {
        // An hour of 15 s samples with a known pattern: lag = index, down every 10th sample, connections on even ones only.
        var samples = Enumerable.Range(0, 240).Select(i => S(M0 + (i * 15_000L),
            up: i % 10 != 0,
            lagBytes: i % 10 == 0 ? null : i,
            lagSeconds: i % 10 == 0 ? null : i / 10.0,
            connections: i % 2 == 0 ? i : null)).ToList();

        var direct = Rollups.FromSamples(samples, Rollups.Hour).Single();
        var viaMinutes = Rollups.FromRollups(Rollups.FromSamples(samples, Rollups.Minute), Rollups.Hour).Single();

        Assert.Equal(240, direct.Samples);
        Assert.Equal(216, direct.UpSamples);
        Assert.Equal(0.9, direct.Availability, 10);
        // Mean of 0..239 without multiples of 10: (28680 - 2760) / 216 = 120.
        Assert.Equal(120, direct.LagBytesAvg!.Value, 9);
        Assert.Equal(239, direct.LagBytesMax);
        Assert.Equal(119, direct.ConnectionsAvg!.Value, 9);
        Assert.Equal((direct.Samples, direct.UpSamples, direct.LagBytesN, direct.LagBytesMax, direct.LagSecondsMax, direct.ConnectionsN, direct.ConnectionsMax),
            (viaMinutes.Samples, viaMinutes.UpSamples, viaMinutes.LagBytesN, viaMinutes.LagBytesMax, viaMinutes.LagSecondsMax, viaMinutes.ConnectionsN, viaMinutes.ConnectionsMax));
        Assert.Equal(direct.LagBytesAvg!.Value, viaMinutes.LagBytesAvg!.Value, 9);
        Assert.Equal(direct.LagSecondsAvg!.Value, viaMinutes.LagSecondsAvg!.Value, 9);
        Assert.Equal(direct.ConnectionsAvg!.Value, viaMinutes.ConnectionsAvg!.Value, 9);
        Assert.Equal(Rollups.Hour, viaMinutes.ResolutionSeconds);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(6, 0)]
    [InlineData(24, Rollups.Minute)]
    [InlineData(24 * 7, Rollups.Hour)]
    [InlineData(24 * 30, Rollups.Hour)]
    public void Resolution_keeps_a_series_under_1500_points(int hours, int expected) =>
        Assert.Equal(expected, Rollups.ChooseResolution(TimeSpan.FromHours(hours), TimeSpan.FromSeconds(15)));

    [Fact]
    public void Buckets_floor_to_the_resolution() =>
        Assert.Equal(M0 + 60_000, Rollups.BucketOf(M0 + 119_999, Rollups.Minute));
}
