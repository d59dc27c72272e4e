using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Tests.Rendering;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Topology;

/// <summary>The live monitor script run for real (bash, /proc), on files of a temporary directory.</summary>
public sealed class LiveMonitorScriptTests
{
    [Fact]
    public async Task A_kill_of_keepalived_is_reported_by_the_channel_itself_not_left_to_the_next_poll()
    {
        var dir = Tool.TempDir();
        Process? monitor = null;
        Process? keepalived = null;
        try
        {
            // A process whose comm is "keepalived": a copy of sleep under that name, named by keepalived's pid file.
            var fake = Path.Combine(dir.FullName, "keepalived");
            File.Copy("/bin/sleep", fake);
            keepalived = Process.Start(fake, "60");
            var paths = new KeepalivedPaths
            {
                StateFile = Path.Combine(dir.FullName, "write.state"),
                ReadStateFile = Path.Combine(dir.FullName, "read.state"),
                FenceFile = Path.Combine(dir.FullName, "fenced"),
                KeepalivedPidFile = Path.Combine(dir.FullName, "keepalived.pid"),
            };
            File.WriteAllText(paths.KeepalivedPidFile, keepalived.Id.ToString(CultureInfo.InvariantCulture) + "\n");
            var cluster = Sample.Cluster() with { Postgres = Sample.Cluster().Postgres with { DataDir = Path.Combine(dir.FullName, "pgdata") } };

            // Its own session: the script ends its process group on exit.
            var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "bash", "-c", LiveMonitorScript.Script, "live" }.Concat(LiveMonitorScript.Arguments(cluster, paths)))
            {
                start.ArgumentList.Add(a);
            }

            var lines = new BlockingCollection<string>();
            monitor = Process.Start(start)!;
            monitor.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } l)
                {
                    lines.Add(l);
                }
            };
            monitor.BeginOutputReadLine();

            var up = $"kp up {keepalived.Id}";
            Assert.Equal(up, Next(lines, l => l.StartsWith("kp ", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
            Assert.Equal(LiveSignalKind.Keepalived, LiveSignalParser.Parse(up).Kind);
            Assert.True(LiveSignalParser.Parse(up).IsChange);

            // Killed (and reaped here, as its parent): the channel says so by itself, which makes the console probe.
            keepalived.Kill();
            await keepalived.WaitForExitAsync();
            Assert.Equal($"kp dead {keepalived.Id}", Next(lines, l => l.StartsWith("kp ", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
        }
        finally
        {
            if (monitor is { HasExited: false })
            {
                monitor.Kill(entireProcessTree: true);
            }

            if (keepalived is { HasExited: false })
            {
                keepalived.Kill();
            }

            monitor?.Dispose();
            keepalived?.Dispose();
            dir.Delete(true);
        }
    }

    private static string Next(BlockingCollection<string> lines, Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (lines.TryTake(out var line, TimeSpan.FromMilliseconds(100)) && match(line))
            {
                return line;
            }
        }

        throw new TimeoutException("no matching line from the live monitor within " + timeout);
    }
}
