using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Rejoin;

/// <summary>Base of the rejoin/rebuild steps: a step is verified by checking again, unless it says otherwise.</summary>
public abstract class RejoinStep(RejoinRun run) : OperationStep<RejoinRun>(run)
{
    protected NodeHost Target => Run.Target;

    protected NodeHost Primary => Run.Primary;

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }
}

/// <summary>The peer must run as the primary; a target that runs as a primary too (split brain) needs the typed name.</summary>
public sealed class RejoinPreflightStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "preflight";

    public override string Description => "The peer runs as the primary; what each side has (timeline, LSN) when both are primaries";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([Note(Primary, "read-only: roles, timelines, LSNs")]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("checked before every run"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var p = await Primary.GetPgStateAsync(ct);
        if (!p.IsPrimary)
        {
            throw new StepFailedException($"{Primary.Name} must run as the primary for {Target.Name} to follow it; it is {p.Describe()}.");
        }

        var t = await Target.GetPgStateAsync(ct);
        log.Info(Primary.Name, "primary: " + await PositionAsync(Primary, ct));
        if (t.IsPrimary)
        {
            // Two primaries: show what each side has that the other lacks before one of them is rewound.
            log.Info(Target.Name, "ALSO a primary: " + await PositionAsync(Target, ct));
            log.Info(null, $"{Target.Name}'s writes since the split are discarded by the rewind (or the re-clone); {Primary.Name} is kept as the survivor.");
            if (!Run.Confirmed)
            {
                throw new StepFailedException(
                    $"Both {Primary.Name} and {Target.Name} run as primaries (split brain). To keep {Primary.Name} and make {Target.Name} follow it (its writes since the split are lost), run again and type '{Target.Name}' to confirm.");
            }
        }
        else
        {
            log.Info(Target.Name, t.Describe());
        }

        if (Run.Rebuild && !Run.Confirmed)
        {
            throw new StepFailedException($"A rebuild removes {Target.Name}'s data directory and clones it again from {Primary.Name}: type '{Target.Name}' to confirm.");
        }
    }

    private static async Task<string> PositionAsync(NodeHost host, CancellationToken ct)
    {
        var row = (await host.PsqlAsync(
            "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, pg_current_wal_lsn(), (SELECT count(*) FROM pghaconsole.heartbeat)", null, ct)).Split('\t');
        return $"timeline {row[0]}, current LSN {row[1]}, {row[2]} rows in pghaconsole.heartbeat";
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed($"{Target.Name} will follow {Primary.Name}"));
}

/// <summary>The target stopped (and, when it was a primary, its VIPs removed first).</summary>
public sealed class FenceNodeStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "fence-node";

    public override string Description => "Stop the node's PostgreSQL (a running primary: VIPs off first)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([Note(Target, "VIPs off, keepalived stopped, pg_ctl stop -m fast")]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var t = await Target.GetPgStateAsync(context.CancellationToken);
        return t.Running ? StepCheck.NotDone($"{Target.Name}: {t.Describe()}") : StepCheck.Done($"{Target.Name}: {t.Describe()}");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        await Run.Actions.FenceAsync(Target, TimeSpan.FromSeconds(60), Log(context), context.CancellationToken);
        // The keepalived step starts it again: it must not find this one still exiting and take it for running.
        await Run.Actions.WaitKeepalivedGoneAsync(Target, TimeSpan.FromSeconds(20), Log(context), context.CancellationToken);
    }
}

/// <summary>pg_rewind when the timelines diverged; a guarded re-clone when a rewind is impossible (or for a rebuild).</summary>
public sealed class RewindOrRecloneStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "rewind-or-reclone";

    public override string Description => "pg_rewind if the node's WAL diverged from the primary's timeline; re-clone (typed confirmation) when rewind is impossible or for a rebuild";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(Target, Run.Rebuild ? "re-clone: empty the data directory, pg_basebackup from " + Primary.Name : "pg_rewind only if the timelines say so; else nothing"),
    ]));

    private bool _done;

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        if (_done)
        {
            return StepCheck.Done("done in this run");
        }

        if (Run.Rebuild)
        {
            return StepCheck.NotDone("a rebuild always re-clones");
        }

        var (needed, reason) = await Run.Actions.RewindNeededAsync(Target, Primary, context.CancellationToken);
        return needed ? StepCheck.NotDone(reason) : StepCheck.Done("no rewind needed: " + reason);
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        if (!Run.Rebuild)
        {
            try
            {
                await Run.Actions.RewindAsync(Target, Primary, log, ct);
                _done = true;
                return;
            }
            catch (StepFailedException ex)
            {
                log.Info(Target.Name, "pg_rewind is not possible: " + ex.Message);
                if (!Run.Confirmed)
                {
                    throw new StepFailedException($"pg_rewind failed on {Target.Name} ({ex.Message}). Re-cloning it removes its data directory: run again and type '{Target.Name}' to confirm.");
                }
            }
        }

        await Run.Actions.ReCloneAsync(Target, Primary, log, ct);
        _done = true;
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var control = await Target.ControlDataAsync(context.CancellationToken);
        var sysid = ulong.Parse((await Primary.PsqlAsync("SELECT system_identifier FROM pg_control_system()", null, context.CancellationToken)).Trim(), CultureInfo.InvariantCulture);
        return control?.SystemIdentifier == sysid
            ? StepVerification.Passed($"{Target.Name}'s data directory belongs to the pair (system identifier {sysid.ToString(CultureInfo.InvariantCulture)})")
            : StepVerification.Failed($"{Target.Name}'s data directory is not a copy of {Primary.Name}'s");
    }
}

public sealed class RejoinRecoveryConfigStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "recovery-config";

    public override string Description => "Recovery swap: follow the primary (standby.signal + primary_conninfo on 12+, recovery.conf on 11)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([Note(Target, "standby configuration pointing at " + Primary.Name)]));

    private bool _done;

    public override Task<StepCheck> CheckAsync(IOperationContext context) =>
        Task.FromResult(_done ? StepCheck.Done("written") : StepCheck.NotDone("written on every run (idempotent)"));

    public override async Task RunAsync(IOperationContext context)
    {
        await Run.Actions.MakeStandbyConfigAsync(Target, Log(context), context.CancellationToken);
        _done = true;
    }
}

public sealed class RejoinStartStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "start-standby";

    public override string Description => "Start the node as a standby; verify it streams from the primary";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([Note(Target, "pg_ctl start; wait for 'streaming'")]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var t = await Target.GetPgStateAsync(ct);
        return t.IsStandby && await Run.Actions.StreamingAsync(Primary, Target, ct)
            ? StepCheck.Done($"{Target.Name} streams from {Primary.Name}")
            : StepCheck.NotDone($"{Target.Name}: {t.Describe()}");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var t = await Target.GetPgStateAsync(context.CancellationToken);
        if (!t.Running)
        {
            await Target.StartPgAsync(Log(context), context.CancellationToken);
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ok = await Run.Actions.WaitStreamingAsync(Primary, Target, TimeSpan.FromSeconds(30), context.CancellationToken);
        return ok ? StepVerification.Passed($"{Target.Name} streams from {Primary.Name}") : StepVerification.Failed($"{Target.Name} does not stream from {Primary.Name} after 30 s");
    }
}

public sealed class RejoinKeepalivedStep(RejoinRun run) : RejoinStep(run)
{
    public override string Name => "keepalived";

    public override string Description => "The node's fence lifted (it streams as a standby now) and keepalived running on it again (the write instance stays FAULT while it is a standby)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([Note(Target, "remove the fence marker if any; start keepalived if it is not running")]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        if (await Run.Actions.IsFencedAsync(Target, ct))
        {
            return StepCheck.NotDone($"{Target.Name} is still marked fenced");
        }

        return await Target.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct) is not null
            ? StepCheck.Done("keepalived runs")
            : StepCheck.NotDone("keepalived is not running");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        await Run.Actions.UnfenceAsync(Target, Log(context), context.CancellationToken);
        await Run.Actions.StartKeepalivedAsync(Target, Log(context), context.CancellationToken);
    }
}
