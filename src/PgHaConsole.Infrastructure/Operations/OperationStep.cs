using System.Text.Json;
using PgHaConsole.Core.Operations;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>
/// Base of every capability's steps: the run state the steps of one operation share (<typeparamref name="TRun"/>:
/// the environment, the operator's parameters, what was learnt), the step's own log, and the four phases the runner
/// calls. A step's constructor only keeps the run (the step names are read from steps built without one).
/// </summary>
public abstract class OperationStep<TRun>(TRun run) : IOperationStep
    where TRun : class
{
    protected TRun Run { get; } = run;

    public abstract string Name { get; }

    public abstract string Description { get; }

    protected StepLog Log(IOperationContext context) => new(context, Name);

    /// <summary>A plan line that is neither a command nor a file change.</summary>
    protected PlannedAction Note(NodeHost host, string text) => new() { Host = host.Name, Note = text };

    public abstract Task<StepPlan> PlanAsync(IOperationContext context);

    public abstract Task<StepCheck> CheckAsync(IOperationContext context);

    public abstract Task RunAsync(IOperationContext context);

    public abstract Task<StepVerification> VerifyAsync(IOperationContext context);
}

/// <summary>
/// An operation kind's steps in order, as factories over its run state: the definition a run executes and the step
/// names the journal records (before any environment exists) come from this one list.
/// </summary>
public sealed class StepSequence<TRun>(params Func<TRun, IOperationStep>[] factories)
    where TRun : class
{
    /// <summary>The step names, in order (steps built without a run: their constructors only keep it).</summary>
    public IReadOnlyList<string> Names { get; } = [.. factories.Select(f => f(null!).Name)];

    public OperationDefinition Create(string kind, TRun run) => new(kind, [.. factories.Select(f => f(run))]);
}

/// <summary>How operation parameters and reports are written in JSON (camelCase, the API's convention).</summary>
public static class OperationJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>The parameters of <typeparamref name="T"/>, defaults for anything that is not a JSON object.</summary>
    public static T Read<T>(JsonElement parameters)
        where T : new() =>
        parameters.ValueKind == JsonValueKind.Object ? parameters.Deserialize<T>(Options) ?? new() : new();
}
