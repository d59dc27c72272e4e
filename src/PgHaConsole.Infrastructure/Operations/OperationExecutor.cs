using System.Text.Json;
using PgHaConsole.Core.Operations;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>
/// Creates journal entries and executes journaled operations through the one <see cref="OperationRunner"/>: the body
/// of the Hangfire job, and what tests and benchmarks call to run an operation the way the console does.
/// </summary>
public sealed class OperationExecutor(
    OperationRunner runner,
    ClusterEnvironmentFactory environments,
    IOperationJournal journal,
    IClusterLock clusterLock,
    IEnumerable<IOperationKind> kinds)
{
    /// <summary>A new journal entry (Pending, its steps named, its parameters kept); takes no lock, runs nothing.</summary>
    public async Task<OperationRecord> CreateAsync(string kind, Guid clusterId, JsonElement parameters, string requestedBy, CancellationToken ct)
    {
        var op = await journal.CreateAsync(clusterId, kind, kinds.Find(kind).StepNames, requestedBy, null, ct);
        await journal.SetParametersAsync(op.Id, parameters.GetRawText(), ct);
        return op;
    }

    /// <summary>
    /// Runs (or resumes) the journaled operation with the parameters the journal holds (a resume may have merged a
    /// confirmation into them; <paramref name="fallbackParametersJson"/> only when it holds none). A cluster removed
    /// meanwhile, or parameters that do not fit the kind, end the operation Failed with its lock released.
    /// </summary>
    /// <param name="applicationStopping">Cancelled when the console stops: a cancellation then leaves it Interrupted.</param>
    /// <param name="ct">Cancels the run (the operator's cancellation unless <paramref name="applicationStopping"/> is cancelled).</param>
    public async Task<OperationStatus> ExecuteAsync(Guid operationId, string? fallbackParametersJson, CancellationToken applicationStopping, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct)
            ?? throw new InvalidOperationException($"The operation {operationId} does not exist.");
        var kind = kinds.Find(op.Kind);
        var env = await environments.CreateAsync(op.ClusterId, ct);
        if (env is null)
        {
            return await FailAsync(op, "The cluster was removed.");
        }

        var json = op.ParametersJson ?? fallbackParametersJson;
        using var parameters = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        OperationDefinition definition;
        try
        {
            definition = kind.Create(env, parameters.RootElement.Clone());
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException)
        {
            return await FailAsync(op, env.Masker.Apply(ex.Message));
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, applicationStopping);
        return await runner.RunAsync(operationId, definition, new OperationRunContext
        {
            Cluster = env.Cluster,
            Masker = env.Masker,
            ApplicationStopping = applicationStopping,
        }, linked.Token);
    }

    private async Task<OperationStatus> FailAsync(OperationRecord op, string error)
    {
        await journal.SetOperationStatusAsync(op.Id, OperationStatus.Failed, error, CancellationToken.None);
        await clusterLock.ReleaseAsync(op.ClusterId, op.Id, CancellationToken.None);
        return OperationStatus.Failed;
    }
}
