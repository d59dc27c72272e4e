using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// A test-owned client of one VIP, as an application would use it: a fresh connection per statement every
/// <see cref="Interval"/>, each attempt numbered. It records which statements succeeded (and which server answered,
/// and when) and when attempts failed, so a test can say when the VIP served again after a fault.
/// </summary>
public abstract class VipClient : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    private readonly string _connectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(long N, DateTimeOffset At, string? Server)> _acks = new();
    private readonly ConcurrentQueue<DateTimeOffset> _failures = new();
    private Task? _loop;

    protected VipClient(string connectionString) => _connectionString = connectionString;

    public long Failures => _failures.Count;

    /// <summary>The successful statements: attempt number, when the answer came, the answering server's address.</summary>
    public IReadOnlyList<(long N, DateTimeOffset At, string? Server)> Acknowledged => [.. _acks];

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>The first success at or after <paramref name="t"/>, or null.</summary>
    public DateTimeOffset? FirstAckAfter(DateTimeOffset t) => _acks.Where(a => a.At >= t).Select(a => (DateTimeOffset?)a.At).Min();

    /// <summary>The last failed attempt at or after <paramref name="t"/>, or null when none failed.</summary>
    public DateTimeOffset? LastFailureAfter(DateTimeOffset t) => _failures.Where(f => f >= t).Select(f => (DateTimeOffset?)f).Max();

    /// <summary>
    /// When the client was served again after <paramref name="fault"/>: the first success after the last failure
    /// since the fault (the fault itself when nothing failed), or null when it never succeeded again.
    /// </summary>
    public DateTimeOffset? BackAfter(DateTimeOffset fault) =>
        LastFailureAfter(fault) is { } lastFailure ? FirstAckAfter(lastFailure) : fault;

    /// <summary>
    /// The success that ended the longest gap between consecutive successes after <paramref name="t"/> (the last success
    /// before it included); null while the client has failed since its last success (the outage goes on).
    /// </summary>
    public DateTimeOffset? OutageEnd(DateTimeOffset t)
    {
        var times = _acks.Select(a => a.At).Order().ToList();
        if (times.Count == 0 || _failures.Any(f => f > times[^1]))
        {
            return null;
        }

        var start = times.FindLastIndex(x => x < t);
        DateTimeOffset? end = null;
        var longest = TimeSpan.Zero;
        for (var i = Math.Max(start, 0) + 1; i < times.Count; i++)
        {
            if (times[i] - times[i - 1] > longest)
            {
                longest = times[i] - times[i - 1];
                end = times[i];
            }
        }

        return end;
    }

    /// <summary>Per second from <paramref name="t"/>: successes (by answering server) and failures, e.g. "+0: 80 ok, +1: 12 ok 30 failed".</summary>
    public string Timeline(DateTimeOffset t, int seconds)
    {
        var parts = new List<string>();
        for (var i = 0; i < seconds; i++)
        {
            var (from, to) = (t + TimeSpan.FromSeconds(i), t + TimeSpan.FromSeconds(i + 1));
            var ok = _acks.Where(a => a.At >= from && a.At < to).GroupBy(a => a.Server).Select(g => $"{g.Count()} {g.Key}").ToList();
            var failed = _failures.Count(f => f >= from && f < to);
            parts.Add($"+{i}: {(ok.Count == 0 ? "0 ok" : string.Join(" ", ok))}{(failed == 0 ? "" : $" {failed} failed")}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>The statement of attempt <paramref name="n"/>, on an open connection.</summary>
    protected abstract NpgsqlCommand Command(NpgsqlConnection connection, long n);

    private async Task LoopAsync(CancellationToken ct)
    {
        long n = 0;
        while (!ct.IsCancellationRequested)
        {
            n++;
            var started = Stopwatch.GetTimestamp();
            try
            {
                await using var conn = new NpgsqlConnection(_connectionString);
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                connectTimeout.CancelAfter(TimeSpan.FromMilliseconds(500));
                await conn.OpenAsync(connectTimeout.Token);
                await using var cmd = Command(conn, n);
                var server = (string?)await cmd.ExecuteScalarAsync(ct);
                _acks.Enqueue((n, DateTimeOffset.UtcNow, server));
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                _failures.Enqueue(DateTimeOffset.UtcNow);
            }

            var wait = Interval - Stopwatch.GetElapsedTime(started);
            if (wait > TimeSpan.Zero && !ct.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(wait, ct);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
