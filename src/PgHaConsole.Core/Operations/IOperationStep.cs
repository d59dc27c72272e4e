using PgHaConsole.Core.Model;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Operations;

/// <summary>
/// What a step sees while it plans, checks, runs and verifies. The runner implements it; steps never touch the
/// journal or the log store themselves, so every line they write is masked and numbered in one place.
/// </summary>
public interface IOperationContext
{
    Guid OperationId { get; }

    ClusterSpec Cluster { get; }

    /// <summary>Cancelled when the operator cancels or the console stops.</summary>
    CancellationToken CancellationToken { get; }

    /// <summary>Secrets of this operation; the runner masks every log line with it, steps mask plans with it.</summary>
    SecretMasker Masker { get; }

    /// <summary>Writes one log line (masked by the runner before it is stored or streamed).</summary>
    /// <param name="host">Node name the line came from; null for the console itself.</param>
    void Log(string stepName, string? host, LogStream stream, string line);
}

/// <summary>
/// One named step of an operation. Re-running must be safe: <see cref="CheckAsync"/> says when the step's effect is
/// already there, and the runner then skips it.
/// </summary>
public interface IOperationStep
{
    /// <summary>Unique within its operation; also the key the journal records.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>What the step would do, without changing anything.</summary>
    Task<StepPlan> PlanAsync(IOperationContext context);

    /// <summary>Whether the step's effect is already in place (read-only).</summary>
    Task<StepCheck> CheckAsync(IOperationContext context);

    /// <summary>Does the work; throws on failure (the message is journaled, masked).</summary>
    Task RunAsync(IOperationContext context);

    /// <summary>Whether the work took effect.</summary>
    Task<StepVerification> VerifyAsync(IOperationContext context);
}

/// <summary>A kind of operation (setup, switchover, …) and its steps in order.</summary>
public sealed class OperationDefinition
{
    public OperationDefinition(string kind, IReadOnlyList<IOperationStep> steps)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0)
        {
            throw new ArgumentException("An operation needs at least one step.", nameof(steps));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            ArgumentNullException.ThrowIfNull(step, nameof(steps));
            if (string.IsNullOrWhiteSpace(step.Name))
            {
                throw new ArgumentException("Every step needs a name.", nameof(steps));
            }

            // The journal matches steps by ordinal and name on resume: a duplicate would make that ambiguous.
            if (!names.Add(step.Name))
            {
                throw new ArgumentException($"Two steps are named '{step.Name}'.", nameof(steps));
            }
        }

        Kind = kind;
        Steps = [.. steps];
    }

    public string Kind { get; }

    public IReadOnlyList<IOperationStep> Steps { get; }

    public IReadOnlyList<string> StepNames => [.. Steps.Select(s => s.Name)];

    /// <summary>1-based ordinal of the named step, or 0 when no step has that name.</summary>
    public int OrdinalOf(string stepName)
    {
        for (var i = 0; i < Steps.Count; i++)
        {
            if (string.Equals(Steps[i].Name, stepName, StringComparison.Ordinal))
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>Every step's plan, in order (nothing changes).</summary>
    public async Task<IReadOnlyList<(IOperationStep Step, StepPlan Plan)>> PlanAsync(IOperationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var plans = new List<(IOperationStep, StepPlan)>(Steps.Count);
        foreach (var step in Steps)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            plans.Add((step, await step.PlanAsync(context)));
        }

        return plans;
    }

    /// <summary>
    /// 1-based ordinal of the first step a (resumed) run must execute given the journaled step states in order, or
    /// <c>Steps.Count + 1</c> when all are complete. States must match the steps one for one.
    /// </summary>
    public int ResumeOrdinal(IReadOnlyList<StepStatus> journaled)
    {
        ArgumentNullException.ThrowIfNull(journaled);
        if (journaled.Count != Steps.Count)
        {
            throw new ArgumentException($"The journal has {journaled.Count} steps, the {Kind} operation {Steps.Count}.", nameof(journaled));
        }

        for (var i = 0; i < journaled.Count; i++)
        {
            if (!journaled[i].IsComplete())
            {
                return i + 1;
            }
        }

        return journaled.Count + 1;
    }
}
