using System.Diagnostics;
using System.Text;

namespace PgHaConsole.Lab;

/// <summary>
/// Runs external programs with an argument vector (never a shell line), captures their output and
/// kills them when the timeout or the caller's token fires.
/// </summary>
internal static class CommandRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CommandResult> RunAsync(
        IReadOnlyList<string> argv,
        string? standardInput,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(argv);
        if (argv.Count == 0)
        {
            throw new ArgumentException("An empty command cannot be run.", nameof(argv));
        }

        using var process = new Process { StartInfo = CreateStartInfo(argv, redirect: true) };
        process.StartInfo.RedirectStandardInput = true;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return new CommandResult(127, string.Empty, $"{argv[0]}: {ex.Message}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken).ConfigureAwait(false);
        }

        process.StandardInput.Close();

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            TryKill(process);
            cancellationToken.ThrowIfCancellationRequested();
            return new CommandResult(124, Snapshot(stdout), $"{Snapshot(stderr)}\n{argv[0]}: timed out after {timeout.TotalSeconds:0} s".Trim());
        }

        // WaitForExitAsync returns once the asynchronous readers have drained as well.
        return new CommandResult(process.ExitCode, Snapshot(stdout), Snapshot(stderr));
    }

    public static Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
        RunAsync(argv, null, DefaultTimeout, cancellationToken);

    /// <summary>Runs a command and throws a <see cref="LabException"/> naming the step when it fails.</summary>
    public static async Task<CommandResult> RunCheckedAsync(
        string step,
        IReadOnlyList<string> argv,
        CancellationToken cancellationToken,
        string? standardInput = null,
        TimeSpan? timeout = null)
    {
        var result = await RunAsync(argv, standardInput, timeout ?? DefaultTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new LabException(
                $"{step} failed: `{string.Join(' ', argv)}` exited with {result.ExitCode}: {Tail(result.Output)}",
                "Check the message above; `down` then `up` starts the lab from scratch.");
        }

        return result;
    }

    /// <summary>
    /// Starts a long-lived program detached from our standard streams and does not wait for it.
    /// The lab hosts' boot script redirects its own output to a log file first thing.
    /// </summary>
    public static int StartDetached(IReadOnlyList<string> argv)
    {
        using var process = new Process { StartInfo = CreateStartInfo(argv, redirect: false) };
        process.Start();
        return process.Id;
    }

    public static string Tail(string text, int maxLines = 8)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - maxLines)));
    }

    private static ProcessStartInfo CreateStartInfo(IReadOnlyList<string> argv, bool redirect)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirect,
            RedirectStandardError = redirect,
            WorkingDirectory = "/",
        };
        foreach (var arg in argv.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        // Parsed output (ip, pg_isready) must not change with the caller's locale.
        info.Environment["LC_ALL"] = "C";
        info.Environment["LANG"] = "C";
        return info;
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.Append(line).Append('\n');
        }
    }

    private static string Snapshot(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString().TrimEnd('\n');
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited between the timeout and the kill.
        }
    }
}
