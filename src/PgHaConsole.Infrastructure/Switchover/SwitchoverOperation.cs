using System.Globalization;
using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>What the operator asked for; From/To are fixed when the operation starts, so a resume knows who was who.</summary>
public sealed record SwitchoverParameters
{
    /// <summary>The cluster's name, typed by the operator.</summary>
    public string? Confirm { get; init; }

    /// <summary>The primary at the start (filled in by the console).</summary>
    public string? From { get; init; }

    /// <summary>The standby to promote (filled in by the console).</summary>
    public string? To { get; init; }

    public long MaxLagBytes { get; init; } = 16 * 1024 * 1024;

    public double MaxLagSeconds { get; init; } = 10;

    /// <summary>How long step 4 waits for the standby to receive the old primary's shutdown checkpoint.</summary>
    public double CatchUpTimeoutSeconds { get; init; } = 30;

    /// <summary>Bound of the old primary's fast shutdown.</summary>
    public double StopTimeoutSeconds { get; init; } = 60;

    /// <summary>Write through the write VIP every 10 ms during the operation and report the longest gap.</summary>
    public bool ProbeWrites { get; init; } = true;
}

/// <summary>State shared by the steps of one switchover run (in memory: a resumed run re-reads it from the hosts).</summary>
public sealed class SwitchoverRun(ClusterEnvironment env, SwitchoverParameters parameters, IOperationJournal journal)
    : PrimaryChangeRun(env, journal, parameters.From, parameters.To, "switchover", parameters.ProbeWrites)
{
    public SwitchoverParameters Parameters { get; } = parameters;

    public Lsn? ShutdownCheckpoint { get; set; }

    /// <summary>
    /// A switchover that stops before the promotion takes the VIPs off the standby before the old primary comes back; a
    /// standby that cannot be reached is logged and the old primary restarted anyway (the standby stays read-only).
    /// </summary>
    public async Task TakeVipsOffStandbyAsync(StepLog log, CancellationToken ct)
    {
        try
        {
            await Actions.RemoveVipsFromStandbyAsync(NewPrimary, log, ct);
        }
        catch (Exception ex) when (ex is StepFailedException or Ssh.SshLayerException or IOException or TimeoutException)
        {
            log.Info(NewPrimary.Name, $"could not take the VIPs off {NewPrimary.Name} ({Env.Masker.Apply(ex.Message)}); it stays read-only");
        }
    }

    /// <summary>The fence step ran (not skipped) in this run.</summary>
    public bool FencedInThisRun { get; set; }

    /// <summary>The fence of this run put the VIPs on the standby (they stay there through the promotion).</summary>
    public bool VipsOnNewSinceFence { get; set; }

    /// <summary>pg_is_in_recovery() on the standby as step 3 of this run last read it (null: not read in this run).</summary>
    public bool? NewInRecoverySeen { get; set; }
}

public static class SwitchoverOperation
{
    public const string Kind = "switchover";

    private static readonly StepSequence<SwitchoverRun> Steps = new(
        r => new SwitchoverPreflightStep(r),
        r => new FenceStep(r),
        r => new WaitForStandbyStep(r),
        r => new PromoteStep(r),
        r => new MoveVipsStep(r),
        r => new RejoinOldPrimaryStep(r),
        r => new ClientVerifyStep<SwitchoverRun>(r, x => x.Env, x => [new(x.NewPrimary, NodeRole.Primary), new(x.OldPrimary, NodeRole.Standby, x.NewPrimary)]),
        r => new ReportStep(r));

    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, SwitchoverParameters parameters, IOperationJournal journal) =>
        Steps.Create(Kind, new SwitchoverRun(env, parameters, journal));
}

/// <summary>Switchover as a launchable operation.</summary>
public sealed class SwitchoverOperationKind(IOperationJournal journal) : IOperationKind
{
    public string Kind => SwitchoverOperation.Kind;

    public IReadOnlyList<string> StepNames => SwitchoverOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        SwitchoverOperation.Create(env, parameters.Deserialize<SwitchoverParameters>(OperationJson.Options) ?? new(), journal);
}
