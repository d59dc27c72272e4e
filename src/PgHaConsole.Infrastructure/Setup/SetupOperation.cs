using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup.Steps;

namespace PgHaConsole.Infrastructure.Setup;

/// <summary>The setup wizard as an operation: the runbook's steps 1–11, in order.</summary>
public static class SetupOperation
{
    public const string Kind = "setup";

    private static readonly StepSequence<SetupRun> Steps = new(
        r => new PreflightStep(r),
        r => new FirewallStep(r),
        r => new RolesStep(r),
        r => new PgHbaStep(r),
        r => new PostgresConfStep(r),
        r => new CloneStandbyStep(r),
        r => new RecoveryConfigStep(r),
        r => new StartStandbyStep(r),
        r => new KeepalivedStep(r),
        r => new ReadBalancerStep(r),
        r => new FinalVerificationStep(r));

    /// <summary>The step names without an environment (for creating the journal entry).</summary>
    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, SetupParameters parameters) => Steps.Create(Kind, new SetupRun(env, parameters));
}

/// <summary>Setup as a launchable operation; its parameters are a <see cref="SetupParameters"/> in JSON (camelCase).</summary>
public sealed class SetupOperationKind : IOperationKind
{
    public string Kind => SetupOperation.Kind;

    public IReadOnlyList<string> StepNames => SetupOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        SetupOperation.Create(env, OperationJson.Read<SetupParameters>(parameters));
}
