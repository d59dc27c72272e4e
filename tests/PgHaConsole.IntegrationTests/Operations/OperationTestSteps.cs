using System.Collections.Concurrent;
using PgHaConsole.Core.Operations;

namespace PgHaConsole.IntegrationTests.Operations;

/// <summary>Counts how often each step's phases ran, and the order steps ran in.</summary>
public sealed class StepCalls
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _runs = new();

    public int this[string key] => _counts.GetValueOrDefault(key);

    public IReadOnlyList<string> RunOrder => [.. _runs];

    public void Count(string step, string phase)
    {
        _counts.AddOrUpdate(step + "." + phase, 1, (_, n) => n + 1);
        if (phase == "run")
        {
            _runs.Enqueue(step);
        }
    }
}

/// <summary>
/// A real, idempotent step: makes a file hold a given text. Done when the file already holds it; verified by reading
/// it back. Optional hooks let a test make it fail, block or log a secret.
/// </summary>
public sealed class WriteFileStep(string name, string path, string content, StepCalls calls) : IOperationStep
{
    public string Name => name;

    public string Description => $"writes {Path.GetFileName(path)}";

    /// <summary>Thrown from Run while it returns a message; null lets the run proceed.</summary>
    public Func<string?>? FailWith { get; init; }

    /// <summary>Awaited inside Run, after the first log lines, before the file is written.</summary>
    public Func<CancellationToken, Task>? Gate { get; init; }

    /// <summary>Lines logged by Run (stdout, on host pg1).</summary>
    public IReadOnlyList<string> Lines { get; init; } = [];

    /// <summary>When set, Verify reports failure with this reason.</summary>
    public string? VerifyFailure { get; init; }

    public Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([PlannedAction.ForFile("console", path, "+" + content, context.Masker)]));

    public async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        calls.Count(name, "check");
        return File.Exists(path) && await File.ReadAllTextAsync(path, context.CancellationToken) == content
            ? StepCheck.Done($"{Path.GetFileName(path)} already holds the text")
            : StepCheck.NotDone($"{Path.GetFileName(path)} is missing or different");
    }

    public async Task RunAsync(IOperationContext context)
    {
        calls.Count(name, "run");
        foreach (var line in Lines)
        {
            context.Log(name, "pg1", LogStream.Stdout, line);
        }

        if (Gate is not null)
        {
            await Gate(context.CancellationToken);
        }

        if (FailWith?.Invoke() is { } failure)
        {
            context.Log(name, "pg1", LogStream.Stderr, failure);
            throw new InvalidOperationException(failure);
        }

        await File.WriteAllTextAsync(path, content, context.CancellationToken);
    }

    public async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        calls.Count(name, "verify");
        if (VerifyFailure is not null)
        {
            return StepVerification.Failed(VerifyFailure);
        }

        return await File.ReadAllTextAsync(path, context.CancellationToken) == content
            ? StepVerification.Passed($"{Path.GetFileName(path)} holds the text")
            : StepVerification.Failed($"{Path.GetFileName(path)} does not hold the text");
    }
}
