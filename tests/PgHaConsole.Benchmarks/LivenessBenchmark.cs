using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// Push, not only poll (issue 16): the lab reset and set up as a pair, the real <see cref="TopologyMonitor"/> with its
/// live channels and the default 2 s poll, the event timeline recorded by <see cref="LiveEventRecorder"/>. Measures the
/// time from a change made by hand to the first published picture that shows it (the picture
/// <c>GET /api/clusters/{id}/topology</c> answers with): the read VIP added and removed on a node by hand, and
/// <c>kill -9</c> of the primary's postmaster; then six switchovers, and what the event timeline holds for them.
/// Target ≤ 0.5 s. Needs the lab; run it under the lab's lock.
/// </summary>
internal static class LivenessBenchmark
{
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(0.5);
    private const string ReadVip = "198.18.4.252";

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = IntOption(args, "--runs", 5);
        var kills = IntOption(args, "--kills", 3);
        var switchovers = IntOption(args, "--switchovers", 6);
        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var ct = overall.Token;

        Console.WriteLine("liveness: resetting the lab and setting up the pair…");
        await using var harness = await LabPairHarness.CreateAsync(ct, (services, _) =>
        {
            services.AddPgHaConsoleTopology();
            services.AddPgHaConsoleHistory();
        });
        await harness.SetupPairAsync(ct);
        var monitor = harness.Get<TopologyMonitor>();
        var recorder = harness.Get<LiveEventRecorder>();
        var live = harness.Get<LiveChannels>();
        var clusterId = harness.Cluster.Id;
        await recorder.StartAsync(CancellationToken.None);
        await monitor.StartAsync(CancellationToken.None);
        var vipFigures = new List<(TimeSpan Latency, bool Pushed)>();
        var killFigures = new List<(TimeSpan Latency, bool Pushed)>();
        try
        {
            await WaitAsync(monitor, clusterId, t => Healthy(t, "pg1"), TimeSpan.FromSeconds(60), "a healthy picture after setup", ct);
            while (live.Open < 2 || live.Changes < 2)
            {
                await Task.Delay(100, ct);
            }

            Console.WriteLine($"monitor: poll every 2 s, live channels open: {live.Open}; {runs} VIP runs, {kills} kill -9 runs, {switchovers} switchovers");

            // 1. The read VIP added by hand on the node that does not hold it, then removed.
            for (var run = 1; run <= runs; run++)
            {
                var node = monitor.GetLatest(clusterId)!.Nodes.First(n => !n.HoldsReadVip).Name;
                var added = await MeasureAsync(monitor, clusterId, t => Node(t, node).HoldsReadVip,
                    () => harness.ExecAsync(node, ct, "ip", "addr", "add", ReadVip + "/32", "dev", "mgt"), ct);
                await Task.Delay(300, ct);
                var removed = await MeasureAsync(monitor, clusterId, t => !Node(t, node).HoldsReadVip,
                    () => harness.ExecAsync(node, ct, "ip", "addr", "del", ReadVip + "/32", "dev", "mgt"), ct);
                vipFigures.Add(added);
                vipFigures.Add(removed);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"vip run {run} on {node}: added seen after {added.Latency.TotalMilliseconds:0} ms ({Source(added.Pushed)}), removed seen after {removed.Latency.TotalMilliseconds:0} ms ({Source(removed.Pushed)})"));
                await Task.Delay(TimeSpan.FromMilliseconds(700 + Random.Shared.Next(0, 1300)), ct); // not in phase with the poll
            }

            // 2. Six switchovers: what the event timeline holds.
            var from = DateTimeOffset.UtcNow;
            var primary = "pg1";
            var ops = new List<(string To, OperationRecord Op, TimeSpan SeenAfterPromoted)>();
            for (var i = 0; i < switchovers; i++)
            {
                var to = primary == "pg1" ? "pg2" : "pg1";
                var seen = FirstAsync(monitor, clusterId, t => t.WriteVipHolder == to && t.Primary?.Name == to, TimeSpan.FromSeconds(120), ct);
                var op = await harness.RunAsync(SwitchoverOperation.Kind, new SwitchoverParameters { Confirm = harness.Cluster.Name, From = primary, To = to }, ct);
                if (op.Status != OperationStatus.Succeeded)
                {
                    throw new InvalidOperationException($"switchover {primary} → {to} ended {op.Status}: {op.Error}");
                }

                var (at, _) = await seen;
                // The fence puts the write VIP on the standby; the picture shows "primary with the write VIP" once the
                // promotion is done: measured from the end of the promote step.
                var promoteStep = op.Steps.Single(s => s.Name == "promote");
                ops.Add((to, op, at - promoteStep.FinishedAt!.Value));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"switchover {i + 1} {primary} → {to}: {(op.FinishedAt - op.StartedAt)!.Value.TotalSeconds:0.0} s; the new primary with the write VIP seen {(at - promoteStep.FinishedAt!.Value).TotalMilliseconds:0} ms after the promote step ended"));
                primary = to;
            }

            await Task.Delay(2500, ct);
            var events = (await harness.Get<IHistoryStore>().GetEventsAsync(clusterId, from, DateTimeOffset.UtcNow.AddMinutes(1), 2000, ct)).ToList();
            Console.WriteLine("events since the first switchover (role, timeline, write VIP, keepalived):");
            foreach (var e in events.Where(e => e.Kind is HealthEventKinds.RoleChanged or HealthEventKinds.TimelineChanged or HealthEventKinds.WriteVipMoved or HealthEventKinds.KeepalivedChanged))
            {
                Console.WriteLine($"  {DateTimeOffset.FromUnixTimeMilliseconds(e.AtMs):HH:mm:ss.fff} {e.Kind,-18} {e.Message}");
            }

            var promotions = ops.Count(o => events.Any(e => e.Kind == HealthEventKinds.RoleChanged && e.Message == $"{o.To}: standby → primary"
                && e.AtMs >= o.Op.StartedAt!.Value.ToUnixTimeMilliseconds() && e.AtMs <= o.Op.FinishedAt!.Value.ToUnixTimeMilliseconds() + 1000));
            var timelines = ops.Count(o => events.Any(e => e.Kind == HealthEventKinds.TimelineChanged && e.Node == o.To
                && e.AtMs >= o.Op.StartedAt!.Value.ToUnixTimeMilliseconds() && e.AtMs <= o.Op.FinishedAt!.Value.ToUnixTimeMilliseconds() + 1000));
            var vips = ops.Count(o => events.Any(e => e.Kind == HealthEventKinds.WriteVipMoved && e.Message.EndsWith("→ " + o.To, StringComparison.Ordinal)
                && e.AtMs >= o.Op.StartedAt!.Value.ToUnixTimeMilliseconds() && e.AtMs <= o.Op.FinishedAt!.Value.ToUnixTimeMilliseconds() + 1000));
            var errors = ops.Select(o =>
            {
                var promote = o.Op.Steps.Single(s => s.Name == "promote");
                var e = events.FirstOrDefault(e => e.Kind == HealthEventKinds.RoleChanged && e.Message == $"{o.To}: standby → primary"
                    && e.AtMs >= o.Op.StartedAt!.Value.ToUnixTimeMilliseconds());
                return e is null ? (double?)null : (e.AtMs - promote.FinishedAt!.Value.ToUnixTimeMilliseconds()) / 1000.0;
            }).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"timeline: {promotions}/{switchovers} promotions, {timelines}/{switchovers} timeline switches, {vips}/{switchovers} write VIP arrivals recorded in their switchover's window, in time order: {events.Select(e => e.AtMs).SequenceEqual(events.Select(e => e.AtMs).Order())}"));
            Console.WriteLine("promotion event time minus the end of the promote step (s): " + string.Join(", ", errors.Select(e => e?.ToString("0.000", CultureInfo.InvariantCulture) ?? "missing")));

            // 3. kill -9 of the primary's postmaster.
            var pgCtl = harness.Cluster.Postgres.BinDir.TrimEnd('/') + "/pg_ctl";
            var dataDir = harness.Cluster.Postgres.DataDir;
            for (var run = 1; run <= kills; run++)
            {
                var host = monitor.GetLatest(clusterId)!.Primary!.Name;
                var pid = (await harness.ExecAsync(host, ct, "head", "-n", "1", dataDir + "/postmaster.pid")).StandardOutput.Trim();
                var down = await MeasureAsync(monitor, clusterId, t => Node(t, host) is { } n && (n.Role == NodeRole.Down || !n.PgReachable),
                    () => harness.ExecAsync(host, ct, "kill", "-9", pid), ct);
                killFigures.Add(down);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kill run {run}: {host}'s postmaster seen dead after {down.Latency.TotalMilliseconds:0} ms ({Source(down.Pushed)})"));
                for (var attempt = 1; ; attempt++)
                {
                    var start = await harness.ExecAsync(host, ct, "runuser", "-u", "postgres", "--", "bash", "-c",
                        $"'{pgCtl}' -D '{dataDir}' -l /data10/postgresql.log -w start </dev/null >/dev/null 2>&1; echo $?");
                    if (start.StandardOutput.Trim() == "0")
                    {
                        break;
                    }

                    if (attempt >= 15)
                    {
                        throw new InvalidOperationException($"pg_ctl start on {host} failed: {start.StandardOutput.Trim()}");
                    }

                    await Task.Delay(1000, ct);
                }

                await WaitAsync(monitor, clusterId, t => Healthy(t, host), TimeSpan.FromSeconds(60), $"a healthy picture after kill run {run}", ct);
                await Task.Delay(TimeSpan.FromMilliseconds(500 + Random.Shared.Next(0, 1500)), ct);
            }
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
            await recorder.StopAsync(CancellationToken.None);
        }

        Summary("VIP added/removed by hand → picture", vipFigures);
        Summary("kill -9 of the postmaster → picture", killFigures);
        Console.WriteLine($"live channel connections: {live.Connections} (first connections included), change lines: {live.Changes}");
        return 0;
    }

    private static string Source(bool pushed) => pushed ? "live report" : "poll";

    private static void Summary(string what, List<(TimeSpan Latency, bool Pushed)> figures)
    {
        if (figures.Count == 0)
        {
            return;
        }

        var sorted = figures.Select(f => f.Latency.TotalMilliseconds).Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: n={sorted.Length}, median {median:0} ms, max {sorted[^1]:0} ms, {figures.Count(f => f.Pushed)}/{figures.Count} by a live report; target <= {Target.TotalMilliseconds:0} ms: {(sorted[^1] <= Target.TotalMilliseconds ? "met" : "NOT met")} (max)"));
    }

    private static NodeState Node(ClusterTopology t, string name) => t.Nodes.First(n => n.Name == name);

    private static bool Healthy(ClusterTopology t, string primary) =>
        t.Alarms.Count == 0 && t.Primary?.Name == primary && t.WriteVipHolder == primary
        && t.Nodes.Any(n => n.Name != primary && n.Role == NodeRole.Standby && n.WalReceiver?.Status == "streaming");

    /// <summary>
    /// The time starts just before the change's command is issued (so the figure includes starting it, a few ms:
    /// conservative) and stops at the first published picture that shows the change.
    /// </summary>
    private static async Task<(TimeSpan Latency, bool Pushed)> MeasureAsync(
        TopologyMonitor monitor, Guid clusterId, Func<ClusterTopology, bool> shows, Func<Task<PgHaConsole.Lab.CommandResult>> change, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var seen = FirstAsync(monitor, clusterId, shows, TimeSpan.FromSeconds(30), ct);
        var result = await change();
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("the change failed: " + result.StandardError);
        }

        var (at, picture) = await seen;
        return (at - started, picture.TriggeredAt is { } t && t >= started);
    }

    private static async Task<(DateTimeOffset At, ClusterTopology Picture)> FirstAsync(
        ITopologyMonitor monitor, Guid clusterId, Func<ClusterTopology, bool> match, TimeSpan within, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(within);
        await Task.Yield();
        var skipFirst = true;
        await foreach (var t in monitor.WatchAsync(clusterId, cts.Token))
        {
            // The first item is the picture already there before the change.
            if (skipFirst)
            {
                skipFirst = false;
                continue;
            }

            if (match(t))
            {
                return (DateTimeOffset.UtcNow, t);
            }
        }

        throw new TimeoutException("the change was not seen");
    }

    private static async Task WaitAsync(ITopologyMonitor monitor, Guid clusterId, Func<ClusterTopology, bool> match, TimeSpan within, string what, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(within);
        ClusterTopology? last = null;
        try
        {
            await foreach (var t in monitor.WatchAsync(clusterId, cts.Token))
            {
                last = t;
                if (match(t))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }

        var detail = last is null ? "no picture" : string.Join("; ", last.Nodes.Select(n => $"{n.Name} {n.Role} ka={n.Keepalived?.State} receiver={n.WalReceiver?.Status}"))
            + $"; write VIP {last.WriteVipHolder ?? "nobody"}; alarms [{string.Join(", ", last.Alarms.Select(a => a.Key))}]";
        throw new TimeoutException($"No {what} within {within.TotalSeconds:0} s: {detail}");
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }
}
