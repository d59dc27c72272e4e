using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PgHaConsole.E2E.Infrastructure;

/// <summary>
/// The real console, started as a user would (<c>dotnet run</c> of the built web project, Production profile, as
/// <c>scripts/run.sh</c> does) on a free loopback port, with its own data directory. Stopped by its PID on dispose.
/// </summary>
public sealed class ConsoleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly bool _ownsDataDirectory;

    private ConsoleProcess(Process process, Uri baseUri, string dataDirectory, bool ownsDataDirectory)
    {
        _process = process;
        BaseUri = baseUri;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
    }

    /// <summary>The PID of the console itself (the process <c>dotnet run</c> started), not of the <c>dotnet run</c> wrapper.</summary>
    public int? AppPid
    {
        get
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && pid != _process.Id
                    && File.Exists(Path.Combine(dir, "stat")) && ParentOf(dir) == _process.Id)
                {
                    return pid;
                }
            }

            return null;
        }
    }

    private static int? ParentOf(string procDir)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
            var stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// <c>kill -9</c> of the console (the application process, then the <c>dotnet run</c> wrapper), as a crash or an
    /// OOM kill would end it: no shutdown code runs. The data directory (its store) stays for a restart.
    /// </summary>
    public async Task KillHardAsync()
    {
        if (AppPid is { } app)
        {
            Process.GetProcessById(app).Kill();
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public Uri BaseUri { get; }

    public string DataDirectory { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the console in the Production profile, as <c>scripts/run.sh</c> does by default.</summary>
    /// <param name="dataDirectory">An existing console's data directory (its store and key ring) to start again on; null for a new one.</param>
    public static async Task<ConsoleProcess> StartAsync(IReadOnlyDictionary<string, string> environment, CancellationToken ct = default, string? dataDirectory = null)
    {
        var port = FreePort();
        var owns = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("pghaconsole-e2e-").FullName;
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "run", "--no-build", "--project", Path.Combine(RepoPaths.Root, "src", "PgHaConsole.Web"), "--no-launch-profile",
                     "--", "--urls", $"http://127.0.0.1:{port}", "--environment", "Production",
                 })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["PgHaConsole__DataDirectory"] = dataDirectory;
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var console = new ConsoleProcess(process, new Uri($"http://127.0.0.1:{port}/"), dataDirectory, owns);
        process.OutputDataReceived += (_, e) => console.Append(e.Data);
        process.ErrorDataReceived += (_, e) => console.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await console.WaitHealthyAsync(TimeSpan.FromSeconds(90), ct);
        return console;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The console exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseUri, "healthz"), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(250, ct);
        }

        throw new TimeoutException($"The console did not become healthy within {timeout}:\n{Output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (!_ownsDataDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp directory
        }
    }
}
