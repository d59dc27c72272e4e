using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// A test-owned client writing through the write VIP as an application would: a fresh connection per insert every
/// <see cref="Interval"/>, each row tagged <c>{tag}:{n}</c> in <c>pghaconsole.heartbeat</c>. It records which inserts
/// were acknowledged (committed and told to the client) and when, so a test can say when writes came back and whether
/// every acknowledged row is on the final primary.
/// </summary>
public sealed class VipWriter : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    private readonly string _connectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(long N, DateTimeOffset At, string? Server)> _acks = new();
    private long _failures;
    private Task? _loop;

    public VipWriter(ClusterSpec cluster, string password, string tag)
    {
        Tag = tag;
        _connectionString = NodeConnections.Monitor(cluster, cluster.WriteVip, password, "test-vip-writer", timeout: 1, commandTimeout: 2).ConnectionString;
    }

    public string Tag { get; }

    public long Failures => Interlocked.Read(ref _failures);

    public IReadOnlyList<(long N, DateTimeOffset At, string? Server)> Acknowledged => [.. _acks];

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>The first acknowledged insert at or after <paramref name="t"/>, or null.</summary>
    public DateTimeOffset? FirstAckAfter(DateTimeOffset t) => _acks.Where(a => a.At >= t).Select(a => (DateTimeOffset?)a.At).Min();

    private async Task LoopAsync(CancellationToken ct)
    {
        long n = 0;
        var tick = Stopwatch.StartNew();
        while (!ct.IsCancellationRequested)
        {
            n++;
            try
            {
                await using var conn = new NpgsqlConnection(_connectionString);
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                connectTimeout.CancelAfter(TimeSpan.FromMilliseconds(500));
                await conn.OpenAsync(connectTimeout.Token);
                await using var cmd = new NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES (@w) RETURNING host(inet_server_addr())", conn);
                cmd.Parameters.AddWithValue("w", $"{Tag}:{n}");
                var server = (string?)await cmd.ExecuteScalarAsync(ct);
                _acks.Enqueue((n, DateTimeOffset.UtcNow, server));
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                Interlocked.Increment(ref _failures);
            }

            var wait = Interval - tick.Elapsed;
            tick.Restart();
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
    }
}
