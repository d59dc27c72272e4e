using System.Globalization;
using System.Text.Json;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Infrastructure.Failover;

/// <summary>What the failover was asked to do; From/To are fixed when it starts, so a resume knows who was who.</summary>
public sealed record FailoverParameters
{
    /// <summary>The cluster's name, typed by the operator (the automatic path fills it in itself).</summary>
    public string? Confirm { get; init; }

    /// <summary>The lost primary (filled in by the console).</summary>
    public string? From { get; init; }

    /// <summary>The standby to promote (filled in by the console).</summary>
    public string? To { get; init; }

    /// <summary>Started by the witness (automatic failover), not by an operator.</summary>
    public bool Automatic { get; init; }

    /// <summary>Why (the witness's verdict, or the operator's preflight).</summary>
    public string? Reason { get; init; }

    /// <summary>When the console last saw the old primary answer (from the witness); null when unknown.</summary>
    public DateTimeOffset? PrimaryLastSeen { get; init; }

    /// <summary>The old primary's last WAL position the console saw, as text; null when unknown.</summary>
    public string? PrimaryLastLsn { get; init; }

    /// <summary>Synchronous replication was in force at the last observation of the old primary.</summary>
    public bool SynchronousInForce { get; init; }

    /// <summary>The topology poll interval, for the wait on an unreachable primary's self-fence.</summary>
    public double PollSeconds { get; init; } = 2;

    /// <summary>Write through the write VIP every 10 ms during the operation and report when writes came back.</summary>
    public bool ProbeWrites { get; init; } = true;
}

/// <summary>State shared by the steps of one failover run.</summary>
public sealed class FailoverRun(ClusterEnvironment env, FailoverParameters parameters, IOperationJournal journal)
    : PrimaryChangeRun(env, journal, parameters.From, parameters.To, "failover", parameters.ProbeWrites)
{
    public FailoverParameters Parameters { get; } = parameters;

    public DateTimeOffset Started { get; } = env.Time.GetUtcNow();

    public FailoverPreflightReport? Preflight { get; set; }

    /// <summary>How the old primary was fenced: by the console, or (unreachable) by itself.</summary>
    public string? FenceOutcome { get; set; }

    /// <summary>The fence told the old primary's keepalived to stop without waiting; the verify step waits for it.</summary>
    public bool KeepalivedSignalled { get; set; }

    public DateTimeOffset? PromotedAt { get; set; }

    public DateTimeOffset? WritesBackAt { get; set; }

    public string? ClientView { get; set; }
}

public static class FailoverOperation
{
    public const string Kind = "failover";

    private static readonly StepSequence<FailoverRun> Steps = new(
        r => new FailoverPreflightStep(r),
        r => new FenceOldPrimaryStep(r),
        r => new FailoverPromoteStep(r),
        r => new FailoverMoveVipsStep(r),
        r => new FailoverVerifyStep(r),
        r => new FailoverReportStep(r));

    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, FailoverParameters parameters, IOperationJournal journal) =>
        Steps.Create(Kind, new FailoverRun(env, parameters, journal));
}

/// <summary>Failover as a launchable operation.</summary>
public sealed class FailoverOperationKind(IOperationJournal journal) : IOperationKind
{
    public string Kind => FailoverOperation.Kind;

    public IReadOnlyList<string> StepNames => FailoverOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        FailoverOperation.Create(env, OperationJson.Read<FailoverParameters>(parameters), journal);
}
