using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Rejoin;

/// <summary>Rejoin or rebuild one node as the standby of the other.</summary>
public sealed record RejoinParameters
{
    /// <summary>The node to bring back as a standby.</summary>
    public string? Node { get; init; }

    /// <summary>
    /// The node's name typed by the operator: allows removing its data (a rebuild, or a rejoin whose rewind is
    /// impossible), and fencing it when it runs as a second primary (the split-brain way out).
    /// </summary>
    public string? ConfirmHost { get; init; }
}

/// <summary>The node to rejoin and the primary it will follow, fixed at the start of a run.</summary>
public sealed class RejoinRun
{
    public RejoinRun(ClusterEnvironment env, RejoinParameters parameters, bool rebuild)
    {
        Env = env;
        Parameters = parameters;
        Rebuild = rebuild;
        Actions = new PairActions(env);
        var node = env.Cluster.Nodes.FirstOrDefault(n => n.Name == parameters.Node)
            ?? throw new ArgumentException($"'{parameters.Node}' is not a node of the cluster.");
        Target = env.Host(node);
        Primary = env.Host(env.Cluster.Peer(node));
    }

    public ClusterEnvironment Env { get; }

    public RejoinParameters Parameters { get; }

    public bool Rebuild { get; }

    public PairActions Actions { get; }

    public NodeHost Target { get; }

    public NodeHost Primary { get; }

    public bool Confirmed => string.Equals(Parameters.ConfirmHost, Target.Name, StringComparison.Ordinal);
}

public static class RejoinOperation
{
    public const string RejoinKind = "rejoin";
    public const string RebuildKind = "rebuild";

    private static readonly StepSequence<RejoinRun> Steps = new(
        r => new RejoinPreflightStep(r),
        r => new FenceNodeStep(r),
        r => new RewindOrRecloneStep(r),
        r => new RejoinRecoveryConfigStep(r),
        r => new RejoinStartStep(r),
        r => new RejoinKeepalivedStep(r),
        r => new ClientVerifyStep<RejoinRun>(r, x => x.Env, x => [new(x.Target, NodeRole.Standby, x.Primary), new(x.Primary, NodeRole.Primary)]));

    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, RejoinParameters parameters, bool rebuild) =>
        Steps.Create(rebuild ? RebuildKind : RejoinKind, new RejoinRun(env, parameters, rebuild));
}

/// <summary>Rejoin: rewind when possible, else a re-clone guarded by the typed host name.</summary>
public class RejoinOperationKind : IOperationKind
{
    protected virtual bool Rebuild => false;

    public string Kind => Rebuild ? RejoinOperation.RebuildKind : RejoinOperation.RejoinKind;

    public IReadOnlyList<string> StepNames => RejoinOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        RejoinOperation.Create(env, parameters.Deserialize<RejoinParameters>(OperationJson.Options) ?? new(), Rebuild);
}

/// <summary>Rebuild: always a re-clone (typed confirmation).</summary>
public sealed class RebuildOperationKind : RejoinOperationKind
{
    protected override bool Rebuild => true;
}
