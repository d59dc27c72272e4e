using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// Issue #6, "Measured": in the lab, a pair built by the setup wizard, an application writing through the write VIP
/// every 10 ms (<see cref="BenchmarkWriter"/>), and (1) PgHaConsole's switchover pg1→pg2 and back, (2) repmgr 5's
/// <c>standby switchover</c> on the same pair (keepalived moving the VIPs by its check), (3) N PgHaConsole
/// switchovers back and forth under one continuous writer. Per switchover: total time, longest gap between two
/// acknowledged writes, acknowledged rows missing from the final primary. Prints a table with the targets.
/// Must run under <c>flock -o /tmp/pgha-lab2.lock</c>: it resets the shared lab at the start and at the end.
/// </summary>
internal static class SwitchoverBenchmark
{
    private const double GapTarget = 1.5;

    /// <summary>--evidence: the writer's failures and the operation's log around every run's gap, not only a long one.</summary>
    private static bool _evidence;
    private static readonly TimeSpan SteadyTimeout = TimeSpan.FromSeconds(60);

    private sealed record Row(string Tool, string Direction, double? TotalSeconds, double? GapSeconds, long Acked, long? Lost, string Note);

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = IntOption(args, "--runs", 20);
        var skipRepmgr = args.Contains("--skip-repmgr", StringComparer.Ordinal);
        _evidence = args.Contains("--evidence", StringComparer.Ordinal);
        var outDir = Path.Combine(Path.GetTempPath(), "pgha-switchover-bench-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(outDir);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(45));
        var ct = cts.Token;
        var rows = new List<Row>();
        Say($"switchover benchmark: {runs} back-and-forth runs{(skipRepmgr ? ", repmgr skipped" : "")}; operation logs in {outDir}");

        var clock = Stopwatch.StartNew();
        await using var pair = await LabPairHarness.CreateAsync(ct);
        Say($"lab reset (down + up) in {clock.Elapsed.TotalSeconds:0.0} s; state {pair.StateDir}");
        clock.Restart();
        await pair.SetupPairAsync(ct);
        Say($"pair built by the setup operation in {clock.Elapsed.TotalSeconds:0.0} s");

        var versions = new List<string>
        {
            "PostgreSQL: " + await pair.PsqlAsync("pg1", "SELECT version()", ct),
            "keepalived: " + FirstLine((await pair.ExecAsync("pg1", ct, "keepalived", "--version")).Output),
            "HAProxy: " + FirstLine((await pair.ExecAsync("pg1", ct, "haproxy", "-v")).Output),
            ".NET: " + Environment.Version,
            $"lab: pg1 {pair.Node("pg1").Address}, pg2 {pair.Node("pg2").Address}, write VIP {pair.Cluster.WriteVip}, read VIP {pair.Cluster.ReadVip}",
        };
        var repmgr = new RepmgrSetup(pair.Controller, pair.Cluster, pair.Lab.Nodes[0].SshKeyPath, Console.Out);
        versions.Insert(1, "repmgr: " + await repmgr.VersionAsync(ct));

        var writeCs = pair.MonitorConnectionString(pair.Cluster.WriteVip, "bench-writer");
        await BenchmarkWriter.CreateTableAsync(writeCs, ct);

        // 1. PgHaConsole, pg1 → pg2 and back, a writer each.
        long seqBase = 0;
        foreach (var (from, to) in new[] { ("pg1", "pg2"), ("pg2", "pg1") })
        {
            seqBase += 1_000_000_000;
            rows.Add(await MeasureAsync(pair, "PgHaConsole", from, to, seqBase, outDir, () => OursAsync(pair, from, to, outDir, ct), ct));
        }

        // 2. repmgr on the same pair.
        if (!skipRepmgr)
        {
            seqBase += 1_000_000_000;
            var primary = await pair.PrimaryAsync(ct) ?? "pg1";
            var standby = primary == "pg1" ? "pg2" : "pg1";
            try
            {
                Say($"configuring repmgr on the pair ({primary} primary)");
                await repmgr.ConfigureAsync(primary, ct);
                var (dry, _) = await repmgr.SwitchoverAsync(standby, dryRun: true, ct);
                await File.WriteAllTextAsync(Path.Combine(outDir, "repmgr-dry-run.log"), dry.Output, ct);
                Say($"repmgr standby switchover --dry-run on {standby}: exit {dry.ExitCode}");
                Console.WriteLine(Indent(dry.Output));
                if (!dry.Succeeded)
                {
                    throw new InvalidOperationException($"repmgr standby switchover --dry-run failed (exit {dry.ExitCode}): {LastLines(dry.Output, 6)}");
                }

                rows.Add(await MeasureAsync(pair, "repmgr", primary, standby, seqBase, outDir, async () =>
                {
                    var start = DateTimeOffset.Now;
                    var (result, elapsed) = await repmgr.SwitchoverAsync(standby, dryRun: false, ct);
                    await File.WriteAllTextAsync(Path.Combine(outDir, "repmgr-switchover.log"), result.Output, ct);
                    Console.WriteLine(Indent(result.Output));
                    return new Outcome(result.Succeeded, elapsed.TotalSeconds, start, result.Succeeded ? null : $"exit {result.ExitCode}: {LastLines(result.Output, 4)}", null);
                }, ct));

                // After repmgr's promotion: the timeline in pg_control's last checkpoint (what the console's preflight
                // compares) against the timeline the primary writes WAL on; and the server log around repmgr's CHECKPOINT.
                if (await pair.PrimaryAsync(ct) is { } newPrimary)
                {
                    var tli = await pair.PsqlAsync(newPrimary, "SELECT (SELECT timeline_id FROM pg_control_checkpoint()) || ' ' || ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int", ct);
                    Say($"after repmgr on {newPrimary}: pg_control_checkpoint() timeline / WAL-writing timeline = {tli.Replace(' ', '/')}");
                    var serverLog = await pair.ExecAsync(newPrimary, ct, "bash", "-c", "grep -iE 'checkpoint|ERROR|FATAL' /data10/postgresql.log | tail -n 8");
                    Console.WriteLine(Indent("server log (" + newPrimary + "):\n" + serverLog.StandardOutput));
                    // repmgr tried a CHECKPOINT on the new primary and reported it failed; the console's preflight reads
                    // the timeline from the last checkpoint, so issue it here (reported as a console issue).
                    await pair.PsqlAsync(newPrimary, "CHECKPOINT", ct);
                    Say($"CHECKPOINT issued on {newPrimary} (see the report: the console's preflight reads a stale timeline without it)");
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or PgHaConsole.Lab.LabException)
            {
                Say("repmgr did not work: " + ex.Message);
                rows.Add(new Row("repmgr", $"{primary}→{standby}", null, null, 0, null, "FAILED: " + FirstLine(ex.Message)));
            }
        }

        // 3. N PgHaConsole switchovers back and forth under one continuous writer.
        seqBase += 1_000_000_000;
        var loop = await LoopAsync(pair, runs, seqBase, writeCs, outDir, ct);
        rows.AddRange(loop.Rows);

        var (healthy, healthDetail) = await pair.HealthAsync(ct);
        PrintTable(rows, loop, healthy, healthDetail, versions);
        Say("leaving the lab reset (down + up) for others");
        return 0;
    }

    private sealed record Outcome(bool Succeeded, double TotalSeconds, DateTimeOffset Started, string? Error, string? ReportNote)
    {
        public string? Log { get; init; }
    }

    private sealed record LoopResult(List<Row> Rows, int Runs, int Done, double WorstGap, double MedianGap, long Acked, long? Lost, string Detail);

    private static async Task<Outcome> OursAsync(LabPairHarness pair, string from, string to, string outDir, CancellationToken ct)
    {
        var started = DateTimeOffset.Now;
        var op = await pair.RunAsync(SwitchoverOperation.Kind, new SwitchoverParameters { Confirm = pair.Cluster.Name, From = from, To = to }, ct);
        var log = await pair.LogTextAsync(op.Id, ct);
        await File.AppendAllTextAsync(Path.Combine(outDir, "pghaconsole-switchovers.log"), $"==== {from}→{to} {op.Status}\n{log}\n{op.ReportJson}\n\n", ct);
        var total = op is { StartedAt: { } s, FinishedAt: { } f } ? (f - s).TotalSeconds : (DateTimeOffset.Now - started).TotalSeconds;
        string? probe = null;
        if (op.ReportJson is { } json)
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.TryGetProperty("writeProbe", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                probe = $"console's own probe: longest gap {p.GetProperty("longestGapSeconds").GetDouble().ToString("0.000", CultureInfo.InvariantCulture)} s";
            }

            if (doc.RootElement.TryGetProperty("steps", out var steps) && steps.ValueKind == JsonValueKind.Array)
            {
                probe += "; steps " + string.Join(", ", steps.EnumerateArray().Select(e => $"{e.GetProperty("name").GetString()} {e.GetProperty("seconds").GetDouble().ToString("0.00", CultureInfo.InvariantCulture)}"));
            }
        }

        return new Outcome(op.Status == OperationStatus.Succeeded, total, op.StartedAt?.ToLocalTime() ?? started,
            op.Status == OperationStatus.Succeeded ? null : $"{op.Status}: {op.Error}\n{log}", probe) { Log = log };
    }

    /// <summary>One switchover under its own writer: steady writes first, the switchover, steady writes again, then the check.</summary>
    private static async Task<Row> MeasureAsync(LabPairHarness pair, string tool, string from, string to, long seqBase, string outDir, Func<Task<Outcome>> run, CancellationToken ct)
    {
        var writeCs = pair.MonitorConnectionString(pair.Cluster.WriteVip, "bench-writer");
        await using var writer = new BenchmarkWriter(writeCs, seqBase);
        writer.Start();
        if (!await writer.WaitSteadyAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(15), ct))
        {
            Say("WARNING: writes through the write VIP were not steady before the switchover");
        }

        Say($"{tool} switchover {from}→{to} under the writer");
        var t0 = Stopwatch.GetTimestamp();
        var outcome = await run();
        var t1 = Stopwatch.GetTimestamp();
        var steady = await writer.WaitSteadyAsync(t1, SteadyTimeout, ct);
        var tEnd = Stopwatch.GetTimestamp();
        await writer.StopAsync();

        var gap = writer.LongestGap(t0, tEnd);
        var acks = writer.Acks();
        var (lost, lostNote) = await LostAsync(pair, writer, acks, ct);
        var note = string.Join("; ", new[]
        {
            outcome.Succeeded ? null : "FAILED " + FirstLine(outcome.Error ?? ""),
            steady ? null : $"writes not steady {SteadyTimeout.TotalSeconds:0} s after the end",
            lostNote,
            $"gap {writer.WallClock(gap.FromTimestamp):HH:mm:ss.fff}→{writer.WallClock(gap.ToTimestamp):HH:mm:ss.fff} (+{Stopwatch.GetElapsedTime(t0, gap.ToTimestamp).TotalSeconds:0.00} s from start)",
        }.Where(s => s is not null));
        Say(F($"  {tool} {from}→{to}: {(outcome.Succeeded ? "succeeded" : "FAILED")}, total {outcome.TotalSeconds:0.00} s, longest write gap {gap.Seconds:0.000} s ({note}), {acks.Length} acknowledged, {writer.Failures} failed attempts, lost {lost?.ToString(CultureInfo.InvariantCulture) ?? "?"}"));
        if (outcome.ReportNote is { } rn)
        {
            Say("  " + rn);
        }

        if (!outcome.Succeeded && outcome.Error is { } error)
        {
            Console.WriteLine(Indent(error));
        }

        foreach (var e in writer.Errors().Take(8))
        {
            Say("  writer error: " + e);
        }

        if (tool == "PgHaConsole" && (gap.Seconds > GapTarget || lost > 0 || _evidence) && outcome.Log is { } log)
        {
            Evidence(log, writer, gap);
        }

        await File.AppendAllTextAsync(Path.Combine(outDir, "writer-errors.log"), $"==== {tool} {from}→{to}\n{string.Join('\n', writer.Errors())}\n", ct);
        return new Row(tool, $"{from}→{to}", outcome.TotalSeconds, gap.Seconds, acks.Length, lost, note);
    }

    private static async Task<LoopResult> LoopAsync(LabPairHarness pair, int runs, long seqBase, string writeCs, string outDir, CancellationToken ct)
    {
        Say($"{runs} PgHaConsole switchovers back and forth under one continuous writer");
        await using var writer = new BenchmarkWriter(writeCs, seqBase);
        writer.Start();
        await writer.WaitSteadyAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(15), ct);
        var loopStart = Stopwatch.GetTimestamp();
        var gaps = new List<double>();
        var totals = new List<double>();
        var failures = new List<string>();
        var done = 0;
        for (var i = 1; i <= runs; i++)
        {
            var from = await pair.PrimaryAsync(ct);
            if (from is null)
            {
                failures.Add($"run {i}: not exactly one primary");
                break;
            }

            var to = from == "pg1" ? "pg2" : "pg1";
            var t0 = Stopwatch.GetTimestamp();
            var outcome = await OursAsync(pair, from, to, outDir, ct);
            var t1 = Stopwatch.GetTimestamp();
            var steady = await writer.WaitSteadyAsync(t1, SteadyTimeout, ct);
            var gap = writer.LongestGap(t0, Stopwatch.GetTimestamp());
            gaps.Add(gap.Seconds);
            totals.Add(outcome.TotalSeconds);
            var (lost, _) = await LostAsync(pair, writer, writer.Acks(), ct);
            Say(F($"  run {i,2} {from}→{to}: {(outcome.Succeeded ? "ok" : "FAILED")}, total {outcome.TotalSeconds:0.00} s, longest gap {gap.Seconds:0.000} s at {writer.WallClock(gap.FromTimestamp):HH:mm:ss.fff}, lost so far {lost?.ToString(CultureInfo.InvariantCulture) ?? "?"}{(steady ? "" : ", writes NOT steady")}"));
            if ((gap.Seconds > GapTarget || lost > 0 || _evidence) && outcome.Log is { } log)
            {
                Evidence(log, writer, gap);
            }

            if (gap.Seconds > GapTarget && _evidence)
            {
                foreach (var host in new[] { from, to })
                {
                    var serverLog = await pair.ExecAsync(host, ct, "bash", "-c", "tail -n 25 /data10/postgresql.log");
                    Console.WriteLine(Indent($"server log ({host}):\n" + serverLog.StandardOutput));
                }
            }

            if (!outcome.Succeeded)
            {
                failures.Add($"run {i} {from}→{to}: {FirstLine(outcome.Error ?? "")}");
                Console.WriteLine(Indent(outcome.Error ?? ""));
                break;
            }

            done++;
        }

        await writer.WaitSteadyAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(10), ct);
        await writer.StopAsync();
        var acks = writer.Acks();
        var (finalLost, lostNote) = await LostAsync(pair, writer, acks, ct);
        var worst = writer.LongestGap(loopStart, Stopwatch.GetTimestamp());
        var sorted = gaps.Order().ToList();
        var median = sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        var sortedTotals = totals.Order().ToList();
        var medianTotal = sortedTotals.Count == 0 ? 0 : sortedTotals[sortedTotals.Count / 2];
        var detail = F($"{done}/{runs} succeeded; per-run gap min {sorted.FirstOrDefault():0.000} / median {median:0.000} / max {sorted.LastOrDefault():0.000} s; worst gap over the whole session {worst.Seconds:0.000} s; total median {medianTotal:0.00} s, max {sortedTotals.LastOrDefault():0.00} s; {writer.Failures} failed attempts")
            + (failures.Count > 0 ? "; " + string.Join("; ", failures) : "") + (lostNote is null ? "" : "; " + lostNote);
        Say("  " + detail);
        var row = new Row("PgHaConsole", F($"{runs}× back and forth"), medianTotal, worst.Seconds, acks.Length, finalLost,
            F($"total = median; gap = worst (median {median:0.000} s); {done}/{runs} succeeded"));
        return new LoopResult([row], runs, done, worst.Seconds, median, acks.Length, finalLost, detail);
    }

    /// <summary>Acknowledged seqs missing from the table as read on the current primary (by its node address).</summary>
    private static async Task<(long? Lost, string? Note)> LostAsync(LabPairHarness pair, BenchmarkWriter writer, WriteAck[] acks, CancellationToken ct)
    {
        try
        {
            var primary = await pair.PrimaryAsync(ct);
            if (primary is null)
            {
                return (null, "no single primary to read the table on");
            }

            var present = await BenchmarkWriter.ReadSeqsAsync(pair.MonitorConnectionString(pair.Node(primary).Address, "bench-check"), writer.FirstSeq, writer.FirstSeq + writer.Attempts, ct);
            var missing = acks.Where(a => !present.Contains(a.Seq)).ToList();
            return (missing.Count, missing.Count == 0 ? null
                : $"LOST seqs on {primary}: {string.Join(",", missing.Take(10).Select(a => $"{a.Seq - writer.FirstSeq}@{writer.WallClock(a.Timestamp):HH:mm:ss.fff}"))}");
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return (null, "could not read the table: " + ex.Message);
        }
    }

    /// <summary>The console's log lines around a long gap or a loss, timestamped, beside the writer's view.</summary>
    private static void Evidence(string log, BenchmarkWriter writer, WriteGap gap)
    {
        var from = writer.WallClock(gap.FromTimestamp).AddSeconds(-1);
        var to = writer.WallClock(gap.ToTimestamp).AddSeconds(1);
        Say($"  evidence: last ack before the gap {writer.WallClock(gap.FromTimestamp):HH:mm:ss.fff}, first after {writer.WallClock(gap.ToTimestamp):HH:mm:ss.fff}; the writer's failed attempts in it:");
        var failures = writer.FailuresBetween(gap.FromTimestamp, gap.ToTimestamp);
        foreach (var f in failures.Where(f => Stopwatch.GetElapsedTime(f.Started, f.Failed) > TimeSpan.FromMilliseconds(300)).Take(12))
        {
            Console.WriteLine(F($"    writer: attempt started {writer.WallClock(f.Started):HH:mm:ss.fff}, failed {writer.WallClock(f.Failed):HH:mm:ss.fff} after {Stopwatch.GetElapsedTime(f.Started, f.Failed).TotalSeconds:0.000} s: {f.Error}"));
        }

        Console.WriteLine(F($"    writer: {failures.Length} failed attempts in the gap; those under 0.3 s: {string.Join(", ", failures.Where(f => Stopwatch.GetElapsedTime(f.Started, f.Failed) <= TimeSpan.FromMilliseconds(300)).GroupBy(f => f.Error).Select(g => $"{g.Count()}× {g.Key}"))}"));
        Console.WriteLine("    operation log around it:");
        foreach (var line in log.Split('\n'))
        {
            if (line.Length > 12 && TimeOnly.TryParseExact(line[..12], "HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
                && t >= TimeOnly.FromDateTime(from.DateTime) && t <= TimeOnly.FromDateTime(to.DateTime)
                && System.Text.RegularExpressions.Regex.IsMatch(line, @"\] \S+ (Info|Stdout|Stderr): (Step \d|Verified|Already done|To do|psql>|no rewind|pg_rewind|\$ |.*(stopped|started|removed))"))
            {
                Console.WriteLine("    " + line);
            }
        }
    }

    private static void PrintTable(List<Row> rows, LoopResult loop, bool healthy, string healthDetail, List<string> versions)
    {
        Console.WriteLine();
        Console.WriteLine("==== switchover benchmark (issue #6) ====");
        foreach (var v in versions)
        {
            Console.WriteLine("  " + v);
        }

        Console.WriteLine();
        Console.WriteLine(F($"| {"tool",-11} | {"direction",-20} | {"total s",8} | {"longest write gap s",19} | {"acknowledged rows",17} | {"lost",5} | note"));
        Console.WriteLine("|-------------|----------------------|----------|---------------------|-------------------|-------|------");
        foreach (var r in rows)
        {
            Console.WriteLine(F($"| {r.Tool,-11} | {r.Direction,-20} | {Num(r.TotalSeconds, "0.00"),8} | {Num(r.GapSeconds, "0.000"),19} | {r.Acked,17} | {r.Lost?.ToString(CultureInfo.InvariantCulture) ?? "?",5} | {r.Note}"));
        }

        Console.WriteLine();
        Console.WriteLine("  back and forth: " + loop.Detail);
        Console.WriteLine($"  pair at the end: {(healthy ? "healthy" : "NOT healthy")}: {healthDetail}");
        Console.WriteLine();
        Console.WriteLine("targets:");
        var ours = rows.Where(r => r.Tool == "PgHaConsole").ToList();
        Target("acknowledged rows lost = 0 (PgHaConsole, every run)", ours.All(r => r.Lost == 0), string.Join(", ", ours.Select(r => $"{r.Direction}: {r.Lost?.ToString(CultureInfo.InvariantCulture) ?? "?"}")));
        var repmgrRow = rows.FirstOrDefault(r => r.Tool == "repmgr");
        if (repmgrRow is not null)
        {
            Target("acknowledged rows lost = 0 (repmgr)", repmgrRow.Lost == 0, repmgrRow.Lost?.ToString(CultureInfo.InvariantCulture) ?? "not measured");
        }

        var worstOurs = ours.Max(r => r.GapSeconds ?? double.MaxValue);
        Target(F($"our longest write gap ≤ {GapTarget} s (every run)"), worstOurs <= GapTarget, F($"worst {worstOurs:0.000} s"));
        if (repmgrRow is { GapSeconds: { } rg, TotalSeconds: { } rt })
        {
            var same = ours.FirstOrDefault(r => r.Direction == repmgrRow.Direction && r.GapSeconds is not null) ?? ours[0];
            var og = same.GapSeconds ?? double.MaxValue;
            Target("our longest gap ≤ half of repmgr's", og <= rg / 2, F($"ours {same.Direction} {og:0.000} s / repmgr {rg:0.000} s = {og / rg:0.00}"));
            Target("our worst gap (all runs) ≤ half of repmgr's", worstOurs <= rg / 2, F($"ours worst {worstOurs:0.000} s / repmgr {rg:0.000} s = {worstOurs / rg:0.00}"));
            Console.WriteLine(F($"  ratio ours/repmgr, total time ({same.Direction}): {same.TotalSeconds:0.00} s / {rt:0.00} s = {(same.TotalSeconds ?? 0) / rt:0.00}"));
        }
        else
        {
            Target("our longest gap ≤ half of repmgr's", false, repmgrRow is null ? "repmgr skipped (--skip-repmgr)" : "repmgr not measured: " + repmgrRow.Note);
        }

        Target("every back-and-forth switchover succeeded", loop.Done == loop.Runs, F($"{loop.Done}/{loop.Runs}"));
        Target("pair healthy and streaming at the end", healthy, healthDetail);
    }

    private static void Target(string name, bool met, string detail) =>
        Console.WriteLine($"  [{(met ? "met" : "NOT met")}] {name}: {detail}");

    private static string Num(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string F(FormattableString s) => FormattableString.Invariant(s);

    private static void Say(string text) => Console.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {text}");

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";

    private static string LastLines(string text, int n) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(n));

    private static string Indent(string text) => string.Join('\n', text.TrimEnd().Split('\n').Select(l => "    " + l));

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }
}
