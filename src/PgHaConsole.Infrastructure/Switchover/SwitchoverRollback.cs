using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>
/// The other way out of an interrupted (or failed) switchover: back to where it started. Only while nothing was
/// promoted: the old primary is started again as the primary and its keepalived brought back (the VIPs return to it).
/// Once the standby has been promoted there is no going back without a second switchover: resume instead. The work is
/// a step (<see cref="RollbackStep"/>) the runner executes under the switchover's id: its lines join the switchover's
/// log, masked and timed like every other.
/// </summary>
public sealed class SwitchoverRollback(IOperationJournal journal, IClusterLock clusterLock, ClusterEnvironmentFactory environments, OperationRunner runner)
{
    public async Task<string> RollBackAsync(Guid operationId, string actor, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct) ?? throw new OperationRefusedException("No such operation.", 404);
        if (op.Kind != SwitchoverOperation.Kind)
        {
            throw new OperationRefusedException($"Only a switchover can be rolled back; this is a {op.Kind} (resume it instead).", 409);
        }

        if (op.Status is not (OperationStatus.Interrupted or OperationStatus.Failed))
        {
            throw new OperationRefusedException($"The operation is {op.Status.ToString().ToLowerInvariant()}: only an interrupted or failed switchover can be rolled back.", 409);
        }

        var env = await environments.CreateAsync(op.ClusterId, ct) ?? throw new OperationRefusedException("The cluster was removed.", 404);
        var parameters = System.Text.Json.JsonSerializer.Deserialize<SwitchoverParameters>(op.ParametersJson ?? "{}", OperationJson.Options) ?? new();
        await using var run = new SwitchoverRun(env, parameters, journal);

        // An interrupted switchover holds the cluster already; a failed one released it and takes it again here. A
        // refusal gives back only what it took, so a refused rollback never leaves the cluster busy.
        var heldBefore = await clusterLock.GetHolderAsync(op.ClusterId, ct) == op.Id;
        try
        {
            await clusterLock.AcquireAsync(op.ClusterId, op.Id, ct);
        }
        catch (ClusterLockedException ex)
        {
            throw await OperationLauncher.Busy(journal, ex.HolderOperationId, ct);
        }

        try
        {
            PgState newState;
            try
            {
                newState = await run.NewPrimary.GetPgStateAsync(ct);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or OperationRefusedException))
            {
                // Starting the old primary as the primary is safe only if the standby was surely not promoted.
                throw new OperationRefusedException(
                    $"Cannot roll back: {run.NewPrimary.Name} cannot be inspected ({env.Masker.Apply(ex.Message).TrimEnd('.')}), so it is not known whether it was promoted. "
                    + $"Nothing was changed. Make {run.NewPrimary.Name} reachable and roll back again, or resume the switchover.", 409);
            }

            if (newState.IsPrimary)
            {
                throw new OperationRefusedException(
                    $"{run.NewPrimary.Name} has already been promoted: rolling back would need a second switchover. Resume this one to finish it (the old primary then rejoins), or switch over again afterwards.", 409);
            }
        }
        catch (OperationRefusedException) when (!heldBefore)
        {
            await clusterLock.ReleaseAsync(op.ClusterId, op.Id, CancellationToken.None);
            throw;
        }

        return await runner.RunAsideAsync(op.Id, new RollbackStep(run, actor), new OperationRunContext
        {
            Cluster = env.Cluster,
            Masker = env.Masker,
        }, OperationStatus.Cancelled, ct);
    }
}

/// <summary>The rollback's work: the old primary started again as the primary, its keepalived back.</summary>
public sealed class RollbackStep(SwitchoverRun run, string actor) : SwitchoverStep(run)
{
    public override string Name => "rollback";

    public override string Description => "Start the old primary again as the primary and bring its keepalived back";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, "remove the write VIP (the fence may have put it there), and the read VIP unless its keepalived holds it"),
        Note(Old, "pg_ctl start, unless it runs already"),
        Note(Old, "start keepalived"),
    ]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("rolled back on request"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        // The fence may have put the VIPs on the standby already (it is not promoted: checked before this step): the write
        // VIP comes off it before the old primary's keepalived takes it back, so that address is never on both; the read
        // VIP stays where the standby's keepalived holds it (any healthy node may serve reads).
        await Run.Actions.RemoveVipsFromStandbyAsync(New, log, ct);
        // A fence that went on at the shutdown checkpoint may have left the postmaster finishing its exit: it is stopped
        // now, so that it is not taken for a running server and left alone.
        await Run.Actions.FinishShutdownAsync(Old, log, ct);
        if (!(await Old.GetPgStateAsync(ct)).Running)
        {
            await Old.StartPgAsync(log, ct);
        }

        await Run.Actions.StartKeepalivedAsync(Old, log, ct);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await Old.GetPgStateAsync(context.CancellationToken);
        return check.IsPrimary
            ? StepVerification.Passed($"Rolled back by {actor}: {Old.Name} runs as the primary again, {New.Name} was never promoted.")
            : StepVerification.Failed($"{Old.Name} did not come back as the primary ({check.Describe()}).");
    }
}
