using System.Diagnostics;

namespace PgHaConsole.Core.Tests.Shell;

/// <summary>Runs a command line through the real local <c>/bin/sh -c</c> and returns the raw stdout bytes.</summary>
internal static class LocalShell
{
    public static async Task<(int ExitCode, byte[] StdOut, string StdErr)> RunAsync(string commandLine, byte[]? stdin = null)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(commandLine);
        psi.Environment["LC_ALL"] = "C.UTF-8";

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("sh did not start");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        if (stdin is not null)
        {
            await p.StandardInput.BaseStream.WriteAsync(stdin, cts.Token);
        }

        p.StandardInput.Close();
        using var ms = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(ms, cts.Token);
        var err = p.StandardError.ReadToEndAsync(cts.Token);
        await Task.WhenAll(copy, err);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, ms.ToArray(), await err);
    }
}
