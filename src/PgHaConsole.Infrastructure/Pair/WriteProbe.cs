using System.Diagnostics;
using Npgsql;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>What the write probe saw: acknowledged writes, failures and the longest stretch without an acknowledged write.</summary>
public sealed record WriteProbeReport(long Attempts, long Acknowledged, long Failures, double LongestGapSeconds, DateTimeOffset? LongestGapStart, DateTimeOffset? LongestGapEnd);

/// <summary>
/// A client writing through the write VIP every <see cref="Interval"/> during an operation, as an application would:
/// one connection, re-opened (bounded by a short timeout) after any error. Each acknowledged INSERT is a commit the
/// application was told about; the longest interval between two of them is the write unavailability.
/// </summary>
public sealed class WriteProbe : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(250);

    private readonly string _connectionString;
    private readonly string _writtenBy;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private long _attempts;
    private long _acks;
    private long _failures;
    private DateTimeOffset? _lastAck;
    private TimeSpan _longest;
    private DateTimeOffset? _gapStart;
    private DateTimeOffset? _gapEnd;

    public WriteProbe(ClusterSpec cluster, string password, string writtenBy, TimeProvider time)
    {
        // Whole seconds are Npgsql's floor; the connect is also cancelled after ConnectTimeout.
        _connectionString = NodeConnections.Monitor(cluster, cluster.WriteVip, password, "pghaconsole-write-probe", timeout: 1, commandTimeout: 1).ConnectionString;
        _writtenBy = writtenBy;
        _time = time;
    }

    public bool Running => _loop is { IsCompleted: false };

    public void Start()
    {
        if (_loop is not null)
        {
            return;
        }

        // An operation that fails before its report step never stops the probe: it stops itself.
        _stop.CancelAfter(TimeSpan.FromMinutes(15));
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    public WriteProbeReport Snapshot()
    {
        lock (_gate)
        {
            return new WriteProbeReport(_attempts, _acks, _failures, _longest.TotalSeconds, _gapStart, _gapEnd);
        }
    }

    public async Task<WriteProbeReport> StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        return Snapshot();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        NpgsqlConnection? conn = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref _attempts);
                try
                {
                    if (conn is null)
                    {
                        conn = new NpgsqlConnection(_connectionString);
                        using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        connect.CancelAfter(ConnectTimeout);
                        await conn.OpenAsync(connect.Token);
                    }

                    await using var cmd = new NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES (@w)", conn);
                    cmd.Parameters.AddWithValue("w", _writtenBy);
                    await cmd.ExecuteNonQueryAsync(ct);
                    Acknowledge(_time.GetUtcNow());
                }
                catch (Exception ex) when (!ct.IsCancellationRequested
                    && ex is NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException)
                {
                    Interlocked.Increment(ref _failures);
                    if (conn is not null)
                    {
                        await conn.DisposeAsync();
                        conn = null;
                    }
                }

                var wait = Interval - Stopwatch.GetElapsedTime(started);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopping while a write was in flight: whatever it threw, the probe is done.
        }
        finally
        {
            if (conn is not null)
            {
                await conn.DisposeAsync();
            }
        }
    }

    private void Acknowledge(DateTimeOffset now)
    {
        lock (_gate)
        {
            _acks++;
            if (_lastAck is { } last && now - last > _longest)
            {
                _longest = now - last;
                _gapStart = last;
                _gapEnd = now;
            }

            _lastAck = now;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
