using PgHaConsole.Benchmarks;

// A small dispatcher: `dotnet run --project tests/PgHaConsole.Benchmarks -- <name> [options]`.
var benchmarks = new Dictionary<string, (string Description, Func<string[], Task<int>> Run)>(StringComparer.OrdinalIgnoreCase)
{
    ["topology-poll"] = ("poll N logical clusters every 2 s for S seconds; print CPU share and memory [--clusters 50] [--seconds 60] [--unreachable]", TopologyPollBenchmark.RunAsync),
    ["switchover"] = ("in the lab: PgHaConsole switchover vs repmgr under a 10 ms writer (total, longest write gap, acknowledged rows lost), then N back and forth [--runs 20] [--skip-repmgr]; run under flock -o /tmp/pgha-lab2.lock", SwitchoverBenchmark.RunAsync),
    ["failover-detect"] = ("in the lab: kill -9 the primary's postmaster, time until the topology monitor (1 s polling) shows it down; 5 runs, median/max vs 2 s [--runs 5] [--verbose]; run under flock -o /tmp/pgha-lab2.lock", FailoverDetectBenchmark.RunAsync),
    ["liveness"] = ("in the lab: change → topology picture with the live channels and the 2 s poll: the read VIP added/removed by hand, kill -9 of the primary's postmaster (target <= 0.5 s), and the event timeline of six switchovers [--runs 5] [--kills 3] [--switchovers 6]; run under the lab lock", LivenessBenchmark.RunAsync),
    ["failover"] = ("in the lab: automatic failover under a 10 ms writer and a reader through the VIPs: kill -9 (async, sync), isolated+heal, host lost; writes/reads back, rows lost, two writable primaries, end state [--after 3]; run under the lab lock", FailoverBenchmark.RunAsync),
    ["patroni-failover"] = ("in the lab: the failover scenarios against Patroni 3.0.2 + etcd (witness host 198.18.4.249) + vip-manager + keepalived/HAProxy, with Patroni's default timings, tuned (ttl 5) and at current Patroni's documented minimums (ttl 20); needs Debian's patroni, etcd-server, vip-manager [--timings defaults|tuned|minimums|all] [--only 1,2]; run under the lab lock", PatroniFailoverBenchmark.RunAsync),
    ["chaos"] = ("in the lab: issue #13's chaos suite (the lab tests' scenarios): one single failure each under a writer and a reader through the VIPs; reads/writes back, rows lost, topology, end state after the console's recovery; run under the lab lock", ChaosBenchmark.RunAsync),
    ["oplog-live"] = ("no lab: a 5,000-line operation log streamed to the operation page in a browser while a dotnet build loads the machine; journaled → rendered delay p50/p95/max (target p95 <= 1 s) [--lines 5000] [--batch 5] [--every-ms 20] [--no-load]", OperationLogLiveBenchmark.RunAsync),
    ["live-page"] = ("in the lab: the real console and the topology page in a browser; the read VIP added/removed by hand, kill -9 of the primary's postmaster → first API answer and first browser render showing it (target <= 0.5 s) [--runs 5]; resets the lab: run under the lab lock", LivePageBenchmark.RunAsync),
    ["history-query"] = ("30 days of history for 2 nodes at 15 s: 30-day and 1-hour graph queries on SQLite and PostgreSQL (median, p95), store growth", HistoryQueryBenchmark.RunAsync),
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var benchmark))
{
    if (args.Length > 0)
    {
        Console.Error.WriteLine($"Unknown benchmark '{args[0]}'.");
    }

    Console.WriteLine("Available benchmarks:");
    foreach (var (name, (description, _)) in benchmarks.OrderBy(b => b.Key, StringComparer.Ordinal))
    {
        Console.WriteLine($"  {name,-18} {description}");
    }

    return args.Length == 0 ? 0 : 2;
}

return await benchmark.Run(args[1..]);
