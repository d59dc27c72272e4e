using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// How long the console takes to see a crashed primary: the lab reset and set up as a pair, the real
/// <see cref="TopologyMonitor"/> polling every second, then <c>kill -9</c> of pg1's postmaster; the time from the kill
/// to the first published picture with pg1 down (role Down or PostgreSQL unreachable). Repeated with a restart of
/// PostgreSQL on pg1 and a healthy picture in between. Target: at most 2 s. Needs the lab; run it under the lab's lock.
/// </summary>
internal static class FailoverDetectBenchmark
{
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(2);

    private static bool Verbose { get; set; }

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = IntOption(args, "--runs", 5);
        Verbose = args.Contains("--verbose", StringComparer.Ordinal);
        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var ct = overall.Token;

        Console.WriteLine("failover-detect: resetting the lab and setting up the pair…");
        await using var harness = await LabPairHarness.CreateAsync(ct);
        var setupWatch = Stopwatch.StartNew();
        await harness.SetupPairAsync(ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pair set up in {setupWatch.Elapsed.TotalSeconds:0.0} s"));

        var options = Options.Create(new TopologyOptions { PollInterval = TimeSpan.FromSeconds(1) });
        await using var pool = new SshSessionPool(NullLoggerFactory.Instance, TimeProvider.System);
        await using var prober = new NodeProber(pool, options);
        using var monitor = new TopologyMonitor(harness.Get<IClusterRepository>(), prober, options, TimeProvider.System);
        var clusterId = harness.Cluster.Id;
        var pgCtl = harness.Cluster.Postgres.BinDir.TrimEnd('/') + "/pg_ctl";
        var dataDir = harness.Cluster.Postgres.DataDir;

        await monitor.StartAsync(CancellationToken.None);
        var results = new List<TimeSpan>();
        try
        {
            await WaitAsync(monitor, clusterId, Healthy, TimeSpan.FromSeconds(60), "a healthy picture after setup", ct);
            Console.WriteLine($"monitor polling every {options.Value.PollInterval.TotalSeconds:0.#} s (probe timeout {options.Value.ProbeTimeout.TotalSeconds:0.#} s); {runs} runs");

            for (var run = 1; run <= runs; run++)
            {
                var pid = (await harness.ExecAsync("pg1", ct, "head", "-n", "1", dataDir + "/postmaster.pid")).StandardOutput.Trim();
                if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    throw new InvalidOperationException($"No postmaster pid on pg1: '{pid}'");
                }

                // Watch before the kill so that no picture is missed; the clock starts just before the kill is issued
                // (so the figure includes starting the kill command, a few ms: conservative).
                using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                watchCts.CancelAfter(TimeSpan.FromSeconds(30));
                var clock = Stopwatch.StartNew();
                var seen = FirstAsync(monitor, clusterId, t => Pg1(t) is { } n && (n.Role == NodeRole.Down || !n.PgReachable), clock, watchCts.Token);
                var killStarted = clock.Elapsed;
                var kill = await harness.ExecAsync("pg1", ct, "kill", "-9", pid);
                var killDone = clock.Elapsed;
                if (kill.ExitCode != 0)
                {
                    throw new InvalidOperationException($"kill -9 {pid} on pg1 failed: {kill.StandardError}");
                }

                var (at, picture) = await seen;
                var detect = at - killStarted;
                results.Add(detect);
                var pg1 = Pg1(picture)!;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {run}: pg1 seen down after {detect.TotalSeconds:0.000} s (kill command took {(killDone - killStarted).TotalMilliseconds:0} ms); role {pg1.Role}, alarms [{string.Join(", ", picture.Alarms.Select(a => a.Key))}]; {pg1.Errors.FirstOrDefault()}"));

                // Restore: PostgreSQL on pg1 again (crash recovery), pg2 streaming again, VIPs back on pg1.
                // The killed postmaster's backends take a moment to notice and exit; until then the shared memory
                // block is in use and pg_ctl start fails: retry for a while.
                for (var attempt = 1; ; attempt++)
                {
                    var start = await harness.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "bash", "-c",
                        $"'{pgCtl}' -D '{dataDir}' -l /data10/postgresql.log -w start </dev/null >/dev/null 2>&1; echo $?");
                    if (start.StandardOutput.Trim() == "0")
                    {
                        break;
                    }

                    if (attempt >= 15)
                    {
                        var tail = await harness.ExecAsync("pg1", ct, "tail", "-n", "5", "/data10/postgresql.log");
                        throw new InvalidOperationException($"pg_ctl start on pg1 answered {start.StandardOutput.Trim()} {start.StandardError.Trim()}; log: {tail.StandardOutput}");
                    }

                    await Task.Delay(1000, ct);
                }

                var back = Stopwatch.StartNew();
                await WaitAsync(monitor, clusterId, Healthy, TimeSpan.FromSeconds(60), $"a healthy picture after run {run}", ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"       healthy again {back.Elapsed.TotalSeconds:0.0} s after pg_ctl start returned"));
            }
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
        }

        var sorted = results.OrderBy(r => r).ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var max = sorted[^1];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"detection times (s): {string.Join(", ", results.Select(r => r.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)))}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median {median.TotalSeconds:0.000} s, max {max.TotalSeconds:0.000} s; target <= {Target.TotalSeconds:0} s: {(max <= Target ? "met" : "NOT met")} (max), {(median <= Target ? "met" : "NOT met")} (median)"));
        return 0;
    }

    private static NodeState? Pg1(ClusterTopology t) => t.Nodes.FirstOrDefault(n => n.Name == "pg1");

    private static bool Healthy(ClusterTopology t) =>
        t.Alarms.Count == 0
        && Pg1(t)?.Role == NodeRole.Primary
        && t.Nodes.Any(n => n.Name == "pg2" && n.Role == NodeRole.Standby && n.WalReceiver?.Status == "streaming")
        && t.WriteVipHolder == "pg1";

    private static async Task<(TimeSpan At, ClusterTopology Picture)> FirstAsync(
        ITopologyMonitor monitor, Guid clusterId, Func<ClusterTopology, bool> match, Stopwatch clock, CancellationToken ct)
    {
        var trace = new List<string>();
        await foreach (var t in monitor.WatchAsync(clusterId, ct))
        {
            var why = Pg1(t) is { Role: NodeRole.Unknown, Errors.Count: > 0 } u ? $" ({u.Errors[0]})" : string.Empty;
            trace.Add(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds:0.000}:{Pg1(t)?.Role}{why}"));
            if (match(t))
            {
                if (Verbose)
                {
                    Console.WriteLine("       pictures (s since the clock started: pg1 role): " + string.Join(" ", trace));
                }

                return (clock.Elapsed, t);
            }
        }

        throw new OperationCanceledException(ct);
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
