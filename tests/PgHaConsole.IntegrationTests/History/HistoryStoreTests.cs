using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.IntegrationTests.Store;

namespace PgHaConsole.IntegrationTests.History;

/// <summary>The history tables, rollups, retention and the recorder, on SQLite and on PostgreSQL, with known answers.</summary>
public abstract class HistoryStoreTests(IStoreHarness harness) : StoreTestBase(harness)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly Guid _cluster = Guid.NewGuid();

    private HistoryStore Store => new(Get<IStoreConnectionFactory>());

    private HealthSample Sample(DateTimeOffset at, string node, bool up = true, long? lag = null, double? lagS = null, int? conn = null) => new()
    {
        ClusterId = _cluster,
        Node = node,
        AtMs = at.ToUnixTimeMilliseconds(),
        Reachable = up,
        PgUp = up,
        Role = node == "pg1" ? NodeRole.Primary : NodeRole.Standby,
        Timeline = 3,
        LagBytes = lag,
        LagSeconds = lagS,
        Connections = conn,
        MaxConnections = 100,
        HoldsWriteVip = node == "pg1",
        VrrpState = "Master",
        SlotRetainedBytes = node == "pg1" ? 16_777_216 : null,
    };

    [Fact]
    public async Task Samples_round_trip_and_a_second_write_of_the_same_instant_is_ignored()
    {
        var s = Sample(T0, "pg2", lag: 123_456_789_012, lagS: 1.25, conn: 9);
        await Store.InsertSamplesAsync([s, Sample(T0, "pg1", conn: 4)], Ct);
        await Store.InsertSamplesAsync([s with { LagBytes = 1 }], Ct);

        var read = await Store.GetSamplesAsync(_cluster, T0, T0.AddMinutes(1), Ct);

        Assert.Equal(2, read.Count);
        Assert.Equal(s, read.Single(r => r.Node == "pg2"));
        Assert.Equal(16_777_216, read.Single(r => r.Node == "pg1").SlotRetainedBytes);
    }

    [Fact]
    public async Task Rollups_of_synthetic_data_have_known_values_and_graph_reads_the_right_level()
    {
        // Two hours of pg2 samples every 15 s: lag = minute index × 100 (same for the 4 samples of a minute),
        // down for the first sample of every minute; pg1 always up with 10 connections.
        var samples = new List<HealthSample>();
        for (var i = 0; i < 480; i++)
        {
            var at = T0.AddSeconds(i * 15);
            var minute = i / 4;
            samples.Add(Sample(at, "pg2", up: i % 4 != 0, lag: i % 4 == 0 ? null : minute * 100L, lagS: i % 4 == 0 ? null : minute, conn: 2));
            samples.Add(Sample(at, "pg1", conn: 10));
        }

        await Store.InsertSamplesAsync(samples, Ct);
        var written = await Store.RollupAsync(T0.AddHours(2).AddSeconds(5), Ct);
        Assert.Equal((120 * 2) + (2 * 2), written);

        var minutes = await Store.GetRollupsAsync(_cluster, 60, T0, T0.AddHours(2), Ct);
        Assert.Equal(240, minutes.Count);
        var m7 = minutes.Single(r => r.Node == "pg2" && r.BucketMs == T0.AddMinutes(7).ToUnixTimeMilliseconds());
        Assert.Equal((4, 3, 700.0, 700L, 7.0), (m7.Samples, m7.UpSamples, m7.LagBytesAvg!.Value, m7.LagBytesMax!.Value, m7.LagSecondsAvg!.Value));
        Assert.Equal(0.75, m7.Availability);

        var hours = await Store.GetRollupsAsync(_cluster, 3600, T0, T0.AddHours(2), Ct);
        Assert.Equal(4, hours.Count);
        var h1 = hours.Single(r => r.Node == "pg2" && r.BucketMs == T0.AddHours(1).ToUnixTimeMilliseconds());
        // Minutes 60..119: average 89.5 → 8950 bytes, max 11900; 180 of 240 samples up.
        Assert.Equal(240, h1.Samples);
        Assert.Equal(180, h1.UpSamples);
        Assert.Equal(8950, h1.LagBytesAvg!.Value, 6);
        Assert.Equal(11_900, h1.LagBytesMax);
        Assert.Equal(10, hours.Single(r => r.Node == "pg1" && r.BucketMs == T0.ToUnixTimeMilliseconds()).ConnectionsAvg);

        // Running again changes nothing (idempotent upsert of the last bucket).
        await Store.RollupAsync(T0.AddHours(2).AddSeconds(5), Ct);
        Assert.Equal(240, (await Store.GetRollupsAsync(_cluster, 60, T0, T0.AddHours(2), Ct)).Count);

        // 1 hour → raw samples; 24 h → minute rollups; 30 days → hour rollups.
        var raw = await Store.QueryGraphAsync(_cluster, T0.AddHours(1), T0.AddHours(2), Ct);
        Assert.Equal((0, 480), (raw.ResolutionSeconds, raw.Points.Count));
        var day = await Store.QueryGraphAsync(_cluster, T0.AddHours(-22), T0.AddHours(2), Ct);
        Assert.Equal((60, 240), (day.ResolutionSeconds, day.Points.Count));
        Assert.Equal(0.75, day.Points.First(p => p.Node == "pg2").Availability);
        var month = await Store.QueryGraphAsync(_cluster, T0.AddDays(-30).AddHours(2), T0.AddHours(2), Ct);
        Assert.Equal((3600, 4), (month.ResolutionSeconds, month.Points.Count));
        Assert.Equal(8950, month.Points.Single(p => p.Node == "pg2" && p.AtMs == T0.AddHours(1).ToUnixTimeMilliseconds()).LagBytes!.Value, 6);
    }

    [Fact]
    public async Task Graph_fills_the_not_yet_rolled_up_tail_from_the_finer_level()
    {
        await Store.InsertSamplesAsync(Enumerable.Range(0, 8).Select(i => Sample(T0.AddSeconds(i * 15), "pg2", lag: 100 * (i + 1))).ToList(), Ct);

        // No maintenance run yet: the 24-hour graph still shows the two minutes.
        var day = await Store.QueryGraphAsync(_cluster, T0.AddHours(-23), T0.AddHours(1), Ct);

        Assert.Equal(60, day.ResolutionSeconds);
        Assert.Equal([250.0, 650.0], day.Points.Select(p => p.LagBytes!.Value));
    }

    [Fact]
    public async Task Retention_keeps_48_hours_raw_30_days_of_minutes_a_year_of_hours()
    {
        var now = T0.AddDays(400);
        await Store.InsertSamplesAsync([Sample(now.AddHours(-49), "pg1"), Sample(now.AddHours(-47), "pg1")], Ct);
        await Store.UpsertRollupsAsync(
        [
            new HealthRollup { ClusterId = _cluster, Node = "pg1", ResolutionSeconds = 60, BucketMs = now.AddDays(-31).ToUnixTimeMilliseconds(), Samples = 4 },
            new HealthRollup { ClusterId = _cluster, Node = "pg1", ResolutionSeconds = 60, BucketMs = now.AddDays(-29).ToUnixTimeMilliseconds(), Samples = 4 },
            new HealthRollup { ClusterId = _cluster, Node = "pg1", ResolutionSeconds = 3600, BucketMs = now.AddDays(-366).ToUnixTimeMilliseconds(), Samples = 240 },
            new HealthRollup { ClusterId = _cluster, Node = "pg1", ResolutionSeconds = 3600, BucketMs = now.AddDays(-364).ToUnixTimeMilliseconds(), Samples = 240 },
        ], Ct);
        await Store.InsertEventsAsync(
        [
            new HealthEvent { ClusterId = _cluster, AtMs = now.AddDays(-366).ToUnixTimeMilliseconds(), Kind = "role-changed", Message = "old" },
            new HealthEvent { ClusterId = _cluster, AtMs = now.AddDays(-1).ToUnixTimeMilliseconds(), Kind = "role-changed", Message = "new" },
        ], Ct);

        var removed = await Store.EnforceRetentionAsync(now, new HistoryOptions(), Ct);

        Assert.Equal(new RetentionResult(1, 1, 1, 1), removed);
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM health_sample"));
        Assert.Equal(2, await ScalarAsync("SELECT COUNT(*) FROM health_rollup"));
        Assert.Equal("new", Assert.Single(await Store.GetEventsAsync(_cluster, now.AddDays(-400), now, 100, Ct)).Message);
    }

    [Fact]
    public async Task Recorder_records_samples_on_the_grid_events_and_each_operation_once()
    {
        var cluster = (await Get<IClusterRepository>().AddAsync(NewCluster(), NewClusterSecrets(), new Dictionary<Guid, PgHaConsole.Core.Model.NodeSecrets>(), Ct)).Spec;
        var journal = new OperationJournal(Get<IStoreConnectionFactory>(), Time);
        var monitor = new FakeTopologyMonitor();
        var recorder = new HealthRecorder(monitor, Store, new StaticOptions<HistoryOptions>(new HistoryOptions()), journal);
        var live = new LiveEventRecorder(monitor, Store);

        // Grid: 12:00:03.5 is recorded at 12:00:00.
        var now = T0.AddSeconds(3.5);
        monitor.Set(TestPictures.Healthy(cluster.Id, now.AddSeconds(-1)));
        Assert.Equal(0, await live.ObserveAsync(monitor.GetLatest(cluster.Id)!, Ct));
        var first = await recorder.RecordAsync(now, Ct);
        Assert.Equal((T0.ToUnixTimeMilliseconds(), 2, 0), (first.AtMs, first.Samples, first.Events));

        // A switchover: pg2 becomes primary; an operation ran and succeeded.
        Time.SetUtcNow(T0.AddSeconds(5));
        var op = await journal.CreateAsync(cluster.Id, "switchover", ["promote"], "alice", null, Ct);
        await journal.SetOperationStatusAsync(op.Id, OperationStatus.Running, null, Ct);
        Time.SetUtcNow(T0.AddSeconds(9));
        await journal.SetOperationStatusAsync(op.Id, OperationStatus.Succeeded, null, Ct);
        // The live picture that shows the switchover, probed because a host reported it at 12:00:08.2.
        monitor.Set(TestPictures.Healthy(cluster.Id, T0.AddSeconds(8.4), primary: "pg2") with { TriggeredAt = T0.AddSeconds(8.2) });
        Assert.Equal(4, await live.ObserveAsync(monitor.GetLatest(cluster.Id)!, Ct));
        Assert.Equal(0, await live.ObserveAsync(monitor.GetLatest(cluster.Id)!, Ct));
        var second = await recorder.RecordAsync(T0.AddSeconds(16), Ct);
        Assert.Equal(T0.AddSeconds(15).ToUnixTimeMilliseconds(), second.AtMs);

        // Same picture again 15 s later: samples, but no new events and the operation is not recorded twice.
        var third = await recorder.RecordAsync(T0.AddSeconds(31), Ct);
        Assert.Equal((2, 0), (third.Samples, third.Events));

        var events = await Store.GetEventsAsync(cluster.Id, T0, T0.AddMinutes(1), 100, Ct);
        Assert.Equal(2, events.Count(e => e.Kind == HealthEventKinds.RoleChanged));
        Assert.Single(events, e => e.Kind == HealthEventKinds.WriteVipMoved);
        // Dated by the live report, not by the snapshot that followed.
        Assert.All(events.Where(e => e.Kind is HealthEventKinds.RoleChanged or HealthEventKinds.WriteVipMoved),
            e => Assert.Equal(T0.AddSeconds(8.2).ToUnixTimeMilliseconds(), e.AtMs));
        var started = Assert.Single(events, e => e.Kind == HealthEventKinds.OperationStarted);
        var finished = Assert.Single(events, e => e.Kind == HealthEventKinds.OperationFinished);
        Assert.Equal((op.Id, op.Id), (started.OperationId, finished.OperationId));
        Assert.Equal("Operation switchover succeeded", finished.Message);
        Assert.Equal(T0.AddSeconds(9).ToUnixTimeMilliseconds(), finished.AtMs);
        // Oldest first.
        Assert.True(events.Select(e => e.AtMs).SequenceEqual(events.Select(e => e.AtMs).Order()));

        var samples = await Store.GetSamplesAsync(cluster.Id, T0, T0.AddMinutes(1), Ct);
        Assert.Equal([0L, 0L, 15_000L, 15_000L, 30_000L, 30_000L], samples.Select(s => s.AtMs - T0.ToUnixTimeMilliseconds()));
        Assert.Equal(NodeRole.Primary, samples.Single(s => s.AtMs == T0.AddSeconds(30).ToUnixTimeMilliseconds() && s.Node == "pg2").Role);
    }

    [Fact]
    public async Task Recorder_skips_a_stale_picture()
    {
        var monitor = new FakeTopologyMonitor();
        monitor.Set(TestPictures.Healthy(_cluster, T0));
        var recorder = new HealthRecorder(monitor, Store, new StaticOptions<HistoryOptions>(new HistoryOptions()));

        var result = await recorder.RecordAsync(T0.AddMinutes(5), Ct);

        Assert.Equal((0, 1), (result.Samples, result.StaleClusters));
    }
}

internal sealed class StaticOptions<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

public sealed class HistoryStoreSqliteTests() : HistoryStoreTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class HistoryStorePostgresTests(StorePostgresFixture server) : HistoryStoreTests(new PostgresStoreHarness(server));
