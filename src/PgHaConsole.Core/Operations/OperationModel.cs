using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Operations;

/// <summary>State of a whole operation in the journal.</summary>
public enum OperationStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,

    /// <summary>The console stopped while the operation was running; its cluster stays locked until resumed or rolled back.</summary>
    Interrupted,
    Cancelled,
}

/// <summary>State of one step in the journal.</summary>
public enum StepStatus
{
    Pending,

    /// <summary>Its check found it already done, so it was not run.</summary>
    Skipped,
    Running,
    Succeeded,
    Failed,
}

/// <summary>Where a log line came from. Stored as lowercase text ('stdout', 'stderr', 'info').</summary>
public enum LogStream
{
    Info,
    Stdout,
    Stderr,
}

public static class OperationStatusExtensions
{
    /// <summary>True when nothing more will happen to the operation without an operator's action.</summary>
    public static bool IsFinished(this OperationStatus status) =>
        status is OperationStatus.Succeeded or OperationStatus.Failed or OperationStatus.Interrupted or OperationStatus.Cancelled;

    /// <summary>True when a resumed run must not redo the step.</summary>
    public static bool IsComplete(this StepStatus status) => status is StepStatus.Succeeded or StepStatus.Skipped;

    public static string ToStoreText(this LogStream stream) => stream switch
    {
        LogStream.Stdout => "stdout",
        LogStream.Stderr => "stderr",
        _ => "info",
    };

    public static LogStream ParseLogStream(string? text) => text switch
    {
        "stdout" => LogStream.Stdout,
        "stderr" => LogStream.Stderr,
        _ => LogStream.Info,
    };
}

/// <summary>One thing a step will do on a host: a command (exact text, secrets masked) or a file change (a diff).</summary>
public sealed record PlannedAction
{
    /// <summary>Node name, or <c>console</c> for work done locally.</summary>
    public required string Host { get; init; }

    /// <summary>The exact command line, secrets masked; null for a file change.</summary>
    public string? Command { get; init; }

    /// <summary>The file changed; null for a command.</summary>
    public string? FilePath { get; init; }

    /// <summary>Unified diff of the file change, secrets masked.</summary>
    public string? Diff { get; init; }

    /// <summary>Why, in a few words (optional).</summary>
    public string? Note { get; init; }

    public bool IsFileChange => FilePath is not null;

    /// <summary>
    /// This action removes data on <see cref="Host"/>: the operator must type the host's name before the operation
    /// may run (the pages show it as a warning, the plan asks for the confirmation).
    /// </summary>
    public bool WipesData { get; init; }

    /// <summary>A command; <paramref name="masker"/> hides every registered secret in its text.</summary>
    public static PlannedAction ForCommand(string host, string commandLine, SecretMasker masker, string? note = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(masker);
        return new PlannedAction { Host = host, Command = masker.Apply(commandLine), Note = note is null ? null : masker.Apply(note) };
    }

    /// <summary>
    /// A file change; the diff goes through <paramref name="masker"/> too (a .pgpass diff carries a password), after
    /// every secret-bearing line was masked by its form (<see cref="SecretLines"/>): the removed lines show the host's
    /// file as it is, whose secrets (an old or foreign <c>auth_pass</c>) the masker does not know.
    /// </summary>
    public static PlannedAction ForFile(string host, string path, string diff, SecretMasker masker, string? note = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(diff);
        ArgumentNullException.ThrowIfNull(masker);
        return new PlannedAction { Host = host, FilePath = path, Diff = masker.Apply(SecretLines.MaskDiff(path, diff)), Note = note is null ? null : masker.Apply(note) };
    }
}

/// <summary>What a step will do, shown before anything runs.</summary>
public sealed record StepPlan(IReadOnlyList<PlannedAction> Actions)
{
    public static StepPlan Empty { get; } = new([]);
}

/// <summary>Answer of a step's check: already done (then it is skipped) and why.</summary>
public sealed record StepCheck(bool AlreadyDone, string Reason)
{
    public static StepCheck Done(string reason) => new(true, reason);

    public static StepCheck NotDone(string reason) => new(false, reason);
}

/// <summary>Answer of a step's verification after it ran.</summary>
public sealed record StepVerification(bool Ok, string Reason)
{
    public static StepVerification Passed(string reason) => new(true, reason);

    public static StepVerification Failed(string reason) => new(false, reason);
}

/// <summary>One line of an operation's log, as journaled and as streamed.</summary>
/// <param name="Seq">1-based, per operation, gap-free in the journal: a watcher resumes after the last it saw.</param>
/// <param name="Step">1-based ordinal of the step that wrote it; null outside any step.</param>
public sealed record OperationLogLine(long Seq, DateTimeOffset At, int? Step, string? Host, LogStream Stream, string Line);
