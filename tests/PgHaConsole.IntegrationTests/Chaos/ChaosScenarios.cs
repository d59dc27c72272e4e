using System.Diagnostics;
using System.Globalization;
using PgHaConsole.Core.Boot;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Setup.Steps;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Infrastructure;
using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Chaos;

/// <summary>How the console is told to react to the loss of the primary in a scenario.</summary>
public enum ChaosFailover
{
    /// <summary>The primary survives: nothing to fail over.</summary>
    None,

    /// <summary>The on-call button: the failover operation started by hand once its preflight allows it.</summary>
    Manual,

    /// <summary>The console's witness fails over by itself (policy <c>automatic</c>).</summary>
    Automatic,
}

/// <summary>
/// One single failure of the pair (issue #13's chaos suite): which node it hits, how, what the topology must show, how
/// the console's policy reacts, and the console's recovery actions afterwards.
/// </summary>
public sealed record ChaosScenario(
    string Name,
    bool HitsPrimary,
    Func<ChaosRun, CancellationToken, Task> Fault,
    Func<ClusterTopology, string, bool> TopologyTruth,
    string TruthText,
    ChaosFailover Failover,
    bool Synchronous,
    Func<ChaosRun, CancellationToken, Task<IReadOnlyList<OperationRecord>>> Recover)
{
    /// <summary>Undoes a fault that heals by itself in real life (a link back up), after the failover.</summary>
    public Func<ChaosRun, CancellationToken, Task>? Heal { get; init; }

    /// <summary>
    /// Writes come back only with the console's recovery action (no failover applies: the primary is healthy, but its
    /// write path is not): the recovery runs while the clients still run, and writes must be back within
    /// <see cref="ChaosSuite.AfterOperationSeconds"/> of its end.
    /// </summary>
    public bool WritesNeedRecovery { get; init; }

    /// <summary>The host is gone for good (no boot in this suite): no recovery, and the scenario must come last.</summary>
    public bool HostLost { get; init; }

    /// <summary>
    /// The fault hits "the VIP holder": the victim holds the read VIP as well as the write VIP before the fault, so the
    /// reads must move (the worst case, and the same case on every run: left alone, where the read VIP sits depends on
    /// the scenarios before; with it on the survivor reads never noticed the fault).
    /// </summary>
    public bool ReadVipOnVictim { get; init; }
}

/// <summary>A scenario being run: the pair, the roles before the fault, the clients, the log.</summary>
public sealed class ChaosRun(IChaosPair pair, string primary, string standby, Action<string> log)
{
    public IChaosPair Pair { get; } = pair;

    public string Primary { get; } = primary;

    public string Standby { get; } = standby;

    public Action<string> Log { get; } = log;

    /// <summary>The node the fault hits.</summary>
    public string Victim { get; set; } = primary;

    public string Survivor => Victim == Primary ? Standby : Primary;

    public async Task<string> ExecAsync(string host, CancellationToken ct, params string[] argv)
    {
        var r = await Pair.ExecAsync(host, ct, argv);
        Log($"[{host}] {string.Join(' ', argv)} → {r.ExitCode} {r.StandardOutput.Trim()} {r.StandardError.Trim()}".TrimEnd());
        return r.StandardOutput.Trim();
    }

    /// <summary>Each step's duration, for the reader of a run: "fence 1.2 s, promote 0.3 s, …".</summary>
    public static string StepTimes(OperationRecord op) => string.Join(", ", op.Steps
        .Where(st => st.StartedAt is not null && st.FinishedAt is not null)
        .Select(st => string.Create(CultureInfo.InvariantCulture, $"{st.Name} {(st.FinishedAt!.Value - st.StartedAt!.Value).TotalSeconds:0.0} s")));

    /// <summary>Logs what each host runs of the pair's daemons and which addresses it holds (for the reader of a failed run).</summary>
    public async Task DescribeAsync(string when, CancellationToken ct)
    {
        const string script = """
            self=$(readlink /proc/self/ns/net)
            for d in /proc/[0-9]*; do
              [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$self" ] || continue
              c=$(cat "$d/comm" 2>/dev/null)
              case "$c" in keepalived|haproxy) printf '%s(%s<-%s) ' "$c" "${d#/proc/}" "$(awk '{print $4}' "$d/stat" 2>/dev/null)" ;; esac
            done
            printf '| addresses: %s' "$(ip -o -4 addr show dev "$1" | awk '{print $4}' | tr '\n' ' ')"
            """;
        foreach (var node in Pair.Cluster.Nodes)
        {
            try
            {
                var r = await Pair.ExecAsync(node.Name, ct, "bash", "-c", script, "_", Pair.Cluster.Vrrp.Interface);
                Log($"{when}: {node.Name}: {r.StandardOutput.Trim()}");
            }
            catch (LabException ex)
            {
                Log($"{when}: {node.Name}: {ex.Message}");
            }
        }
    }

    /// <summary>Logs each node's last keepalived transitions (its notify script's log, whole seconds) for the reader of a run.</summary>
    public async Task LogTransitionsAsync(CancellationToken ct)
    {
        foreach (var node in Pair.Cluster.Nodes)
        {
            try
            {
                var r = await Pair.ExecAsync(node.Name, ct, "bash", "-c", "tail -n 6 -- \"$1\" 2>/dev/null | tr '\\n' ';'", "_", new KeepalivedPaths().LogFile);
                Log($"transitions: {node.Name}: {r.StandardOutput.Trim()}");
            }
            catch (LabException ex)
            {
                Log($"transitions: {node.Name}: {ex.Message}");
            }
        }
    }

    /// <summary>True when <paramref name="host"/> holds <paramref name="address"/> on the VRRP interface.</summary>
    public async Task<bool> HoldsAsync(string host, string address, CancellationToken ct) =>
        (await Pair.ExecAsync(host, ct, "bash", "-c", "ip -o -4 addr show dev \"$1\" | awk '{print $4}' | grep -qx \"$2/.*\"", "_", Pair.Cluster.Vrrp.Interface, address)).ExitCode == 0;

    /// <summary>
    /// Puts the read VIP on <see cref="Victim"/>: keepalived on its holder is told to stop (it leaves MASTER with a
    /// priority-0 advert, the victim takes the VIP at once) and started again as at boot, as a BACKUP that does not
    /// preempt, so the VIP stays.
    /// </summary>
    public async Task PutReadVipOnVictimAsync(CancellationToken ct)
    {
        var vip = Pair.Cluster.ReadVip;
        if (await HoldsAsync(Victim, vip, ct))
        {
            return;
        }

        const string stop = """
            p=$(head -n 1 -- "$1" | tr -dc '0-9')
            [ -n "$p" ] && kill -TERM "$p"
            for _ in $(seq 100); do
              { [ ! -d "/proc/$p" ] || grep -qE '^State:[[:space:]]*Z' "/proc/$p/status"; } && exit 0
              sleep 0.1
            done
            echo "keepalived $p did not stop within 10 s" >&2; exit 1
            """;
        await ExecAsync(Survivor, ct, "bash", "-c", stop, "_", NodeHost.KeepalivedPidFile);
        await ChaosSuite.WaitForAsync($"{Victim} to hold the read VIP", () => HoldsAsync(Victim, vip, ct), TimeSpan.FromSeconds(10), ct);
        await ExecAsync(Survivor, ct, HostBootRenderer.KeepalivedEntry);
        // Started as a BACKUP (nopreempt): it must hear the victim's adverts and leave the VIP where it is.
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        if (!await HoldsAsync(Victim, vip, ct) || await HoldsAsync(Survivor, vip, ct))
        {
            throw new InvalidOperationException($"the read VIP did not stay on {Victim} after keepalived on {Survivor} was started again");
        }
    }

    public async Task<OperationRecord> OperationAsync(string kind, object parameters, CancellationToken ct)
    {
        var op = await Pair.RunAsync(kind, parameters, ct);
        Log($"{kind} {op.Status}{(op.Error is null ? "" : ": " + op.Error)} ({StepTimes(op)})");
        if (op.Status != OperationStatus.Succeeded)
        {
            Log(await Pair.LogTextAsync(op.Id, ct));
        }

        return op;
    }
}

/// <summary>What a scenario did to the clients and where it left the pair.</summary>
public sealed record ChaosOutcome(
    string Scenario,
    double? ReadsBackSeconds,
    double? WritesBackSeconds,
    double WritesBoundSeconds,
    string WritesBoundText,
    int Acknowledged,
    int Lost,
    bool LossPromisedZero,
    IReadOnlyList<string> TwoWritable,
    double? TopologyTruthSeconds,
    string TruthText,
    bool Healthy,
    string EndState,
    IReadOnlyList<string> Problems)
{
    /// <summary>The issue's expectations, each broken one in words (empty when the scenario ends as the issue says).</summary>
    public IReadOnlyList<string> Findings()
    {
        var f = new List<string>(Problems);
        if (ReadsBackSeconds is not { } r || r > ChaosSuite.ReadsBackSeconds)
        {
            f.Add($"reads through the read VIP back after {Fmt(ReadsBackSeconds)} s (expected ≤ {ChaosSuite.ReadsBackSeconds} s)");
        }

        if (WritesBackSeconds is not { } w || w > WritesBoundSeconds)
        {
            f.Add($"writes through the write VIP back after {Fmt(WritesBackSeconds)} s (expected ≤ {WritesBoundSeconds:0.0} s: {WritesBoundText})");
        }

        if (LossPromisedZero && Lost > 0)
        {
            f.Add($"{Lost} of {Acknowledged} acknowledged writes lost under synchronous replication");
        }

        f.AddRange(TwoWritable.Select(t => "two writable primaries: " + t));
        if (TopologyTruthSeconds is not { } t2 || t2 > ChaosSuite.TopologyTruthSeconds)
        {
            f.Add($"the topology showed '{TruthText}' after {Fmt(TopologyTruthSeconds)} s (expected ≤ {ChaosSuite.TopologyTruthSeconds} s)");
        }

        if (!Healthy)
        {
            f.Add("end state: " + EndState);
        }

        return f;
    }

    public static string Fmt(double? seconds) => seconds is { } s ? s.ToString("0.00", CultureInfo.InvariantCulture) : "never";
}

/// <summary>
/// Issue #13's chaos suite, shared by the lab tests (<c>IntegrationTests/Chaos</c>) and <c>Benchmarks -- chaos</c>: one
/// single failure at a time under a writer through the write VIP and a reader through the read VIP, measured from the
/// clients' side, then the console's recovery actions and the pair's health as a client and the console see it.
/// </summary>
public static class ChaosSuite
{
    public const double ReadsBackSeconds = 5;
    public const double TopologyTruthSeconds = 2;
    public const int AfterSeconds = 2;

    /// <summary>The failover operation's own allowance (fence, promote, VIPs, client verification) in the bound.</summary>
    public const double FailoverRunSeconds = 15;

    /// <summary>After the failover operation (manual) or the recovery, the writer is served within this.</summary>
    public const double AfterOperationSeconds = 2;

    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private const string FenceFile = "/etc/keepalived/pghaconsole-fenced";

    public static ChaosScenario PrimaryPostmasterKilled { get; } = new(
        "kill -9 of the primary's postmaster",
        HitsPrimary: true,
        (run, ct) => KillPostmasterAsync(run, ct),
        (t, victim) => Node(t, victim) is { Role: NodeRole.Down },
        "the primary's PostgreSQL down",
        ChaosFailover.Manual,
        Synchronous: true,
        (run, ct) => OperationsAsync(ct, run.OperationAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = run.Victim }, ct)));

    public static ChaosScenario StandbyPostmasterKilled { get; } = new(
        "kill -9 of the standby's postmaster",
        HitsPrimary: false,
        (run, ct) => KillPostmasterAsync(run, ct),
        (t, victim) => Node(t, victim) is { Role: NodeRole.Down },
        "the standby's PostgreSQL down",
        ChaosFailover.None,
        Synchronous: true,
        (run, ct) => OperationsAsync(ct, run.OperationAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = run.Victim }, ct)));

    public static ChaosScenario KeepalivedKilled { get; } = new(
        "kill -9 of keepalived on the VIP holder",
        HitsPrimary: true,
        // keepalived's main process (its pid file); its VRRP child follows it (parent-death signal) and releases the VIPs.
        (run, ct) => run.ExecAsync(run.Victim, ct, "bash", "-c", "kill -9 \"$(head -n 1 \"$1\")\"", "_", NodeHost.KeepalivedPidFile),
        (t, victim) => t.Alarms.Any(a => a.Code == AlarmCodes.KeepalivedDown && a.Node == victim),
        "keepalived down on the VIP holder",
        ChaosFailover.None,
        Synchronous: false,
        // The wizard's second run is the console's repair: it starts what is not running and changes nothing else.
        (run, ct) => OperationsAsync(ct, run.OperationAsync(SetupOperation.Kind, new SetupParameters(), ct)))
    {
        // The write VIP leaves with keepalived, and only a running primary may hold it: no failover applies (the
        // primary is healthy), so writes wait for the console's repair.
        WritesNeedRecovery = true,
        ReadVipOnVictim = true,
    };

    public static ChaosScenario HaproxyKilled { get; } = new(
        "kill -9 of HAProxy on the VIP holder",
        HitsPrimary: true,
        (run, ct) => run.ExecAsync(run.Victim, ct, "bash", "-c", "kill -9 \"$(head -n 1 \"$1\")\"", "_", ReadBalancerStep.HaproxyPidFile),
        (t, victim) => t.Alarms.Any(a => a.Code == AlarmCodes.HaproxyDown && a.Node == victim),
        "HAProxy down on the VIP holder",
        ChaosFailover.None,
        Synchronous: false,
        (run, ct) => OperationsAsync(ct, run.OperationAsync(SetupOperation.Kind, new SetupParameters(), ct)))
    {
        // The write VIP leads only to the local HAProxy, whose backend is the local primary alone (split-brain safety:
        // no HAProxy ever sends writes to the peer), and it tracks that HAProxy: with it dead, no node may hold it.
        WritesNeedRecovery = true,
        ReadVipOnVictim = true,
    };

    public static ChaosScenario PrimaryLinkDownAndUp { get; } = new(
        "the primary's link down, up again after the failover",
        HitsPrimary: true,
        (run, ct) => run.ExecAsync(run.Victim, ct, "ip", "link", "set", run.Pair.Cluster.Vrrp.Interface, "down"),
        (t, victim) => Node(t, victim) is { SshReachable: false, PgReachable: false },
        "the primary unreachable",
        ChaosFailover.Automatic,
        Synchronous: true,
        (run, ct) => OperationsAsync(ct, run.OperationAsync(RejoinOperation.RejoinKind, new RejoinParameters { Node = run.Victim }, ct)))
    {
        Heal = (run, ct) => run.ExecAsync(run.Victim, ct, "ip", "link", "set", run.Pair.Cluster.Vrrp.Interface, "up"),
    };

    public static ChaosScenario HostLost { get; } = new(
        "the primary's host lost (every process killed, link down)",
        HitsPrimary: true,
        async (run, ct) => run.Log($"{run.Victim}: {await run.Pair.Controller.LoseHostAsync(run.Victim, ct)} processes killed, link down"),
        (t, victim) => Node(t, victim) is { SshReachable: false, PgReachable: false },
        "the primary's host unreachable",
        ChaosFailover.Automatic,
        Synchronous: true,
        (run, ct) => Task.FromResult<IReadOnlyList<OperationRecord>>([]))
    {
        HostLost = true,
    };

    /// <summary>Every scenario, in the order the suite runs them (the host loss last: nothing brings that host back).</summary>
    public static IReadOnlyList<ChaosScenario> All { get; } =
        [StandbyPostmasterKilled, KeepalivedKilled, HaproxyKilled, PrimaryPostmasterKilled, PrimaryLinkDownAndUp, HostLost];

    private static NodeState? Node(ClusterTopology t, string name) => t.Nodes.FirstOrDefault(n => n.Name == name);

    private static Task KillPostmasterAsync(ChaosRun run, CancellationToken ct) =>
        run.ExecAsync(run.Victim, ct, "bash", "-c", "kill -9 \"$(head -n 1 \"$1/postmaster.pid\")\"", "_", run.Pair.Cluster.Postgres.DataDir);

    private static async Task<IReadOnlyList<OperationRecord>> OperationsAsync(CancellationToken ct, params Task<OperationRecord>[] ops)
    {
        ct.ThrowIfCancellationRequested();
        var done = new List<OperationRecord>();
        foreach (var op in ops)
        {
            done.Add(await op);
        }

        return done;
    }

    /// <summary>Runs one scenario on a healthy pair and measures it; never throws for what the issue calls a finding.</summary>
    public static async Task<ChaosOutcome> RunAsync(IChaosPair pair, ChaosScenario s, Action<string> log, CancellationToken ct)
    {
        var problems = new List<string>();
        await pair.EnsureSetUpAsync(ct);
        await pair.StartWitnessAsync(ct);
        var policies = pair.Get<IFailoverPolicyStore>();
        var witness = pair.Get<FailoverWitness>();
        var monitor = pair.Get<ITopologyMonitor>();
        await policies.SaveAsync(pair.Cluster.Id, new FailoverPolicy { Automatic = s.Failover == ChaosFailover.Automatic, Synchronous = s.Synchronous, AfterSeconds = AfterSeconds }, "chaos", ct);
        witness.ForgetPolicy(pair.Cluster.Id);

        var (healthyBefore, before) = await HealthAsync(pair, ct, TimeSpan.FromSeconds(40), s.Synchronous);
        if (!healthyBefore)
        {
            throw new InvalidOperationException($"{s.Name}: the pair is not healthy before the fault: {before}");
        }

        var primary = (await PrimaryAsync(pair, ct))!;
        var standby = pair.Cluster.Nodes.First(n => n.Name != primary).Name;
        var run = new ChaosRun(pair, primary, standby, log) { };
        run.Victim = s.HitsPrimary ? primary : standby;
        log($"— {s.Name}: {primary} primary, {standby} standby, victim {run.Victim}; policy {s.Failover}{(s.Synchronous ? ", synchronous" : "")}");

        if (s.ReadVipOnVictim)
        {
            await run.PutReadVipOnVictimAsync(ct);
        }

        var password = await pair.MonitorPasswordAsync(ct);
        await using var writer = new VipWriter(pair.Cluster, password, "chaos-" + Guid.NewGuid().ToString("N")[..6]);
        await using var reader = new VipReader(pair.Cluster, password);
        writer.Start();
        reader.Start();
        await WaitAsync("the writer and the reader served", () => Task.FromResult(writer.Acknowledged.Count > 20 && reader.Acknowledged.Count > 20), TimeSpan.FromSeconds(10), ct);

        // Watch the console's picture from the fault on: when it shows the truth, and whether it ever shows two
        // writable primaries behind the VIPs.
        var twoWritable = new List<string>();
        using var watchStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var faultAt = DateTimeOffset.UtcNow;
        DateTimeOffset? truthAt = null;
        var watch = Task.Run(async () =>
        {
            while (!watchStop.IsCancellationRequested)
            {
                if (monitor.GetLatest(pair.Cluster.Id) is { } t && t.ObservedAt > faultAt)
                {
                    if (truthAt is null && s.TopologyTruth(t, run.Victim))
                    {
                        // When the console knew it (the picture's own time), not when this loop looked.
                        truthAt = t.ObservedAt;
                    }

                    var writable = t.Nodes.Where(n => n.Role == NodeRole.Primary && n.Fenced is null && (n.HoldsWriteVip || n.HoldsReadVip)).Select(n => n.Name).ToList();
                    if (writable.Count > 1 && twoWritable.Count < 5)
                    {
                        twoWritable.Add($"the console saw {string.Join(" and ", writable)} as unfenced primaries holding VIPs at {t.ObservedAt:HH:mm:ss.fff}");
                    }
                }

                try
                {
                    await Task.Delay(100, watchStop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }, CancellationToken.None);

        await run.DescribeAsync("before", ct);
        faultAt = DateTimeOffset.UtcNow;
        await s.Fault(run, ct);
        log($"fault at {faultAt:HH:mm:ss.fff}");
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await run.DescribeAsync("1 s after", ct);

        double writesBound;
        string boundText;
        switch (s.Failover)
        {
            case ChaosFailover.Manual:
            {
                var env = (await pair.Get<ClusterEnvironmentFactory>().CreateAsync(pair.Cluster.Id, ct))!;
                await WaitAsync("the failover preflight to allow it", async () => (await FailoverPreflight.RunAsync(env, new FailoverParameters(), ct)).CanFailOver, TimeSpan.FromSeconds(60), ct);
                var op = await run.OperationAsync(FailoverOperation.Kind, new FailoverParameters { Confirm = pair.Cluster.Name, From = run.Victim, To = run.Survivor }, ct);
                if (op.Status != OperationStatus.Succeeded)
                {
                    problems.Add("the failover operation " + op.Status + ": " + op.Error);
                }

                writesBound = ((op.FinishedAt ?? DateTimeOffset.UtcNow) - faultAt).TotalSeconds + AfterOperationSeconds;
                boundText = $"manual: {AfterOperationSeconds} s after the failover operation ended";
                break;
            }

            case ChaosFailover.Automatic:
            {
                var promoteAfter = s.HostLost || s.Heal is not null
                    ? SelfFence.UnreachableFailoverDelay(AfterSeconds, Poll).TotalSeconds
                    : AfterSeconds;
                writesBound = promoteAfter + 2 * Poll.TotalSeconds + FailoverRunSeconds;
                boundText = $"automatic: promotion allowed after {promoteAfter:0} s + 2 polls + {FailoverRunSeconds} s for the operation";
                OperationRecord? failover = null;
                try
                {
                    await WaitAsync("the automatic failover", async () =>
                    {
                        var ops = await pair.Get<IOperationJournal>().ListByClusterAsync(pair.Cluster.Id, 5, ct);
                        failover = ops.FirstOrDefault(o => o.Kind == FailoverOperation.Kind && o.CreatedAt >= faultAt);
                        return failover is { Status: OperationStatus.Succeeded or OperationStatus.Failed };
                    }, TimeSpan.FromSeconds(writesBound + 30), ct);
                    log($"automatic failover {failover!.Status} {(failover.FinishedAt!.Value - faultAt).TotalSeconds:0.0} s after the fault, started {((failover.StartedAt ?? failover.CreatedAt) - faultAt).TotalSeconds:0.0} s after it ({ChaosRun.StepTimes(failover)})");
                    if (failover.Status != OperationStatus.Succeeded)
                    {
                        problems.Add("the automatic failover " + failover.Status + ": " + failover.Error);
                        log(await pair.LogTextAsync(failover.Id, ct));
                    }
                }
                catch (TimeoutException ex)
                {
                    problems.Add(ex.Message);
                }

                break;
            }

            default:
                // The primary survives: writes stop at most while synchronous replication degrades (the standby lost).
                writesBound = s.Synchronous
                    ? SynchronousReplication.DefaultDegradeAfter.TotalSeconds + 2 * Poll.TotalSeconds + AfterOperationSeconds
                    : AfterOperationSeconds;
                boundText = s.Synchronous ? "the primary survives: synchronous replication degrades after 5 s + 2 polls" : "the primary survives: writes go on";
                break;
        }

        // Let the clients show whether they are served (or stay cut off) before anything heals.
        var settle = faultAt + TimeSpan.FromSeconds(Math.Max(ReadsBackSeconds, writesBound) + 1);
        await WaitAsync("the clients served again or the bounds passed", () => Task.FromResult(
            DateTimeOffset.UtcNow > settle
            || (reader.BackAfter(faultAt) is { } rb && DateTimeOffset.UtcNow - rb > TimeSpan.FromSeconds(1)
                && writer.BackAfter(faultAt) is { } wb && DateTimeOffset.UtcNow - wb > TimeSpan.FromSeconds(1)
                && DateTimeOffset.UtcNow - faultAt > TimeSpan.FromSeconds(TopologyTruthSeconds + 1))), TimeSpan.FromSeconds(120), ct);
        // Back = the end of the longest stretch without a success from just before the fault on (VipClient.OutageEnd):
        // a stray failure later (a 500 ms connect on a loaded machine) is not the outage.
        var readsBack = Seconds(reader.OutageEnd(faultAt), faultAt);
        await run.DescribeAsync("settled", ct);
        await run.LogTransitionsAsync(ct);
        IReadOnlyList<OperationRecord>? recovery = null;
        if (s.WritesNeedRecovery)
        {
            recovery = await s.Recover(run, ct);
            var recovered = recovery.Select(o => o.FinishedAt).Max() ?? DateTimeOffset.UtcNow;
            writesBound = (recovered - faultAt).TotalSeconds + AfterOperationSeconds;
            boundText = $"{AfterOperationSeconds} s after the console's recovery ({string.Join(", ", recovery.Select(o => o.Kind))}) ended";
            await WaitAsync("writes after the recovery", () => Task.FromResult(writer.FirstAckAfter(recovered) is not null || DateTimeOffset.UtcNow > recovered + TimeSpan.FromSeconds(AfterOperationSeconds + 1)),
                TimeSpan.FromSeconds(30), ct);
        }

        var writesBack = Seconds(writer.OutageEnd(faultAt), faultAt);
        log($"reads back {ChaosOutcome.Fmt(readsBack)} s, writes back {ChaosOutcome.Fmt(writesBack)} s (bound {writesBound:0.0} s: {boundText})");
        log("reader: " + reader.Timeline(faultAt, (int)Math.Ceiling(readsBack ?? ReadsBackSeconds) + 1));

        if (s.Heal is { } heal)
        {
            await heal(run, ct);
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
        }

        await watchStop.CancelAsync();
        await watch;
        await writer.StopAsync();
        await reader.StopAsync();

        // Nothing acknowledged lost: every acknowledged row on the primary now.
        var finalPrimary = await PrimaryAsync(pair, ct);
        var lost = writer.Acknowledged.Count;
        if (finalPrimary is not null)
        {
            var present = (await PsqlAsync(pair, finalPrimary, $"SELECT written_by FROM pghaconsole.heartbeat WHERE written_by LIKE '{writer.Tag}:%'", ct) ?? "")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            lost = writer.Acknowledged.Count(a => !present.Contains($"{writer.Tag}:{a.N}"));
        }
        else
        {
            problems.Add("not exactly one primary after the fault");
        }

        // Two writable primaries seen by the writer: after the first write acknowledged by the new primary, any by the old.
        var oldAddress = pair.Cluster.Nodes.First(n => n.Name == run.Victim).Address;
        var newAddress = pair.Cluster.Nodes.First(n => n.Name == run.Survivor).Address;
        var firstNew = writer.Acknowledged.Where(a => a.Server == newAddress).Select(a => (DateTimeOffset?)a.At).Min();
        if (firstNew is { } fn && writer.Acknowledged.FirstOrDefault(a => a.Server == oldAddress && a.At > fn) is { Server: not null } late)
        {
            twoWritable.Add($"the writer's insert {late.N} was acknowledged by {run.Victim} at {late.At:HH:mm:ss.fff}, after {run.Survivor} had acknowledged writes");
        }

        var truthSeconds = Seconds(truthAt, faultAt);
        log($"topology showed '{s.TruthText}' after {ChaosOutcome.Fmt(truthSeconds)} s; {lost} of {writer.Acknowledged.Count} acknowledged lost");

        // The console's recovery actions, then the pair as a client and the console see it.
        bool healthy;
        string end;
        if (s.HostLost)
        {
            var alone = finalPrimary == run.Survivor && await ThroughVipAsync(pair, pair.Cluster.WriteVip, password, ct) == newAddress
                && await ThroughVipAsync(pair, pair.Cluster.ReadVip, password, ct) == newAddress;
            healthy = alone;
            end = alone
                ? $"{run.Survivor} primary alone, serving both VIPs; {run.Victim} lost (a rebuild once its host is back)"
                : $"the survivor {run.Survivor} does not serve both VIPs as the primary (primary now: {finalPrimary ?? "none"})";
        }
        else
        {
            var ops = recovery ?? await s.Recover(run, ct);
            var (ok, detail) = await HealthAsync(pair, ct, TimeSpan.FromSeconds(30), s.Synchronous);
            healthy = ok && ops.All(o => o.Status == OperationStatus.Succeeded);
            end = (ops.Count == 0 ? "" : string.Join(", ", ops.Select(o => $"{o.Kind} {o.Status.ToString().ToLowerInvariant()}")) + "; ") + (ok ? "healthy: " : "NOT healthy: ") + detail;
        }

        await run.DescribeAsync("end", ct);
        log("end state: " + end);
        return new ChaosOutcome(s.Name, readsBack, writesBack, writesBound, boundText, writer.Acknowledged.Count, lost, s.Synchronous,
            twoWritable, truthSeconds, s.TruthText, healthy, end, problems);
    }

    private static double? Seconds(DateTimeOffset? at, DateTimeOffset from) => at is { } a ? Math.Max(0, (a - from).TotalSeconds) : null;

    private static async Task<string?> PsqlAsync(IChaosPair pair, string host, string sql, CancellationToken ct)
    {
        try
        {
            var r = await pair.ExecAsync(host, ct, "runuser", "-u", "postgres", "--", "timeout", "10", "psql", "-XAtc", sql);
            return r.ExitCode == 0 ? r.StandardOutput.Trim() : null;
        }
        catch (LabException)
        {
            // The host is lost (no sshd to enter it by).
            return null;
        }
    }

    /// <summary>The one node not in recovery, from the hosts; null when not exactly one.</summary>
    public static async Task<string?> PrimaryAsync(IChaosPair pair, CancellationToken ct)
    {
        var primaries = new List<string>();
        foreach (var n in pair.Cluster.Nodes)
        {
            if (await PsqlAsync(pair, n.Name, "SELECT pg_is_in_recovery()", ct) == "f")
            {
                primaries.Add(n.Name);
            }
        }

        return primaries.Count == 1 ? primaries[0] : null;
    }

    /// <summary>The node address that answers a query through <paramref name="vip"/> (a write through the write VIP), or null.</summary>
    private static async Task<string?> ThroughVipAsync(IChaosPair pair, string vip, string password, CancellationToken ct)
    {
        var sql = vip == pair.Cluster.WriteVip
            ? "INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('chaos-check') RETURNING host(inet_server_addr())"
            : "SELECT host(inet_server_addr())";
        var cs = PgHaConsole.Infrastructure.Postgres.NodeConnections.Monitor(pair.Cluster, vip, password, "chaos-check", timeout: 2, commandTimeout: 3).ConnectionString;
        try
        {
            await using var conn = new Npgsql.NpgsqlConnection(cs);
            await conn.OpenAsync(ct);
            await using var cmd = new Npgsql.NpgsqlCommand(sql, conn);
            return (string?)await cmd.ExecuteScalarAsync(ct);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Healthy and verified: one primary, the other streaming from it (synchronously when the policy says so), the
    /// write VIP on the primary only, a write through the write VIP answered by the primary, a read through the read
    /// VIP answered, no node fenced, and the console's own probe agreeing with no alarm left. Waits up to
    /// <paramref name="timeout"/> for it.
    /// </summary>
    public static async Task<(bool Healthy, string Detail)> HealthAsync(IChaosPair pair, CancellationToken ct, TimeSpan timeout, bool synchronous = false)
    {
        var watch = Stopwatch.StartNew();
        var password = await pair.MonitorPasswordAsync(ct);
        while (true)
        {
            var (ok, detail) = await HealthOnceAsync(pair, password, synchronous, ct);
            if (ok || watch.Elapsed > timeout)
            {
                return (ok, detail);
            }

            await Task.Delay(500, ct);
        }
    }

    private static async Task<(bool, string)> HealthOnceAsync(IChaosPair pair, string password, bool synchronous, CancellationToken ct)
    {
        var primary = await PrimaryAsync(pair, ct);
        if (primary is null)
        {
            return (false, "not exactly one primary");
        }

        var standby = pair.Cluster.Nodes.First(n => n.Name != primary).Name;
        var state = await PsqlAsync(pair, primary, $"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '{standby}'", ct);
        var fenced = await pair.ExecAsync(standby, ct, "bash", "-c", $"[ -e {FenceFile} ] && echo fenced; true");
        var address = pair.Cluster.Nodes.First(n => n.Name == primary).Address;
        var write = await ThroughVipAsync(pair, pair.Cluster.WriteVip, password, ct);
        var read = await ThroughVipAsync(pair, pair.Cluster.ReadVip, password, ct);
        var picture = await pair.Get<ITopologyMonitor>().ProbeNowAsync(pair.Cluster.Id, ct);
        var alarms = picture?.Alarms.Select(a => $"{a.Code}@{a.Node}").ToList() ?? ["no picture"];
        var consoleAgrees = picture is not null && picture.WriteVipHolder == primary
            && picture.Nodes.Single(n => n.Name == primary).Role == NodeRole.Primary && picture.Nodes.Single(n => n.Name == standby).Role == NodeRole.Standby;
        var expectedState = synchronous ? "streaming sync" : "streaming ";
        var ok = state is not null && state.StartsWith(expectedState, StringComparison.Ordinal) && fenced.StandardOutput.Trim() == "" && write == address && read is not null
            && consoleAgrees && alarms.Count == 0;
        return (ok, $"{primary} primary, {standby} '{state}' from it, writes through the write VIP answered by {write ?? "nobody"}, reads by {read ?? "nobody"}"
            + $"{(fenced.StandardOutput.Trim() == "" ? "" : $", {standby} fenced")}, console: write VIP on {picture?.WriteVipHolder ?? "nobody"}, alarms [{string.Join(", ", alarms)}]");
    }

    internal static Task WaitForAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct) =>
        WaitAsync(what, condition, timeout, ct);

    private static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, CancellationToken ct)
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
}
