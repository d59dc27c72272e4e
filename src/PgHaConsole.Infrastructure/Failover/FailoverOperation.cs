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
public sealed class FailoverRun : IAsyncDisposable
{
    public FailoverRun(ClusterEnvironment env, FailoverParameters parameters, IOperationJournal journal)
    {
        Env = env;
        Journal = journal;
        Parameters = parameters;
        Actions = new PairActions(env);
        var from = env.Cluster.Nodes.FirstOrDefault(n => n.Name == parameters.From);
        var to = env.Cluster.Nodes.FirstOrDefault(n => n.Name == parameters.To);
        if (from is null || to is null || from.Id == to.Id)
        {
            throw new ArgumentException("A failover needs 'from' and 'to': the two nodes of the cluster, the lost primary first.");
        }

        OldPrimary = env.Host(from);
        NewPrimary = env.Host(to);
        Started = env.Time.GetUtcNow();
    }

    public ClusterEnvironment Env { get; }

    /// <summary>For the report (durations of the steps so far).</summary>
    public IOperationJournal Journal { get; }

    public FailoverParameters Parameters { get; }

    public PairActions Actions { get; }

    public NodeHost OldPrimary { get; }

    public NodeHost NewPrimary { get; }

    public DateTimeOffset Started { get; }

    public WriteProbe? Probe { get; private set; }

    public FailoverPreflightReport? Preflight { get; set; }

    /// <summary>How the old primary was fenced: by the console, or (unreachable) by itself.</summary>
    public string? FenceOutcome { get; set; }

    public DateTimeOffset? PromotedAt { get; set; }

    public DateTimeOffset? WritesBackAt { get; set; }

    public string? ClientView { get; set; }

    public void StartProbe()
    {
        if (!Parameters.ProbeWrites || Probe is not null || Env.Secrets.MonitorPassword is not { } password)
        {
            return;
        }

        Probe = new WriteProbe(Env.Cluster, password, "failover-probe", Env.Time);
        Probe.Start();
    }

    public async ValueTask DisposeAsync()
    {
        if (Probe is not null)
        {
            await Probe.DisposeAsync();
        }
    }
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

internal static class FailoverText
{
    public static string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
