using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using PgHaConsole.Core.Operations;
using PgHaConsole.E2E.Infrastructure;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// Issue #16, goal 3: a 5,000-line operation log streamed to the operation page in a real browser while the machine is
/// loaded, and the delay between a line being journaled and the browser rendering it (p50, p95, max; target p95 ≤ 1 s).
/// The real console runs as a user starts it (no lab: its topology monitor is off and the cluster it holds is never
/// contacted). The lines are journaled by this program into the console's own store through the product's journal
/// (<see cref="OperationJournal"/>: the path the runner's log sink uses), as another console instance running the
/// operation would: the page follows them as it follows any operation run elsewhere (the log store reads the journal
/// by sequence number). A MutationObserver in the page stamps each line when it enters the DOM.
/// </summary>
internal static class OperationLogLiveBenchmark
{
    private const string AdminPassword = "bench-admin-password-oplog";
    private const string Token = "phc_bench-oplog-live-token-0123456789abcdef";

    public static async Task<int> RunAsync(string[] args)
    {
        var lines = IntOption(args, "--lines", 5000);
        var batch = IntOption(args, "--batch", 5);
        var everyMs = IntOption(args, "--every-ms", 20);
        var load = !args.Contains("--no-load", StringComparer.Ordinal);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        var ct = cts.Token;

        Say($"operation log live: {lines} lines, {batch} per journal write every {everyMs} ms; load: {(load ? "a dotnet build of the Core tests in a loop" : "none")}");
        await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>
        {
            ["PgHaConsole__Bootstrap__AdminPassword"] = AdminPassword,
            ["PgHaConsole__Bootstrap__ApiToken"] = Token,
            // No lab: nothing may contact the placeholder cluster's hosts.
            ["PgHaConsole__Topology__Enabled"] = "false",
        }, ct);
        Say($"console up at {console.BaseUri}");
        using var api = new HttpClient { BaseAddress = console.BaseUri };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var created = await api.PostAsJsonAsync("api/clusters", PlaceholderCluster(), ct);
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the cluster: {created.StatusCode} {await created.Content.ReadAsStringAsync(ct)}");
        }

        var clusterId = (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetGuid();

        // The console's own store, opened beside it (SQLite in its data directory).
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddPgHaConsoleStore(new StoreOptions { SqlitePath = Path.Combine(console.DataDirectory, "pghaconsole.db") })
            .AddSingleton<IOperationJournal, OperationJournal>()
            .BuildServiceProvider();
        await using var _ = services;
        var journal = services.GetRequiredService<IOperationJournal>();
        var op = await journal.CreateAsync(clusterId, "setup", ["stream"], "benchmark", null, ct);
        var instance = Guid.NewGuid();
        if (!await journal.ClaimAsync(op.Id, instance, "oplog-live-benchmark", ct))
        {
            throw new InvalidOperationException("could not claim the operation");
        }

        await journal.SetStepStatusAsync(op.Id, 1, StepStatus.Running, null, ct);
        using var heartbeatStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var heartbeat = Task.Run(async () =>
        {
            while (!heartbeatStop.IsCancellationRequested)
            {
                await journal.HeartbeatAsync(op.Id, instance, CancellationToken.None);
                try
                {
                    await Task.Delay(1000, heartbeatStop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }, CancellationToken.None);

        var (playwright, browser) = await Browser.LaunchAsync();
        Process? loadProcess = null;
        using var loadStop = new CancellationTokenSource();
        Task? loadLoop = null;
        try
        {
            var page = await browser.NewPageAsync();
            await Browser.SignInAsync(page, console.BaseUri, "admin", AdminPassword);
            await page.GotoAsync(new Uri(console.BaseUri, $"operations/{op.Id}").ToString());
            await Browser.WaitInteractiveAsync(page);
            await page.Locator("[data-testid=operation-log]").WaitForAsync();
            // Stamp every log line when it enters the DOM (Date.now(): the same clock as this program's UtcNow).
            await page.EvaluateAsync("""
                () => {
                  window.__rendered = {};
                  const root = document.querySelector('[data-testid=operation-log]');
                  const seen = n => {
                    if (n.nodeType !== 1) return;
                    const lines = n.matches('[data-testid=log-line]') ? [n] : n.querySelectorAll('[data-testid=log-line]');
                    const t = Date.now();
                    for (const l of lines) {
                      const m = /bench-line (\d+)/.exec(l.textContent);
                      if (m && !(m[1] in window.__rendered)) window.__rendered[m[1]] = t;
                    }
                  };
                  new MutationObserver(ms => { for (const m of ms) for (const n of m.addedNodes) seen(n); })
                    .observe(root, { childList: true, subtree: true });
                }
                """);

            if (load)
            {
                loadLoop = Task.Run(() => LoadAsync(loadStop.Token, p => loadProcess = p), CancellationToken.None);
                await Task.Delay(TimeSpan.FromSeconds(5), ct); // the build under way
            }

            var journaled = new long[lines];
            var seq = 0L;
            var clock = Stopwatch.StartNew();
            var hosts = new[] { "pg1", "pg2", null };
            for (var i = 0; i < lines; i += batch)
            {
                var due = TimeSpan.FromMilliseconds((i / batch) * everyMs);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed, ct);
                }

                var now = DateTimeOffset.UtcNow;
                var chunk = new List<OperationLogLine>();
                for (var j = i; j < Math.Min(lines, i + batch); j++)
                {
                    chunk.Add(new OperationLogLine(++seq, StoreTypeHandlers.ToStoreTime(now), 1, hosts[j % 3], LogStream.Stdout,
                        $"bench-line {j.ToString("D5", CultureInfo.InvariantCulture)} of an operation log streamed to the browser"));
                }

                await journal.AppendLogAsync(op.Id, chunk, ct);
                var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                for (var j = i; j < Math.Min(lines, i + batch); j++)
                {
                    journaled[j] = at;
                }
            }

            var streamSeconds = clock.Elapsed.TotalSeconds;
            Say($"journaled {lines} lines in {streamSeconds:0.0} s; waiting for the page");
            var rendered = new Dictionary<int, long>();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < until)
            {
                rendered = (await page.EvaluateAsync<Dictionary<string, long>>("() => window.__rendered"))
                    .ToDictionary(kv => int.Parse(kv.Key, CultureInfo.InvariantCulture), kv => kv.Value);
                if (rendered.Count >= lines)
                {
                    break;
                }

                await Task.Delay(250, ct);
            }

            await loadStop.CancelAsync();
            var delays = Enumerable.Range(0, lines).Where(rendered.ContainsKey).Select(i => (double)(rendered[i] - journaled[i])).Order().ToList();
            Console.WriteLine();
            Console.WriteLine("==== operation log live (issue #16, goal 3) ====");
            Console.WriteLine(F($"  {lines} lines journaled over {streamSeconds:0.0} s ({batch} per write every {everyMs} ms), load: {(load ? "dotnet build in a loop" : "none")}, {Environment.ProcessorCount} cores"));
            Console.WriteLine(F($"  rendered: {rendered.Count}/{lines}"));
            if (delays.Count > 0)
            {
                Console.WriteLine(F($"  journaled → rendered: p50 {Pct(delays, 50):0} ms, p95 {Pct(delays, 95):0} ms, max {delays[^1]:0} ms, min {delays[0]:0} ms"));
                // Where the slow lines were: the worst seconds of the stream (stalls of the page vs a steady lag).
                var t0 = journaled[0];
                var worst = Enumerable.Range(0, lines).Where(rendered.ContainsKey)
                    .GroupBy(i => (journaled[i] - t0) / 1000)
                    .Select(g => (Second: g.Key, Max: g.Max(i => rendered[i] - journaled[i]), Median: g.Select(i => rendered[i] - journaled[i]).Order().ElementAt(g.Count() / 2)))
                    .OrderByDescending(x => x.Max).Take(5);
                Console.WriteLine("  worst seconds of the stream (s after the first line: max / median ms): "
                    + string.Join(", ", worst.Select(w => F($"{w.Second}: {w.Max} / {w.Median}"))));
                var met = rendered.Count == lines && Pct(delays, 95) <= 1000;
                Console.WriteLine($"  [{(met ? "met" : "NOT met")}] p95 ≤ 1 s with every line rendered");
            }

            await journal.SetStepStatusAsync(op.Id, 1, StepStatus.Succeeded, "streamed", CancellationToken.None);
            await journal.SetOperationStatusAsync(op.Id, OperationStatus.Succeeded, null, CancellationToken.None);
            return 0;
        }
        finally
        {
            await loadStop.CancelAsync();
            if (loadLoop is not null)
            {
                await loadLoop;
            }

            await heartbeatStop.CancelAsync();
            await heartbeat;
            await browser.DisposeAsync();
            playwright.Dispose();
        }
    }

    /// <summary>A parallel `dotnet build` of the Core tests (no incremental build), again and again until stopped.</summary>
    private static async Task LoadAsync(CancellationToken stop, Action<Process?> current)
    {
        var output = Path.Combine(Path.GetTempPath(), "pgha-oplog-load-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepoPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "build", "tests/PgHaConsole.Core.Tests", "--no-incremental", "-v:q", "-o", output })
                {
                    psi.ArgumentList.Add(a);
                }

                using var p = Process.Start(psi)!;
                current(p);
                _ = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
                _ = p.StandardError.ReadToEndAsync(CancellationToken.None);
                try
                {
                    await p.WaitForExitAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    // Stop this build (by its own PID) and its build servers' work with it.
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        finally
        {
            current(null);
            try
            {
                Directory.Delete(output, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A cluster that only holds the operation: documentation-range addresses, never contacted (the monitor is off).</summary>
    private static object PlaceholderCluster() => new
    {
        name = "oplog-bench",
        node1 = new { name = "pg1", address = "10.91.4.247", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "bench-Password-1a" },
        node2 = new { name = "pg2", address = "10.91.4.248", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "bench-Password-2b" },
        writeVip = "10.91.4.251",
        readVip = "10.91.4.252",
        vipPrefixLength = 24,
        vrrp = new { @interface = "mgt", virtualRouterId = 50, node1Priority = 100, node2Priority = 90, advertIntSeconds = 1, password = "vr9Pw2x" },
        balancer = "Haproxy",
        postgres = new { majorVersion = 15, binDir = "/usr/lib/postgresql/15/bin", dataDir = "/data10/pgdata", port = 5432, osUser = "postgres", serviceControl = "PgCtl" },
        replicationPassword = "repl-Secret-55aa",
    };

    private static double Pct(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string F(FormattableString s) => FormattableString.Invariant(s);

    private static void Say(string text) => Console.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {text}");

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }
}
