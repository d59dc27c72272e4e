using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>
/// The step that ends every operation leaving nodes in roles (switchover, rejoin, rebuild): <see cref="ClientCheck"/>
/// on each node the operation is about. Nothing to skip on a resume: it runs at the end of every run.
/// </summary>
/// <remarks>Takes the run's environment through a function: step names are read from definitions made without a run.</remarks>
public sealed class ClientVerifyStep<TRun>(TRun run, Func<TRun, ClusterEnvironment> environment, Func<TRun, IReadOnlyList<ClientCheck.Expectation>> expectations)
    : OperationStep<TRun>(run)
    where TRun : class
{
    private string? _verified;

    private ClusterEnvironment Env => environment(Run);

    public override string Name => "verify";

    public override string Description => "As a client sees it: each node answers on its own address in its role, and the console's probe agrees";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan(
        expectations(Run).Select(e => Note(e.Node,
            $"connect to {e.Node.Node.Address}:{Env.Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)} as {Env.Cluster.Postgres.MonitorUser}: must be the {(e.Role == Core.Topology.NodeRole.Primary ? "primary" : "standby")}{(e.Upstream is { } u ? $" streaming from {u.Name}" : "")}; the console's probe must agree"))
        .ToList()));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("verified at the end of every run"));

    public override async Task RunAsync(IOperationContext context) =>
        _verified = await ClientCheck.VerifyAsync(Env, expectations(Run), Log(context), context.CancellationToken);

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(_verified is { } v ? StepVerification.Passed(v) : StepVerification.Failed("not verified"));
}
