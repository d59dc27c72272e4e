using System.Diagnostics;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.IntegrationTests.Ssh;

internal static class SshTestSupport
{
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    public static Task<CommandResult> RunAsync(this ISshSession session, RemoteCommand command, CancellationToken ct = default) =>
        session.RunAsync(command, Short, null, ct);

    /// <summary>
    /// The pid of the sshd process serving this connection: the nearest sshd ancestor of the command (every
    /// channel of one SSH connection is served by the same per-connection sshd child).
    /// </summary>
    public static readonly RemoteCommand SshdOfThisConnection = RemoteCommand.BashScript("""
        p=$$
        while [ "$p" -gt 1 ]; do
          if [ "$(cat /proc/$p/comm)" = sshd ]; then echo "$p"; exit 0; fi
          p=$(awk '{print $4}' /proc/$p/stat)
        done
        exit 1
        """);

    public static async Task<int> SshdPidAsync(ISshSession session)
    {
        var r = await session.RunAsync(SshdOfThisConnection);
        Assert.True(r.Succeeded, r.StdErr);
        return int.Parse(r.StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Makes a fresh ed25519 key pair on this machine (optionally encrypted); returns the private key path.</summary>
    public static async Task<string> NewKeyAsync(string passphrase = "")
    {
        var dir = Path.Combine(Path.GetTempPath(), "pgha-ssh-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "id_ed25519");
        var psi = new ProcessStartInfo("ssh-keygen") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-q", "-t", "ed25519", "-N", passphrase, "-C", "pgha-test", "-f", path })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(0, p.ExitCode);
        return path;
    }
}
