using System.Collections.Concurrent;
using System.Globalization;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Chaos;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// Issue #13's chaos suite as a table: the same scenarios the lab tests run (<see cref="ChaosSuite"/>, one pair, one
/// single failure each under a writer through the write VIP and a reader through the read VIP), with the same console
/// settings as the tests (topology poll 1 s, probe timeout 3 s, afterSeconds 2). Prints per scenario: seconds until
/// reads and writes are back, acknowledged rows lost, seconds until the topology showed the failure, the end state
/// after the console's recovery actions, and what differs from the expectations. Needs the lab; run it under
/// the lab's lock.
/// </summary>
internal static class ChaosBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        var ct = overall.Token;
        Console.WriteLine("chaos: resetting the lab and setting up the pair…");
        var jobs = new ConcurrentBag<Task>();
        await using var harness = await LabPairHarness.CreateAsync(ct, (services, h) =>
        {
            services.AddPgHaConsoleTopology();
            services.Configure<TopologyOptions>(o =>
            {
                o.PollInterval = TimeSpan.FromSeconds(1);
                o.ProbeTimeout = TimeSpan.FromSeconds(3);
            });
            services.AddFailoverWitness();
            services.AddSingleton<IBackgroundJobClient>(new FailoverBenchmark.InProcessJobs(h, jobs));
        });

        var outcomes = new List<(ChaosScenario Scenario, ChaosOutcome? Outcome, string? Error)>();
        try
        {
            foreach (var s in ChaosSuite.All)
            {
                try
                {
                    var o = await ChaosSuite.RunAsync(harness, s, line => Console.WriteLine("  " + line), ct);
                    outcomes.Add((s, o, null));
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or PgHaConsole.Lab.LabException)
                {
                    Console.WriteLine($"  {s.Name}: {ex.Message}");
                    outcomes.Add((s, null, ex.Message));
                }
            }
        }
        finally
        {
            await harness.StopWitnessAsync();
            await Task.WhenAll(jobs.ToArray());
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PgHaConsole chaos suite, lab, one run each ({DateTime.UtcNow:yyyy-MM-dd}); writer every 10 ms through the write VIP, reader through the read VIP; poll 1 s, afterSeconds {ChaosSuite.AfterSeconds}"));
        Console.WriteLine("| scenario | policy | reads back (s) | writes back (s) | writes bound (s) | acknowledged rows lost | topology shows it (s) | end state | differs from the issue |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (s, o, error) in outcomes)
        {
            var policy = s.Failover.ToString().ToLowerInvariant() + (s.Synchronous ? ", sync" : ", async");
            if (o is null)
            {
                Console.WriteLine($"| {s.Name} | {policy} | – | – | – | – | – | not run: {error} | – |");
                continue;
            }

            var findings = o.Findings();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Name} | {policy} | {ChaosOutcome.Fmt(o.ReadsBackSeconds)} | {ChaosOutcome.Fmt(o.WritesBackSeconds)} | {o.WritesBoundSeconds:0.0} | {o.Lost} of {o.Acknowledged} | {ChaosOutcome.Fmt(o.TopologyTruthSeconds)} | {o.EndState} | {(findings.Count == 0 ? "no" : string.Join("; ", findings))} |"));
        }

        return outcomes.All(x => x.Outcome is { } o && o.Findings().Count == 0) ? 0 : 1;
    }
}
