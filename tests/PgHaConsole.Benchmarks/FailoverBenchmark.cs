using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Infrastructure;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// The pair losing its primary, with automatic failover (the console as the witness, default poll 2 s, afterSeconds 3):
/// a writer inserting through the write VIP every 10 ms (fresh connection per insert) and a reader through the read VIP,
/// for <c>kill -9</c> of the primary's postmaster (asynchronous and synchronous), the primary isolated (its link down)
/// and healed, and the primary host lost (every process of that lab host killed, its link down). Prints, per scenario:
/// seconds until writes and reads succeed again, acknowledged rows lost, whether two nodes accepted writes through the
/// write VIP at once, and the end state after the rejoin. Needs the lab; run it under the lab's lock.
/// </summary>
internal static class FailoverBenchmark
{
    private sealed record Scenario(string Name, bool Synchronous, Func<LabPairHarness, string, CancellationToken, Task> Fault, Func<LabPairHarness, string, CancellationToken, Task>? Heal, bool Rejoin);

    private sealed record Row(string Scenario, double? WritesBack, double? ReadsBack, int Acked, int Lost, bool TwoWritable, string EndState, string? Note);

    public static async Task<int> RunAsync(string[] args)
    {
        var afterSeconds = IntOption(args, "--after", FailoverPolicy.Default.AfterSeconds);
        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(25));
        var ct = overall.Token;
        Console.WriteLine("failover: resetting the lab and setting up the pair…");
        var jobs = new ConcurrentBag<Task>();
        await using var harness = await LabPairHarness.CreateAsync(ct, (services, h) =>
        {
            services.AddPgHaConsoleTopology();
            services.AddFailoverWitness();
            services.AddSingleton<IBackgroundJobClient>(new InProcessJobs(h, jobs));
        });
        await harness.SetupPairAsync(ct);
        var monitor = harness.Get<TopologyMonitor>();
        var witness = harness.Get<FailoverWitness>();
        await monitor.StartAsync(CancellationToken.None);
        await witness.StartAsync(CancellationToken.None);

        Scenario[] scenarios =
        [
            new("kill -9 postmaster (async)", false, KillPostmasterAsync, null, Rejoin: true),
            new("kill -9 postmaster (sync)", true, KillPostmasterAsync, null, Rejoin: true),
            new("isolated, healed after 45 s (sync)", true, (h, p, c) => LinkAsync(h, p, "down", c), (h, p, c) => LinkAsync(h, p, "up", c), Rejoin: true),
            new("host lost: every process + link (sync)", true, HostLostAsync, null, Rejoin: false),
        ];
        var rows = new List<Row>();
        try
        {
            // --only 1,2: a subset (1-based), e.g. to look at one figure again.
            var only = StringOption(args, "--only")?.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var s in scenarios.Where((_, i) => only is null || only.Contains(i + 1)))
            {
                rows.Add(await RunScenarioAsync(harness, witness, s, afterSeconds, ct));
                var r = rows[^1];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {r.Scenario}: writes back {Fmt(r.WritesBack)}, reads back {Fmt(r.ReadsBack)}, {r.Lost} of {r.Acked} acknowledged lost, two writable: {(r.TwoWritable ? "YES" : "no")}, end: {r.EndState}{(r.Note is null ? "" : " (" + r.Note + ")")}"));
            }
        }
        finally
        {
            await witness.StopAsync(CancellationToken.None);
            await monitor.StopAsync(CancellationToken.None);
            await Task.WhenAll(jobs.ToArray());
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PgHaConsole automatic failover (afterSeconds {afterSeconds}, poll 2 s), lab, one run each; writer every 10 ms through the write VIP, reader through the read VIP"));
        Console.WriteLine("| scenario | writes back (s) | reads back (s) | acknowledged rows lost | two writable primaries through a VIP | end state |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {Fmt(r.WritesBack)} | {Fmt(r.ReadsBack)} | {r.Lost} of {r.Acked} | {(r.TwoWritable ? "YES" : "no")} | {r.EndState} |"));
        }

        return rows.All(r => r.WritesBack is not null && !r.TwoWritable && (r.Lost == 0 || !r.Scenario.Contains("(sync)", StringComparison.Ordinal))) ? 0 : 1;
    }

    private static string? StringOption(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string Fmt(double? seconds) => seconds is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "never";

    private static async Task<Row> RunScenarioAsync(LabPairHarness h, FailoverWitness witness, Scenario s, int afterSeconds, CancellationToken ct)
    {
        Console.WriteLine($"— {s.Name}");
        await h.Get<IFailoverPolicyStore>().SaveAsync(h.Cluster.Id, new FailoverPolicy { Automatic = true, Synchronous = s.Synchronous, AfterSeconds = afterSeconds }, "benchmark", ct);
        witness.ForgetPolicy(h.Cluster.Id);
        var primary = await h.PrimaryAsync(ct) ?? throw new InvalidOperationException("no single primary before the scenario");
        var standby = h.Cluster.Nodes.First(n => n.Name != primary).Name;
        await WaitAsync(async () =>
        {
            var row = await h.PsqlAsync(primary, $"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '{standby}'", ct);
            return row == (s.Synchronous ? "streaming sync" : "streaming async");
        }, TimeSpan.FromSeconds(60), "the standby streaming " + (s.Synchronous ? "synchronously" : "asynchronously"), ct);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);

        var tag = "bench-" + Guid.NewGuid().ToString("N")[..6];
        await using var writer = new VipWriter(h.Cluster, h.MonitorPassword, tag);
        await using var reader = new VipReader(h.Cluster, h.MonitorPassword);
        writer.Start();
        reader.Start();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);

        var before = DateTimeOffset.UtcNow;
        var faultAt = DateTimeOffset.UtcNow;
        await s.Fault(h, primary, ct);
        Console.WriteLine($"  fault on {primary} at {faultAt:HH:mm:ss.fff}");
        OperationRecord? failover = null;
        try
        {
            await WaitAsync(async () =>
            {
                var ops = await h.Get<IOperationJournal>().ListByClusterAsync(h.Cluster.Id, 5, ct);
                failover = ops.FirstOrDefault(o => o.Kind == FailoverOperation.Kind && o.CreatedAt >= before);
                return failover is { Status: OperationStatus.Succeeded or OperationStatus.Failed };
            }, TimeSpan.FromSeconds(120), "the automatic failover", ct);
        }
        catch (TimeoutException ex)
        {
            Console.WriteLine("  " + ex.Message);
        }

        if (failover is not null)
        {
            // Where the time went: when the witness started the failover, and each step's duration.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  failover {failover.Status}: created {(failover.CreatedAt - faultAt).TotalSeconds:0.00} s after the fault; steps: ")
                + string.Join(", ", failover.Steps.Select(st => string.Create(CultureInfo.InvariantCulture,
                    $"{st.Name} {((st.FinishedAt ?? st.StartedAt) - st.StartedAt)?.TotalSeconds:0.00} s"))));
        }

        if (s.Heal is { } heal)
        {
            var healAt = faultAt + TimeSpan.FromSeconds(45);
            if (healAt > DateTimeOffset.UtcNow)
            {
                await Task.Delay(healAt - DateTimeOffset.UtcNow, ct);
            }

            await heal(h, primary, ct);
        }

        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        await writer.StopAsync();
        await reader.StopAsync();

        // A lost host cannot be asked (the lab refuses commands in a host without its sshd): ask the survivor alone.
        var newPrimary = s.Rejoin ? await h.PrimaryAsync(ct) : await h.PsqlAsync(standby, "SELECT pg_is_in_recovery()", ct) == "f" ? standby : null;
        // Back = the end of the longest stretch without a success that the fault caused (consecutive successes from
        // just before the fault onwards), counted from the fault: a request in flight at the kill, or a stray failure
        // before the kill took effect, does not count as "back".
        var writesBack = writer.OutageEnd(faultAt) is { } w ? (w - faultAt).TotalSeconds : (double?)null;
        var readsBack = reader.OutageEnd(faultAt) is { } r ? (r - faultAt).TotalSeconds : (double?)null;
        var lost = 0;
        if (newPrimary is not null)
        {
            var present = (await h.PsqlAsync(newPrimary, $"SELECT written_by FROM pghaconsole.heartbeat WHERE written_by LIKE '{tag}:%'", ct))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            lost = writer.Acknowledged.Count(o => !present.Contains($"{tag}:{o.N}"));
        }

        // Two writable primaries through the write VIP: after the first write acknowledged by the new primary, any
        // acknowledged by the old one.
        var oldAddress = h.Node(primary).Address;
        var newAddress = h.Node(standby).Address;
        var firstNew = writer.Acknowledged.Where(o => o.Server == newAddress).Select(o => (DateTimeOffset?)o.At).Min();
        var twoWritable = firstNew is { } fn && writer.Acknowledged.Any(o => o.Server == oldAddress && o.At > fn);

        string end;
        string? note = failover is null ? "no failover" : failover.Status == OperationStatus.Succeeded ? null : "failover " + failover.Status.ToString().ToLowerInvariant() + ": " + failover.Error;
        if (s.Rejoin && newPrimary is not null)
        {
            var rejoin = await h.RunAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = primary }, ct);
            var (healthy, detail) = await h.HealthAsync(ct);
            end = rejoin.Status == OperationStatus.Succeeded && healthy ? $"{primary} rejoined, healthy ({newPrimary} primary)" : $"rejoin {rejoin.Status}: {detail}";
        }
        else
        {
            end = newPrimary is null ? "no single primary" : $"{newPrimary} primary, {primary} lost (a rebuild when it is back)";
        }

        return new Row(s.Name, writesBack, readsBack, writer.Acknowledged.Count, lost, twoWritable, end, note);
    }

    private static Task KillPostmasterAsync(LabPairHarness h, string host, CancellationToken ct) =>
        h.ExecAsync(host, ct, "bash", "-c", $"kill -9 \"$(head -n 1 {h.Cluster.Postgres.DataDir}/postmaster.pid)\"");

    private static Task LinkAsync(LabPairHarness h, string host, string state, CancellationToken ct) =>
        h.ExecAsync(host, ct, "ip", "link", "set", h.Cluster.Vrrp.Interface, state);

    /// <summary>Every process of that lab host (those in its network namespace) killed, then its link down: a dead machine.</summary>
    private static Task HostLostAsync(LabPairHarness h, string host, CancellationToken ct) =>
        h.ExecAsync(host, ct, "bash", "-c",
            "self=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do n=${p#/proc/}; [ \"$n\" = $$ ] && continue; "
            + "[ \"$(readlink $p/ns/net 2>/dev/null)\" = \"$self\" ] && kill -9 \"$n\" 2>/dev/null; done; ip link set \"$1\" down", "_", h.Cluster.Vrrp.Interface);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(200, ct);
        }
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    /// <summary>
    /// A client of another stack (the Patroni benchmark's): <see cref="VipClient"/>'s loop (a fresh connection per
    /// attempt, 500 ms to connect, every 10 ms) with its own statement, given the attempt number as <c>@n</c>.
    /// </summary>
    internal sealed class Client(string connectionString, string sql) : VipClient(connectionString)
    {
        protected override NpgsqlCommand Command(NpgsqlConnection connection, long n)
        {
            var cmd = new NpgsqlCommand(sql, connection);
            cmd.Parameters.AddWithValue("n", n.ToString(CultureInfo.InvariantCulture));
            return cmd;
        }
    }

    /// <summary>Runs what the launcher enqueues (the witness's failover) at once, in-process, through the harness's runner.</summary>
    internal sealed class InProcessJobs(LabPairHarness harness, ConcurrentBag<Task> jobs) : IBackgroundJobClient
    {
        public string Create(Job job, IState state)
        {
            var operationId = (Guid)job.Args[0];
            jobs.Add(Task.Run(() => harness.RunExistingAsync(operationId, CancellationToken.None)));
            return operationId.ToString();
        }

        public bool ChangeState(string jobId, IState state, string expectedState) => true;
    }
}
