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

    /// <summary>
    /// The console's own process: <c>dotnet run</c> starts it as a child (the process this class started is the SDK's).
    /// Found through <c>/proc</c> by parent id and its command line.
    /// </summary>
    public int AppPid()
    {
        var children = new Queue<int>([_process.Id]);
        while (children.TryDequeue(out var parent))
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }

                string stat;
                string cmdline;
                try
                {
                    stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                }
                catch (IOException)
                {
                    continue;
                }
                catch (UnauthorizedAccessException)
                {
                    continue;
                }

                // Fields after the command name in parentheses: state, then the parent's id.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) != parent)
                {
                    continue;
                }

                if (cmdline.Contains("PgHaConsole.Web", StringComparison.Ordinal) && !cmdline.Contains(" run ", StringComparison.Ordinal))
                {
                    return pid;
                }

                children.Enqueue(pid);
            }
        }

        throw new InvalidOperationException("The console's process was not found under the dotnet run process " + _process.Id);
    }

    /// <summary><c>kill -9</c> of the console's own process (by its PID): no shutdown code runs.</summary>
    public async Task KillHardAsync()
    {
        var pid = AppPid();
        using (var kill = Process.Start("kill", ["-9", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
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
