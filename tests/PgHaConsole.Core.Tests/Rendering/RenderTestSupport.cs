using System.Diagnostics;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Tests.Rendering;

/// <summary>The lab-like pair the rendering tests use (addresses in the lab's 198.18.4.0/24).</summary>
internal static class Sample
{
    public static ClusterSpec Cluster(int major = 15, BalancerMode balancer = BalancerMode.Haproxy, string iface = "mgt", decimal advertInt = 1m) => new()
    {
        Name = "lab pair",
        Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.11" },
        Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.12" },
        WriteVip = "198.18.4.51",
        ReadVip = "198.18.4.52",
        VipPrefixLength = 24,
        Balancer = balancer,
        Vrrp = new VrrpSettings { Interface = iface, AdvertIntSeconds = advertInt },
        Postgres = new PostgresSettings
        {
            MajorVersion = major,
            BinDir = $"/usr/lib/postgresql/{major}/bin",
            DataDir = "/data10/pgdata",
        },
    };
}

/// <summary>Runs a local tool (keepalived -t, haproxy -c, bash) and collects its output.</summary>
internal static class Tool
{
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(string program, IEnumerable<string> args, IDictionary<string, string>? env = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{program} did not start");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync(cts.Token);
        return new Result(process.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>A temporary directory others may traverse (the check script runs psql as the postgres user).</summary>
    public static DirectoryInfo TempDir()
    {
        var dir = Directory.CreateTempSubdirectory("pgha-render-");
        // These tests drive Linux tools (keepalived, haproxy, runuser): they only run on Linux.
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The rendering tests run Linux tools.");
        }

        File.SetUnixFileMode(dir.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return dir;
    }

    public static string WriteExecutable(DirectoryInfo dir, string name, string content)
    {
        var path = Path.Combine(dir.FullName, name);
        File.WriteAllText(path, content);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The rendering tests run Linux tools.");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }
}
