using System.Globalization;
using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>Base of the switchover's steps: the old primary and the standby to promote.</summary>
public abstract class SwitchoverStep(SwitchoverRun run) : PrimaryChangeStep<SwitchoverRun>(run);

/// <summary>Step 1: the preflight report; any failed check stops the switchover before anything changes.</summary>
public sealed class SwitchoverPreflightStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "preflight";

    public override string Description => "Both hosts reachable, standby streaming on the same timeline, lag under thresholds, rewind prerequisites, keepalived, disk";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([Note(Old, "read-only checks on both hosts (see the preflight report)")]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("checked before every switchover"));

    public override async Task RunAsync(IOperationContext context)
    {
        var report = await SwitchoverPreflight.RunAsync(Run.Env, Run.Parameters, context.CancellationToken);
        foreach (var c in report.Checks)
        {
            context.Log(Name, c.Host, LogStream.Info, $"[{(c.Ok ? "ok  " : "FAIL")}] {c.Check}: {c.Detail}");
        }

        if (!report.CanSwitch)
        {
            throw new StepFailedException("Preflight failed: " + string.Join("; ", report.Checks.Where(c => !c.Ok).Select(c => (c.Host is null ? "" : c.Host + ": ") + c.Detail)));
        }

        if (report.Primary != Old.Name)
        {
            throw new StepFailedException($"{Old.Name} is no longer the primary ({report.Primary} is).");
        }

        Run.StartProbe();
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(StepVerification.Passed($"ready: {Old.Name} → {New.Name}"));
}

/// <summary>
/// Step 2: fence the old primary and move the VIPs to the standby in the same moment. CHECKPOINT first (so the shutdown
/// is short), then in one round trip on the old primary: the fast shutdown begun, keepalived told to stop and the VIPs
/// removed at once, then pg_control polled every 10 ms until the shutdown checkpoint is written; as soon as the host
/// reports the VIPs off they are added on the standby (a second round trip, in parallel with the rest of the shutdown).
/// </summary>
/// <remarks>
/// Why the VIPs may go to the standby before the old primary's shutdown has finished (its checkpoint, its WAL senders'
/// delivery, its postmaster's exit) and before any promotion:
/// <list type="bullet">
/// <item>Never two writable primaries through the write VIP: the VIPs leave the old primary only after its fast shutdown
/// has begun (no new connection, no new write from then on: sessions are terminated, new ones refused) and are added on
/// the standby only after the old host said they are gone, so the address is on one host at a time. The standby is
/// read-only until step 4, which promotes it only after step 3 saw the old primary's shutdown checkpoint on it. Meanwhile
/// a client reaching the standby through the write VIP gets a read-only error at once, and its next attempt after the
/// promotion succeeds. (They leave at the start of the shutdown, while the old postmaster still answers "shutting down"
/// at once: later, once it stops listening, HAProxy there holds a new client for its 1 s retry.)</item>
/// <item>No acknowledged write lost: unchanged by the order of the VIPs. Every write the old primary acknowledged is in
/// its WAL before its shutdown checkpoint, and step 3 waits until the standby has received WAL past that checkpoint.</item>
/// <item>When the shutdown does not finish in time (or step 3 times out), nothing was promoted: the VIPs are taken off
/// the standby again before the old primary is restarted as the primary and its keepalived brings them back.</item>
/// </list>
/// </remarks>
public sealed class FenceStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "fence-old-primary";

    public override string Description => "CHECKPOINT, fast shutdown (no write accepted from its first moment), VIPs off and keepalived stopped, VIPs onto the standby (still read-only), shutdown checkpoint LSN";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(Old, "psql: CHECKPOINT"),
        Note(Old, $"pg_ctl stop -m fast (bounded by {Run.Parameters.StopTimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s)"),
        Note(Old, "stop keepalived; remove the VIPs from " + Run.Env.Cluster.Vrrp.Interface),
        Note(New, $"as soon as they are off {Old.Name}: ip addr add {Run.Env.Cluster.WriteVip} and {Run.Env.Cluster.ReadVip}; arping -U (it stays read-only until the promotion)"),
        Note(Old, "pg_controldata: state 'shut down' and the latest checkpoint location"),
    ]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        Run.StartProbe();
        var state = await Old.GetPgStateAsync(context.CancellationToken);
        if (state.Running)
        {
            return StepCheck.NotDone($"{Old.Name} runs as the primary");
        }

        var control = await Old.ControlDataAsync(context.CancellationToken);
        Run.ShutdownCheckpoint = control?.LatestCheckpoint;
        return StepCheck.Done($"{Old.Name} is already stopped ({control?.StateText}, checkpoint {control?.LatestCheckpoint})");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        // CHECKPOINT while clients still write: the shutdown checkpoint after it is then short. Not needed for safety: a
        // server already shutting down (a resumed run) refuses it, and the fence goes on.
        try
        {
            await Old.PsqlAsync("CHECKPOINT", log, ct, echoSql: true);
        }
        catch (StepFailedException ex)
        {
            log.Info(Old.Name, $"no CHECKPOINT first ({ex.Message})");
        }

        Task? vipsOnNew = null;
        void VipsOff() => vipsOnNew = Task.Run(() => Run.Actions.AddVipsAsync(New, log, ct), CancellationToken.None);
        try
        {
            _control = await Run.Actions.FenceAsync(Old, TimeSpan.FromSeconds(Run.Parameters.StopTimeoutSeconds), log, ct, VipsOff, untilCheckpoint: true);
            Run.FencedInThisRun = true;
        }
        catch (StepFailedException ex)
        {
            // A fast shutdown waits for the WAL senders to deliver the shutdown checkpoint: when it does not finish in
            // time the standby is not receiving. Stop it hard, take the VIPs back off the standby, bring the old primary
            // back as the primary (its keepalived brings the VIPs back), promote nothing.
            log.Info(Old.Name, $"the fast shutdown did not complete ({ex.Message}): stopping it immediately and restarting it as the primary");
            await Quietly(vipsOnNew);
            await Run.TakeVipsOffStandbyAsync(log, ct);
            await Old.StopPgAsync(log, ct, "immediate", TimeSpan.FromSeconds(30));
            await Old.StartPgAsync(log, ct);
            await Run.Actions.StartKeepalivedAsync(Old, log, ct);
            throw new StepFailedException(
                $"{Old.Name} did not shut down within {PrimaryChangeRun.Seconds(Run.Parameters.StopTimeoutSeconds)} (its WAL sender could not deliver the shutdown checkpoint: is {New.Name} receiving?). "
                + $"{Old.Name} was restarted as the primary; nothing was promoted, nothing was lost.");
        }

        if (vipsOnNew is not null)
        {
            try
            {
                await vipsOnNew;
                Run.VipsOnNewSinceFence = true;
            }
            catch (StepFailedException ex)
            {
                // Not fatal: the move-vips step adds them after the promotion (the write gap is then longer).
                log.Info(New.Name, $"the VIPs could not be added with the fence ({ex.Message}); the move-vips step adds them");
            }
        }
    }

    private static async Task Quietly(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task;
        }
        catch (Exception ex) when (ex is StepFailedException or OperationCanceledException or InvalidOperationException or IOException)
        {
            // the caller takes the VIPs off again anyway
        }
    }

    private Core.Parsing.PgControlData? _control;

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        // Read by the fence itself (same round trip) on a fresh run; from the host on a resume.
        var control = _control ?? await Old.ControlDataAsync(context.CancellationToken);
        if (control is not { IsCleanlyShutDown: true, LatestCheckpoint: { } lsn })
        {
            return StepVerification.Failed($"{Old.Name} is not cleanly shut down ({control?.StateText ?? "pg_controldata unreadable"})");
        }

        Run.ShutdownCheckpoint = lsn;
        return StepVerification.Passed($"{Old.Name} shut down cleanly; shutdown checkpoint at {lsn} on timeline {control.TimeLineId?.ToString(CultureInfo.InvariantCulture)}"
            + (Run.VipsOnNewSinceFence ? $"; the VIPs are on {New.Name} (read-only until the promotion)" : ""));
    }
}

/// <summary>
/// Step 3: the standby must have received the old primary's WAL up to (and including) its shutdown checkpoint: then
/// every acknowledged commit is on the standby. If it does not in time, the VIPs are taken off the standby, the old
/// primary is restarted as the primary and the switchover stops: nothing promoted, nothing lost. One round trip: the
/// check, and the wait when it is needed, run on the standby in one psql session.
/// </summary>
public sealed class WaitForStandbyStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "wait-for-standby";

    public override string Description => "Wait until the standby has received WAL past the old primary's shutdown checkpoint (else take the VIPs back, restart the old primary and stop)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, $"pg_last_wal_receive_lsn() until it passes the shutdown checkpoint (at most {Run.Parameters.CatchUpTimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s)"),
    ]));

    private async Task<Lsn> CheckpointAsync(CancellationToken ct) =>
        Run.ShutdownCheckpoint ?? (await Old.ControlDataAsync(ct))?.LatestCheckpoint ?? throw new StepFailedException($"The shutdown checkpoint of {Old.Name} is unknown.");

    private (Lsn? Received, bool InRecovery)? _seen;

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var checkpoint = await CheckpointAsync(ct);
        // A zero wait: what it has received now (and whether it is still a standby, for the promote step).
        var (received, inRecovery) = await Run.Actions.WaitReceivedAsync(New, checkpoint, TimeSpan.Zero, ct);
        Run.NewInRecoverySeen = inRecovery;
        return received is { } r && r > checkpoint && inRecovery
            ? StepCheck.Done($"{New.Name} has received WAL up to {r}, past the shutdown checkpoint {checkpoint}")
            : StepCheck.NotDone($"{New.Name} has received up to {received?.ToString() ?? "?"}; the shutdown checkpoint is at {checkpoint}");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var checkpoint = await CheckpointAsync(ct);
        var timeout = TimeSpan.FromSeconds(Run.Parameters.CatchUpTimeoutSeconds);
        var (received, inRecovery) = await Run.Actions.WaitReceivedAsync(New, checkpoint, timeout, ct);
        _seen = (received, inRecovery);
        Run.NewInRecoverySeen = inRecovery;
        if (received is { } r && r > checkpoint && inRecovery)
        {
            log.Info(New.Name, $"received up to {r} (shutdown checkpoint {checkpoint})");
            return;
        }

        if (!inRecovery)
        {
            // Someone promoted it outside this switchover: restarting the old primary would make two primaries.
            throw new StepFailedException($"{New.Name} is no longer in recovery (promoted outside this switchover?); {Old.Name} stays stopped. Inspect the pair before going on.");
        }

        log.Info(null, $"{New.Name} did not receive the shutdown checkpoint within {PrimaryChangeRun.Seconds(timeout.TotalSeconds)}: taking the VIPs off it and restarting {Old.Name} as the primary");
        await Run.TakeVipsOffStandbyAsync(log, ct);
        await Run.Actions.FinishShutdownAsync(Old, log, ct);
        await Old.StartPgAsync(log, ct);
        await Run.Actions.StartKeepalivedAsync(Old, log, ct);
        throw new StepFailedException(
            $"{New.Name} did not receive WAL up to {Old.Name}'s shutdown checkpoint {checkpoint} within {PrimaryChangeRun.Seconds(timeout.TotalSeconds)} (it has {received?.ToString() ?? "nothing"}). "
            + $"{Old.Name} was restarted as the primary; nothing was promoted, nothing was lost.");
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        // The run's own reading (taken after the wait, in the same session) is the verification; a new one otherwise.
        if (_seen is ({ } r, true) && r > await CheckpointAsync(context.CancellationToken))
        {
            return StepVerification.Passed($"{New.Name} has received WAL up to {r}, past the shutdown checkpoint {Run.ShutdownCheckpoint}");
        }

        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }
}

/// <summary>Step 4: promote the standby and wait until it accepts writes (one psql session); its CHECKPOINT comes at the rejoin.</summary>
public sealed class PromoteStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "promote";

    public override string Description => "Promote the standby (pg_promote on 12+, pg_ctl promote on 11) and wait until it accepts writes; the VIPs lead to it from then on";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, Run.Env.Cluster.Postgres.MajorVersion >= 12 ? "SELECT pg_promote(false), then pg_is_in_recovery() every 2 ms until false" : "pg_ctl promote -w"),
    ]));

    private int? _timeline;

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        // In the write gap: step 3 of this run read pg_is_in_recovery() in the same session as the received LSN, moments
        // ago, under the cluster's lock (nothing else promotes: the keepalived scripts never do). A resumed run asks.
        if (Run.NewInRecoverySeen == true)
        {
            return StepCheck.NotDone($"{New.Name} was in recovery at step 3");
        }

        var recovery = (await New.PsqlAsync("SELECT pg_is_in_recovery()", null, context.CancellationToken)).Trim();
        return recovery == "f" ? StepCheck.Done($"{New.Name} is already a primary") : StepCheck.NotDone($"{New.Name} is in recovery");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        _timeline = await Run.Actions.PromoteAsync(New, Log(context), ct);

        // The proof by a committed write comes through the write VIP in the next step; the CHECKPOINT (which pg_rewind
        // needs to see the new timeline) at the start of the old primary's rejoin: neither inside the write gap.
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        if (_timeline is { } tli)
        {
            // Read in the promoting session after pg_is_in_recovery() turned false.
            return StepVerification.Passed($"{New.Name} accepts writes on timeline {tli.ToString(CultureInfo.InvariantCulture)}");
        }

        var row = (await New.PsqlAsync("SELECT pg_is_in_recovery(), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int", null, context.CancellationToken)).Split('\t');
        return row[0] == "f"
            ? StepVerification.Passed($"{New.Name} accepts writes on timeline {row[1]}")
            : StepVerification.Failed($"{New.Name} is still in recovery");
    }
}

/// <summary>Step 5: both VIPs on the new primary (normally there since the fence), verified on the hosts and by a write.</summary>
public sealed class MoveVipsStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "move-vips";

    public override string Description => "The VIPs on the new primary (added with the fence; keepalived then holds them there), verified by a write through the write VIP";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, $"unless the fence put them there: ip addr add {Run.Env.Cluster.WriteVip} and {Run.Env.Cluster.ReadVip} on {Run.Env.Cluster.Vrrp.Interface}; arping -U (gratuitous ARP)"),
        Note(New, $"a write through {Run.Env.Cluster.WriteVip} commits on {New.Name}"),
    ]));

    private async Task<(bool Ok, string Detail)> WhereAsync(CancellationToken ct)
    {
        var both = await Task.WhenAll(Run.Actions.VipsOnAsync(New, ct), Run.Actions.VipsOnAsync(Old, ct));
        var (n, o) = (both[0], both[1]);
        var ok = n.Write && n.Read && !o.Write && !o.Read;
        return (ok, $"write VIP on {(n.Write ? New.Name : o.Write ? Old.Name : "nobody")}{(n.Write && o.Write ? " and " + Old.Name : "")}, read VIP on {(n.Read ? New.Name : o.Read ? Old.Name : "nobody")}");
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        // Not skipped when they are there already: the write through the VIP (the verification) is still to be seen.
        if (Run.VipsOnNewSinceFence)
        {
            return StepCheck.NotDone($"the VIPs went to {New.Name} with the fence; to verify");
        }

        var (w, r) = await Run.Actions.VipsOnAsync(New, context.CancellationToken);
        return w && r ? StepCheck.Done($"both VIPs are on {New.Name}") : StepCheck.NotDone($"the VIPs are not on {New.Name} yet");
    }

    public override Task RunAsync(IOperationContext context)
    {
        if (Run.VipsOnNewSinceFence)
        {
            Log(context).Info(New.Name, "the VIPs are on it since the fence");
            return Task.CompletedTask;
        }

        return Run.Actions.AddVipsAsync(New, Log(context), context.CancellationToken);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var (ok, detail) = await WhereAsync(ct);
        if (!ok)
        {
            return StepVerification.Failed(detail);
        }

        // The proof a client would want: a write through the write VIP commits on the new primary.
        var cluster = Run.Env.Cluster;
        var cs = NodeConnections.Monitor(cluster, cluster.WriteVip, Run.Env.Secrets.MonitorPassword, "pghaconsole-switchover", timeout: 2, commandTimeout: 5).ConnectionString;
        var started = Run.Env.Time.GetTimestamp();
        while (true)
        {
            try
            {
                await using var conn = new Npgsql.NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                await using var cmd = new Npgsql.NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('switchover') RETURNING host(inet_server_addr())", conn);
                var address = (string?)await cmd.ExecuteScalarAsync(ct);
                return address == New.Node.Address
                    ? StepVerification.Passed(detail + $"; a write through {cluster.WriteVip} committed on {New.Name}")
                    : StepVerification.Failed(detail + $"; a write through {cluster.WriteVip} landed on {address}, not {New.Name}");
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException && Run.Env.Time.GetElapsedTime(started) < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), Run.Env.Time, ct);
            }
        }
    }
}

/// <summary>
/// Step 7: the old primary becomes a standby of the new one: pg_rewind only when the timelines say its WAL diverged
/// (after a clean switchover it has not), the recovery swap, start, keepalived back on, streaming verified.
/// </summary>
public sealed class RejoinOldPrimaryStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "rejoin-old-primary";

    public override string Description => "The old primary follows the new one: rewind only if needed, recovery swap, start, keepalived, streaming verified";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(Old, "compare its shutdown checkpoint with the new timeline's switch point; pg_rewind only if it diverged"),
        Note(Old, Run.Env.Cluster.Postgres.MajorVersion >= 12 ? "standby.signal + primary_conninfo (pre-staged include file)" : "recovery.done → recovery.conf"),
        Note(Old, "pg_ctl start; keepalived start; wait for 'streaming' in the new primary's pg_stat_replication"),
    ]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        if (Run.FencedInThisRun)
        {
            // Fenced moments ago by this run: not a standby yet (and a postmaster still exiting would not answer).
            return StepCheck.NotDone($"{Old.Name} was fenced by this run");
        }

        var state = await Old.GetPgStateAsync(ct);
        return state.IsStandby && await Run.Actions.StreamingAsync(New, Old, ct)
            ? StepCheck.Done($"{Old.Name} already streams from {New.Name}")
            : StepCheck.NotDone($"{Old.Name}: {state.Describe()}");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        await New.PsqlAsync("CHECKPOINT", log, ct, echoSql: true);
        // The fence went on at the shutdown checkpoint; the postmaster may still be finishing its exit. Its WAL up to
        // the checkpoint is on the new primary (step 3): it is stopped at once, pg_control staying "shut down".
        await Run.Actions.FinishShutdownAsync(Old, log, ct);
        var state = await Old.GetPgStateAsync(ct);
        if (state.Running)
        {
            await Old.StopPgAsync(log, ct);
        }

        var (needed, reason) = await Run.Actions.RewindNeededAsync(Old, New, ct);
        log.Info(Old.Name, (needed ? "pg_rewind needed: " : "no rewind needed: ") + reason);
        if (needed)
        {
            await Run.Actions.RewindAsync(Old, New, log, ct);
        }

        await Run.Actions.MakeStandbyConfigAsync(Old, log, ct);
        await Old.StartPgAsync(log, ct);
        await Run.Actions.StartKeepalivedAsync(Old, log, ct);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ok = await Run.Actions.WaitStreamingAsync(New, Old, TimeSpan.FromSeconds(30), context.CancellationToken);
        return ok ? StepVerification.Passed($"{Old.Name} streams from {New.Name}") : StepVerification.Failed($"{Old.Name} does not stream from {New.Name} after 30 s");
    }
}

/// <summary>Step 8: the report: each step's duration and the write unavailability the probe saw.</summary>
public sealed class ReportStep(SwitchoverRun run) : SwitchoverStep(run)
{
    public override string Name => "report";

    public override string Description => "Report: duration of each step and the write unavailability seen through the write VIP";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(StepPlan.Empty);

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("the report is written at the end of every run"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var journal = Run.Journal;
        var probe = Run.Probe is null ? null : await Run.Probe.StopAsync();
        var op = await journal.GetAsync(context.OperationId, ct);
        var steps = op?.Steps.Where(s => s.StartedAt is not null && s.FinishedAt is not null)
            .Select(s => new { name = s.Name, status = s.Status.ToString().ToLowerInvariant(), seconds = Math.Round((s.FinishedAt!.Value - s.StartedAt!.Value).TotalSeconds, 3) })
            .ToList();
        var total = op?.StartedAt is { } start ? Math.Round((Run.Env.Time.GetUtcNow() - start).TotalSeconds, 3) : (double?)null;
        var report = new
        {
            from = Old.Name,
            to = New.Name,
            totalSeconds = total,
            steps,
            writeProbe = probe is null ? null : new
            {
                attempts = probe.Attempts,
                acknowledged = probe.Acknowledged,
                failures = probe.Failures,
                longestGapSeconds = Math.Round(probe.LongestGapSeconds, 3),
                longestGapStart = probe.LongestGapStart,
                longestGapEnd = probe.LongestGapEnd,
            },
        };
        await journal.SetReportAsync(context.OperationId, JsonSerializer.Serialize(report, OperationJson.Options), ct);
        var log = Log(context);
        foreach (var s in steps ?? [])
        {
            log.Info(null, $"{s.name}: {PrimaryChangeRun.Seconds(s.seconds)}");
        }

        if (probe is not null)
        {
            log.Info(null, $"write probe through {Run.Env.Cluster.WriteVip}: {probe.Acknowledged.ToString(CultureInfo.InvariantCulture)} acknowledged writes, longest gap {PrimaryChangeRun.Seconds(probe.LongestGapSeconds)}");
        }
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed("report written"));
}
