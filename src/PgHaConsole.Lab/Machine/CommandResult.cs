namespace PgHaConsole.Lab;

/// <summary>The outcome of one external command: exit code and captured output.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Standard output followed by standard error, for messages and assertions.</summary>
    public string Output => StandardError.Length == 0
        ? StandardOutput
        : StandardOutput.Length == 0 ? StandardError : StandardOutput + Environment.NewLine + StandardError;
}
