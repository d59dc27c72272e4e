using System.Globalization;
using PgHaConsole.Lab;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// The anchor of the <c>failover</c> benchmark: the same scenarios (<c>kill -9</c> of the primary's postmaster
/// asynchronous and synchronous, the primary isolated and healed after 45 s, the primary host lost) with the same
/// writer and reader (<see cref="FailoverBenchmark.Client"/>: a fresh connection per statement every 10 ms through the
/// write VIP and the read VIP), against Patroni 3.0.2 + etcd + vip-manager + HAProxy/keepalived set up on the same lab
/// by <see cref="PatroniLab"/>, once with Patroni's default timings and once tuned. Synchronous scenarios use Patroni's
/// <c>synchronous_mode</c> (not strict). Patroni rejoins a failed primary by itself (pg_rewind): the end state is what
/// it reports after waiting for it. Needs the lab and Debian's patroni, etcd-server and vip-manager; run it under the
/// lab's lock.
/// </summary>
internal static class PatroniFailoverBenchmark
{
    private sealed record Scenario(string Name, bool Synchronous, Func<LabPairHarness, string, CancellationToken, Task> Fault, Func<LabPairHarness, string, CancellationToken, Task>? Heal);

    private sealed record Row(string Timings, string Scenario, double? WritesBack, double? ReadsBack, int Acked, int Lost, bool TwoWritable, string Happened, string EndState);

    public static async Task<int> RunAsync(string[] args)
    {
        var missing = PatroniLab.MissingPackages();
        if (missing.Count > 0)
        {
            // Nothing is installed behind the user's back: the machine's package set is theirs (and on a systemd
            // machine etcd-server's package starts an etcd of its own, which this benchmark does not want).
            Console.Error.WriteLine($"patroni-failover: missing {string.Join(", ", missing)}. Install them first, then run again:");
            Console.Error.WriteLine("  sudo apt-get install --no-install-recommends patroni etcd-server vip-manager");
            Console.Error.WriteLine("  (on a machine with systemd, then: sudo systemctl disable --now etcd patroni vip-manager — the benchmark runs its own, inside the lab)");
            return 2;
        }

        var which = StringOption(args, "--timings") ?? "all";
        PatroniTimings[] timings = which switch
        {
            "defaults" => [PatroniTimings.Defaults],
            "tuned" => [PatroniTimings.Tuned],
            "minimums" => [PatroniTimings.Minimums],
            _ => [PatroniTimings.Defaults, PatroniTimings.Tuned, PatroniTimings.Minimums],
        };
        var only = StringOption(args, "--only")?.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToHashSet();
        Scenario[] scenarios =
        [
            new("kill -9 postmaster (async)", false, KillPostmasterAsync, null),
            new("kill -9 postmaster (sync)", true, KillPostmasterAsync, null),
            new("isolated, healed after 45 s (sync)", true, (h, p, c) => LinkAsync(h, p, "down", c), (h, p, c) => LinkAsync(h, p, "up", c)),
            new("host lost: every process + link (sync)", true, HostLostAsync, null),
        ];

        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(45));
        var ct = overall.Token;
        Console.WriteLine("patroni-failover: resetting the lab (no console pair: Patroni builds its own)…");
        await using var harness = await LabPairHarness.CreateAsync(ct);
        var rows = new List<Row>();
        var first = true;
        foreach (var t in timings)
        {
            if (!first)
            {
                Console.WriteLine("patroni-failover: resetting the lab for the next timings…");
                await harness.ResetLabAsync(ct);
            }

            first = false;
            Console.WriteLine($"patroni-failover: setting up Patroni ({t.Describe()})");
            await using var patroni = await PatroniLab.StartAsync(harness, t, Console.Out, ct);
            foreach (var s in scenarios.Where((_, i) => only is null || only.Contains(i + 1)))
            {
                Row r;
                try
                {
                    r = await RunScenarioAsync(harness, patroni, s, ct);
                }
                catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
                {
                    Console.WriteLine($"  {s.Name}: not measured: {ex.Message}");
                    r = new Row(t.Label, s.Name, null, null, 0, 0, false, "not measured", ex.Message);
                }

                rows.Add(r);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {r.Scenario}: writes back {Fmt(r.WritesBack)}, reads back {Fmt(r.ReadsBack)}, {r.Lost} of {r.Acked} acknowledged lost, two writable: {(r.TwoWritable ? "YES" : "no")}; {r.Happened}; end: {r.EndState}"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("Patroni 3.0.2 + etcd 3.4 (witness host) + vip-manager 1.0.2 (write VIP) + keepalived/HAProxy with /read-only checks (read VIP), lab, one run each; writer every 10 ms through the write VIP, reader through the read VIP");
        foreach (var t in timings)
        {
            Console.WriteLine("  " + t.Describe());
        }

        Console.WriteLine("| Patroni timings | scenario | writes back (s) | reads back (s) | acknowledged rows lost | two writable primaries through a VIP | what Patroni did | end state |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Timings} | {r.Scenario} | {Fmt(r.WritesBack)} | {Fmt(r.ReadsBack)} | {r.Lost} of {r.Acked} | {(r.TwoWritable ? "YES" : "no")} | {r.Happened} | {r.EndState} |"));
        }

        return rows.All(r => r.WritesBack is not null) ? 0 : 1;
    }

    private static async Task<Row> RunScenarioAsync(LabPairHarness h, PatroniLab p, Scenario s, CancellationToken ct)
    {
        Console.WriteLine($"— {p.Timings.Label}: {s.Name}");
        await p.SetSynchronousAsync(s.Synchronous, ct);
        var primary = await p.LeaderAsync(ct) ?? throw new InvalidOperationException("no single Patroni leader before the scenario");
        var standby = p.Nodes.First(n => n != primary);
        var want = s.Synchronous ? "streaming sync" : "streaming async";
        await PatroniLab.WaitAsync(async () => await p.PsqlAsync(primary, $"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '{standby}'", ct) == want,
            TimeSpan.FromSeconds(90), $"{standby} {want} from {primary}", ct);
        await PatroniLab.WaitAsync(async () => (await p.AddressesAsync(primary, ct)).Contains(h.Cluster.WriteVip + "/", StringComparison.Ordinal)
            && !(await p.AddressesAsync(standby, ct)).Contains(h.Cluster.WriteVip + "/", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the write VIP on the leader only", ct);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        var timelineBefore = await p.PsqlAsync(primary, "SELECT timeline_id FROM pg_control_checkpoint()", ct);

        var tag = "patroni-" + Guid.NewGuid().ToString("N")[..6];
        await using var writer = new FailoverBenchmark.Client(p.ConnectionString(h.Cluster.WriteVip, "bench-writer"),
            $"INSERT INTO {PatroniLab.HeartbeatTable} (written_by) VALUES ('{tag}:' || @n) RETURNING current_setting('bench.node')");
        await using var reader = new FailoverBenchmark.Client(p.ConnectionString(h.Cluster.ReadVip, "bench-reader"), "SELECT current_setting('bench.node')");
        writer.Start();
        reader.Start();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);

        var faultAt = DateTimeOffset.UtcNow;
        await s.Fault(h, primary, ct);
        Console.WriteLine($"  fault on {primary} at {faultAt:HH:mm:ss.fff}");

        // Watch until writes and reads have flowed again for 5 s after their longest gap (at least until the heal + 15 s
        // when there is one), or 150 s.
        var healAt = faultAt + TimeSpan.FromSeconds(45);
        var healed = s.Heal is null;
        var minimum = s.Heal is null ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60);
        while (true)
        {
            await Task.Delay(250, ct);
            var now = DateTimeOffset.UtcNow;
            if (!healed && now >= healAt)
            {
                await s.Heal!(h, primary, ct);
                healed = true;
                Console.WriteLine($"  healed {primary} at {now:HH:mm:ss.fff}");
            }

            var since = now - faultAt;
            if (since > TimeSpan.FromSeconds(150))
            {
                Console.WriteLine("  still not steady after 150 s");
                break;
            }

            if (since >= minimum && Steady(writer, faultAt, now) && Steady(reader, faultAt, now))
            {
                break;
            }
        }

        await writer.StopAsync();
        await reader.StopAsync();
        var writesBack = writer.OutageEnd(faultAt) is { } w ? (w - faultAt).TotalSeconds : (double?)null;
        var readsBack = reader.OutageEnd(faultAt) is { } r ? (r - faultAt).TotalSeconds : (double?)null;

        // Two writable primaries through the write VIP: after the first write acknowledged by the new leader, any by the old one.
        var firstNew = writer.Acknowledged.Where(o => o.Server == standby).Select(o => (DateTimeOffset?)o.At).Min();
        var twoWritable = firstNew is { } fn && writer.Acknowledged.Any(o => o.Server == primary && o.At > fn);
        var byServer = string.Join(", ", writer.Acknowledged.GroupBy(o => o.Server ?? "?").Select(g => $"{g.Key} {g.Count()}"));
        Console.WriteLine($"  acknowledged writes by node: {byServer}");

        // Patroni rejoins by itself: wait (up to 120 s) for one leader with the other streaming, unless the host is gone.
        string? leader = null;
        var rejoined = false;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(120))
        {
            leader = await p.LeaderAsync(ct);
            if (leader is not null)
            {
                var other = p.Nodes.First(n => n != leader);
                if (await p.PsqlAsync(leader, $"SELECT state FROM pg_stat_replication WHERE application_name = '{other}'", ct) == "streaming")
                {
                    rejoined = true;
                    break;
                }

                if (s.Name.StartsWith("host lost", StringComparison.Ordinal))
                {
                    break;
                }
            }

            await Task.Delay(500, ct);
        }

        var lost = 0;
        if (leader is not null && await p.PsqlAsync(leader, $"SELECT written_by FROM {PatroniLab.HeartbeatTable} WHERE written_by LIKE '{tag}:%'", ct) is { } rowsText)
        {
            var present = rowsText.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            lost = writer.Acknowledged.Count(o => !present.Contains($"{tag}:{o.N}"));
        }

        var timelineAfter = leader is null ? null : await p.PsqlAsync(leader, "SELECT timeline_id FROM pg_control_checkpoint()", ct);
        var happened = leader is null ? "no single leader"
            : leader == primary ? $"restarted PostgreSQL on {primary}, no failover (timeline {timelineBefore}→{timelineAfter})"
            : $"failed over to {leader} (timeline {timelineBefore}→{timelineAfter})";
        var list = await p.ListAsync(leader ?? standby, ct);
        var end = rejoined ? $"healthy: {list}" : leader is null ? $"no single leader: {list}" : $"{leader} leader, {p.Nodes.First(n => n != leader)} not streaming: {list}";
        return new Row(p.Timings.Label, s.Name, writesBack, readsBack, writer.Acknowledged.Count, lost, twoWritable, happened, end);
    }

    /// <summary>Successes flow again: the last one within 0.5 s and none of the gaps of the last 5 s longer than 0.5 s, after the fault.</summary>
    private static bool Steady(FailoverBenchmark.Client c, DateTimeOffset faultAt, DateTimeOffset now)
    {
        var times = c.Acknowledged.Select(o => o.At).Where(t => t >= faultAt).Order().ToList();
        if (times.Count == 0 || now - times[^1] > TimeSpan.FromSeconds(0.5))
        {
            return false;
        }

        var from = now - TimeSpan.FromSeconds(5);
        if (times[0] > from)
        {
            return false;
        }

        for (var i = 1; i < times.Count; i++)
        {
            if (times[i] > from && times[i] - times[i - 1] > TimeSpan.FromSeconds(0.5))
            {
                return false;
            }
        }

        return true;
    }

    private static Task KillPostmasterAsync(LabPairHarness h, string host, CancellationToken ct) =>
        h.ExecAsync(host, ct, "bash", "-c", $"kill -9 \"$(head -n 1 {PatroniLab.DataDir}/postmaster.pid)\"");

    private static Task LinkAsync(LabPairHarness h, string host, string state, CancellationToken ct) =>
        h.ExecAsync(host, ct, "ip", "link", "set", h.Cluster.Vrrp.Interface, state);

    /// <summary>Every process of that lab host (those in its network namespace: Patroni, PostgreSQL, vip-manager, HAProxy, keepalived, sshd) killed, then its link down.</summary>
    private static Task HostLostAsync(LabPairHarness h, string host, CancellationToken ct) =>
        h.ExecAsync(host, ct, "bash", "-c",
            "self=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do n=${p#/proc/}; [ \"$n\" = $$ ] && continue; "
            + "[ \"$(readlink $p/ns/net 2>/dev/null)\" = \"$self\" ] && kill -9 \"$n\" 2>/dev/null; done; ip link set \"$1\" down", "_", h.Cluster.Vrrp.Interface);

    private static string? StringOption(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string Fmt(double? seconds) => seconds is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "never";
}
