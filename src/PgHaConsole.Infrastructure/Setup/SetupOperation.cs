using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup.Steps;

namespace PgHaConsole.Infrastructure.Setup;

/// <summary>The setup wizard as an operation: the runbook's steps 1–11, in order.</summary>
public static class SetupOperation
{
    public const string Kind = "setup";

    public static OperationDefinition Create(ClusterEnvironment env, SetupParameters parameters)
    {
        var run = new SetupRun(env, parameters);
        return new OperationDefinition(Kind,
        [
            new PreflightStep(run),
            new FirewallStep(run),
            new RolesStep(run),
            new PgHbaStep(run),
            new PostgresConfStep(run),
            new CloneStandbyStep(run),
            new RecoveryConfigStep(run),
            new StartStandbyStep(run),
            new KeepalivedStep(run),
            new ReadBalancerStep(run),
            new FinalVerificationStep(run),
        ]);
    }

    /// <summary>The step names without an environment (for creating the journal entry).</summary>
    public static IReadOnlyList<string> StepNames { get; } =
    [
        PreflightStep.StepName, "firewall", "roles", "pg-hba", "postgresql-conf", CloneStandbyStep.StepName, "recovery-config",
        "start-standby", "keepalived", "read-balancer", "final-verification",
    ];
}
