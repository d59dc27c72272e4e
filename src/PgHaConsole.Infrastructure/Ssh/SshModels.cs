namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>Which remote stream a line came from.</summary>
public enum OutputStreamKind
{
    Stdout,
    Stderr,
}

/// <summary>One line of remote output, as it arrived (without its line terminator, secrets masked).</summary>
public sealed record OutputLine(OutputStreamKind Stream, string Text, DateTimeOffset At);

/// <summary>
/// The end of a remote command. <see cref="StdOut"/> and <see cref="StdErr"/> are the raw output (not masked:
/// callers parse it); whatever is logged or streamed was masked.
/// </summary>
/// <param name="ExitCode">The remote exit status; -1 when the host reported none (killed by a signal, channel lost).</param>
/// <param name="TimedOut">The per-command timeout was reached (enforced on the host by <c>timeout</c>).</param>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr, bool TimedOut, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>Throws <see cref="RemoteCommandFailedException"/> unless the command succeeded.</summary>
    public CommandResult EnsureSuccess(string what)
    {
        if (!Succeeded)
        {
            throw new RemoteCommandFailedException(what, this);
        }

        return this;
    }

    // StdOut may hold anything the host printed; keep records' default ToString from dumping it into logs.
    public override string ToString() =>
        $"CommandResult {{ ExitCode = {ExitCode}, TimedOut = {TimedOut}, Duration = {Duration}, StdOut = {StdOut.Length} chars, StdErr = {StdErr.Length} chars }}";
}

/// <summary>What a host key probe saw, for the "confirm this fingerprint" step.</summary>
public sealed record HostKeyInfo(string Sha256, string Algorithm, int KeyLength)
{
    public string Display => HostKeyFingerprint.Display(Sha256);
}

/// <summary>Mode and ownership of a file after <see cref="ISshSession.WriteFileAsync"/> verified it.</summary>
public sealed record RemoteFileStat(string Path, string Mode, string Owner, string Group);
