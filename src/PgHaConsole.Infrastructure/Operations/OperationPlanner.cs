using System.Text.Json;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>One step of a plan, as shown before anything runs.</summary>
public sealed record PlannedStepView(int Ordinal, string Name, string Description, IReadOnlyList<PlannedAction> Actions, string? Error);

/// <summary>The whole plan of an operation for a cluster, computed from the hosts as they are (read-only).</summary>
public sealed record OperationPlanView(Guid ClusterId, string Kind, IReadOnlyList<PlannedStepView> Steps)
{
    /// <summary>The host whose data the operation would remove (the operator must type its name), or null.</summary>
    public string? WipeConfirmationHost { get; init; }

    /// <summary>Setup only: the application's endpoints and the pg_hba.conf lines that let it in (null for other kinds).</summary>
    public Core.Postgres.ClientAccessPlan? ClientAccess { get; init; }
}

/// <summary>
/// Plans any operation kind: every step's <see cref="IOperationStep.PlanAsync"/> in order, read-only. A step whose
/// plan cannot be computed (host unreachable, no primary yet) is shown with its error; the others still are.
/// </summary>
public sealed class OperationPlanner(ClusterEnvironmentFactory environments, IEnumerable<IOperationKind> kinds)
{
    /// <summary>The plan, or null when the cluster does not exist.</summary>
    public async Task<OperationPlanView?> PlanAsync(Guid clusterId, string kind, JsonElement parameters, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        if (env is null)
        {
            return null;
        }

        var definition = kinds.Find(kind).Create(env, parameters);
        var context = new PlanContext(env.Cluster, env.Masker, ct);
        var steps = new List<PlannedStepView>();
        string? wipeHost = null;
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            try
            {
                var plan = await step.PlanAsync(context);
                steps.Add(new PlannedStepView(i + 1, step.Name, step.Description, plan.Actions, null));
                wipeHost ??= plan.Actions.FirstOrDefault(a => a.WipesData)?.Host;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Preflight will say why when the operation runs.
                steps.Add(new PlannedStepView(i + 1, step.Name, step.Description, [], env.Masker.Apply(ex.Message)));
            }
        }

        return new OperationPlanView(clusterId, kind, steps) { WipeConfirmationHost = wipeHost };
    }

    /// <summary>What a step sees while it plans: the cluster and its secrets' masker; its log lines go nowhere.</summary>
    private sealed class PlanContext(ClusterSpec cluster, SecretMasker masker, CancellationToken ct) : IOperationContext
    {
        public Guid OperationId => Guid.Empty;

        public ClusterSpec Cluster => cluster;

        public CancellationToken CancellationToken => ct;

        public SecretMasker Masker => masker;

        public void Log(string stepName, string? host, LogStream stream, string line)
        {
        }
    }
}
