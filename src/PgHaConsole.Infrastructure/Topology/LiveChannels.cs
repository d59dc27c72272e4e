using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>A change a host reported on its live channel.</summary>
/// <param name="At">When the console received the line.</param>
public sealed record LiveChange(Guid ClusterId, string Node, LiveSignal Signal, DateTimeOffset At);

/// <summary>
/// One long-lived command per node (<see cref="LiveMonitorScript"/>) over the node's pooled SSH connection (a
/// channel of its own beside the probes'), reporting changes as they happen. A channel that stays silent for
/// <see cref="LiveMonitorScript.SuspectAfter"/> (no heartbeat: a cut link, a lost host) is reported at once as a
/// <see cref="LiveSignalKind.Silent"/> change; one that ends, fails or stays silent for
/// <see cref="LiveMonitorScript.SilenceLimit"/> is rebuilt after a short pause;
/// its first lines after each (re)connection report the whole state, so a change missed while it was down is caught
/// by the probe they trigger. The monitor's poll stays the safety net.
/// </summary>
public sealed class LiveChannels : IAsyncDisposable
{
    /// <summary>How long one command runs on the host before it is replaced (bounds its output buffer and any orphan).</summary>
    public static readonly TimeSpan CommandLifetime = TimeSpan.FromMinutes(10);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>How often a running channel is checked for silence (well below <see cref="LiveMonitorScript.SuspectAfter"/>).</summary>
    private static readonly TimeSpan SilenceCheck = TimeSpan.FromMilliseconds(100);

    private readonly ISshSessionPool _ssh;
    private readonly IOptions<TopologyOptions> _options;
    private readonly ILogger<LiveChannels> _logger;
    private readonly KeepalivedPaths _paths = new();
    private readonly ConcurrentDictionary<Guid, NodeChannel> _channels = new();
    private long _connections;
    private long _changes;
    private int _disposed;

    public LiveChannels(ISshSessionPool ssh, IOptions<TopologyOptions> options, ILogger<LiveChannels>? logger = null)
    {
        _ssh = ssh;
        _options = options;
        _logger = logger ?? NullLogger<LiveChannels>.Instance;
    }

    /// <summary>How many commands were started (first connections and reconnections).</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>How many change lines arrived.</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>The nodes with a running channel loop.</summary>
    public int Open => _channels.Count;

    /// <summary>
    /// Makes every node of <paramref name="target"/> have a channel built from exactly this target (a changed cluster
    /// restarts its channels with the new settings) and stops the cluster's channels of nodes it no longer has.
    /// </summary>
    public void Ensure(ProbeTarget target, Action<LiveChange> onChange)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(onChange);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var clusterId = target.Cluster.Id;
        var nodeIds = target.Cluster.Nodes.Select(n => n.Id).ToHashSet();
        foreach (var (id, stale) in _channels.Where(c => c.Value.ClusterId == clusterId && !nodeIds.Contains(c.Key)).ToArray())
        {
            if (_channels.TryRemove(new KeyValuePair<Guid, NodeChannel>(id, stale)))
            {
                stale.Stop();
            }
        }

        foreach (var node in target.Cluster.Nodes)
        {
            if (_channels.TryGetValue(node.Id, out var existing) && ReferenceEquals(existing.Target, target))
            {
                continue;
            }

            var channel = new NodeChannel(clusterId, target);
            if (existing is null ? _channels.TryAdd(node.Id, channel) : _channels.TryUpdate(node.Id, channel, existing))
            {
                existing?.Stop();
                channel.Loop = Task.Run(() => RunAsync(channel, node, onChange, channel.Cancellation.Token));
            }
            else
            {
                channel.Cancellation.Dispose();
            }
        }
    }

    /// <summary>Stops the channels of these nodes (their cluster was removed).</summary>
    public void Stop(IEnumerable<Guid> nodeIds)
    {
        ArgumentNullException.ThrowIfNull(nodeIds);
        foreach (var id in nodeIds)
        {
            if (_channels.TryRemove(id, out var channel))
            {
                channel.Stop();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        var all = _channels.Values.ToArray();
        _channels.Clear();
        foreach (var channel in all)
        {
            channel.Stop();
        }

        // The loops end at their next await; do not wait for a host that does not answer.
        await Task.WhenAny(Task.WhenAll(all.Select(c => c.Loop ?? Task.CompletedTask)), Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None));
    }

    private async Task RunAsync(NodeChannel channel, NodeSpec node, Action<LiveChange> onChange, CancellationToken ct)
    {
        var target = channel.Target;
        var secrets = target.NodeSecrets.GetValueOrDefault(node.Id);
        var command = RemoteCommand.BashScript(LiveMonitorScript.Script, LiveMonitorScript.Arguments(target.Cluster, _paths));
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            var heard = new Heard();
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task<CommandResult>? task = null;
            var reason = "ended";
            try
            {
                var session = _ssh.GetSession(SshTarget.FromNode(node, secrets) with { ConnectTimeout = _options.Value.ProbeTimeout });
                Interlocked.Increment(ref _connections);
                task = session.RunAsync(command, CommandLifetime, line =>
                {
                    Interlocked.Exchange(ref heard.At, Stopwatch.GetTimestamp());
                    Interlocked.Increment(ref heard.Lines);
                    var signal = LiveSignalParser.Parse(line.Text);
                    if (line.Stream == OutputStreamKind.Stderr)
                    {
                        _logger.LogDebug("Live channel of {Node}: {Line}", node.Name, line.Text);
                    }

                    if (signal.IsChange)
                    {
                        Interlocked.Increment(ref _changes);
                        onChange(new LiveChange(target.Cluster.Id, node.Name, signal, line.At));
                    }
                }, run.Token);

                long suspectedAt = 0;
                while (!task.IsCompleted)
                {
                    await Task.WhenAny(task, Task.Delay(SilenceCheck, ct));
                    ct.ThrowIfCancellationRequested();
                    var lastHeard = Interlocked.Read(ref heard.At);
                    var silent = Stopwatch.GetElapsedTime(lastHeard);

                    // Once per silence, and only on a channel that spoke (its start over a slow connection is no silence).
                    if (!task.IsCompleted && silent > LiveMonitorScript.SuspectAfter && suspectedAt != lastHeard && Interlocked.Read(ref heard.Lines) > 0)
                    {
                        suspectedAt = lastHeard;
                        Interlocked.Increment(ref _changes);
                        _logger.LogInformation("Live channel of {Node} silent for {SilentMs} ms: the host does not answer", node.Name, (long)silent.TotalMilliseconds);
                        onChange(new LiveChange(target.Cluster.Id, node.Name, new LiveSignal(LiveSignalKind.Silent,
                            string.Create(CultureInfo.InvariantCulture,
                                $"{node.Name} ({node.Address}) sent nothing on its live channel for {silent.TotalSeconds:0.0} s (a heartbeat is due every {LiveMonitorScript.HeartbeatInterval.TotalSeconds:0.0#} s): the host does not answer the console.")),
                            DateTimeOffset.UtcNow));
                    }

                    if (!task.IsCompleted && silent > LiveMonitorScript.SilenceLimit)
                    {
                        reason = $"silent for {LiveMonitorScript.SilenceLimit.TotalSeconds:0} s";
                        await run.CancelAsync();
                        break;
                    }
                }

                if (task.IsCompletedSuccessfully)
                {
                    reason = $"ended (exit {task.Result.ExitCode})";
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                reason = ex.Message;
            }
            finally
            {
                // A cancelled command over a dead link may finish only after SSH.NET's own timeout: never unobserved.
                _ = task?.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            if (ct.IsCancellationRequested)
            {
                break;
            }

            var lasted = Stopwatch.GetElapsedTime(heard.Started);
            failures = Interlocked.Read(ref heard.Lines) > 0 && lasted > TimeSpan.FromSeconds(10) ? 0 : failures + 1;
            var pause = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, Math.Min(failures, 6))));
            if (failures <= 1)
            {
                _logger.LogInformation("Live channel of {Node} {Reason}; reconnecting in {PauseMs} ms", node.Name, reason, (long)pause.TotalMilliseconds);
            }
            else
            {
                _logger.LogDebug("Live channel of {Node} {Reason}; reconnecting in {PauseMs} ms", node.Name, reason, (long)pause.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(pause, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private sealed class Heard
    {
        public readonly long Started = Stopwatch.GetTimestamp();
        public long At = Stopwatch.GetTimestamp();
        public long Lines;
    }

    private sealed class NodeChannel(Guid clusterId, ProbeTarget target)
    {
        public Guid ClusterId { get; } = clusterId;

        public ProbeTarget Target { get; } = target;

        public CancellationTokenSource Cancellation { get; } = new();

        public Task? Loop { get; set; }

        public void Stop()
        {
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // already stopped
            }
        }
    }
}
