using System.Diagnostics;
using Npgsql;

namespace PgHaConsole.Benchmarks;

/// <summary>One acknowledged write: its sequence number and when the INSERT returned (Stopwatch timestamp).</summary>
internal readonly record struct WriteAck(long Seq, long Timestamp);

/// <summary>One failed attempt: when it began, when it failed, and why.</summary>
internal readonly record struct WriteFailure(long Seq, long Started, long Failed, string Error);

/// <summary>The longest stretch between two consecutive acknowledged writes within a window.</summary>
internal readonly record struct WriteGap(double Seconds, long FromTimestamp, long ToTimestamp, long SeqBefore, long SeqAfter);

/// <summary>
/// An application writing through the write VIP every 10 ms: <c>INSERT INTO pghaconsole.bench_writes (seq, at)</c> with
/// a new sequence number per attempt, on one connection re-opened after any error (connect cancelled after 250 ms;
/// Npgsql Timeout=1, CommandTimeout=1). A seq is acknowledged when its INSERT returned without error: the application
/// was told it committed. Every acknowledged seq must be on the final primary.
/// </summary>
internal sealed class BenchmarkWriter : IAsyncDisposable
{
    public const string Table = "pghaconsole.bench_writes";
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromMilliseconds(250);

    private readonly string _connectionString;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<WriteAck> _acks = [];
    private readonly List<string> _errors = [];
    private readonly List<WriteFailure> _failureLog = [];
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _startWall = DateTimeOffset.Now;
    private Task? _loop;
    private long _nextSeq;
    private long _attempts;
    private long _failures;

    public BenchmarkWriter(string connectionString, long firstSeq)
    {
        _connectionString = connectionString;
        FirstSeq = firstSeq;
        _nextSeq = firstSeq;
    }

    public long FirstSeq { get; }

    public long Attempts => Interlocked.Read(ref _attempts);

    public long Failures => Interlocked.Read(ref _failures);

    public static async Task CreateTableAsync(string connectionString, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {Table} (seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())", conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The seqs in [<paramref name="from"/>, <paramref name="to"/>] present in the table, read on <paramref name="connectionString"/>'s server (must be the primary).</summary>
    public static async Task<HashSet<long>> ReadSeqsAsync(string connectionString, long from, long to, CancellationToken ct)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 30, Timeout = 5 }.ConnectionString;
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync(ct);
        await using (var check = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn))
        {
            if ((bool)(await check.ExecuteScalarAsync(ct))!)
            {
                throw new InvalidOperationException($"{conn.Host} is in recovery: the seqs must be read on the primary.");
            }
        }

        await using var cmd = new NpgsqlCommand($"SELECT seq FROM {Table} WHERE seq BETWEEN @f AND @t", conn);
        cmd.Parameters.AddWithValue("f", from);
        cmd.Parameters.AddWithValue("t", to);
        var set = new HashSet<long>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            set.Add(reader.GetInt64(0));
        }

        return set;
    }

    public void Start()
    {
        _loop ??= Task.Run(() => LoopAsync(_stop.Token));
    }

    public async Task StopAsync()
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
    }

    public WriteAck[] Acks()
    {
        lock (_gate)
        {
            return [.. _acks];
        }
    }

    public long? LastAckTimestamp()
    {
        lock (_gate)
        {
            return _acks.Count == 0 ? null : _acks[^1].Timestamp;
        }
    }

    /// <summary>Distinct error messages seen (first occurrence, with time), for the report.</summary>
    public IReadOnlyList<string> Errors()
    {
        lock (_gate)
        {
            return [.. _errors];
        }
    }

    /// <summary>Failed attempts that overlap [<paramref name="from"/>, <paramref name="to"/>] (Stopwatch timestamps).</summary>
    public WriteFailure[] FailuresBetween(long from, long to)
    {
        lock (_gate)
        {
            return [.. _failureLog.Where(f => f.Failed >= from && f.Started <= to)];
        }
    }

    public DateTimeOffset WallClock(long timestamp) => _startWall + Stopwatch.GetElapsedTime(_startTimestamp, timestamp);

    /// <summary>
    /// The longest interval between two consecutive acknowledged writes that overlaps [<paramref name="from"/>,
    /// <paramref name="to"/>] (Stopwatch timestamps): a gap that began before the window and ended inside it counts.
    /// </summary>
    public WriteGap LongestGap(long from, long to)
    {
        var acks = Acks();
        var best = new WriteGap(0, from, from, -1, -1);
        for (var i = 1; i < acks.Length; i++)
        {
            var (a, b) = (acks[i - 1], acks[i]);
            if (b.Timestamp < from || a.Timestamp > to)
            {
                continue;
            }

            var s = Stopwatch.GetElapsedTime(a.Timestamp, b.Timestamp).TotalSeconds;
            if (s > best.Seconds)
            {
                best = new WriteGap(s, a.Timestamp, b.Timestamp, a.Seq, b.Seq);
            }
        }

        return best;
    }

    /// <summary>Waits until writes flow steadily: acknowledged at least every 250 ms over the last second, after <paramref name="notBefore"/>.</summary>
    public async Task<bool> WaitSteadyAsync(long notBefore, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < timeout)
        {
            var now = Stopwatch.GetTimestamp();
            var windowStart = now - Stopwatch.Frequency;
            if (windowStart >= notBefore && LastAckTimestamp() is { } last && Stopwatch.GetElapsedTime(last, now) < TimeSpan.FromMilliseconds(250)
                && LongestGap(windowStart, now) is var g && g.Seconds < 0.25 && g.SeqBefore >= 0)
            {
                return true;
            }

            await Task.Delay(50, ct);
        }

        return false;
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        NpgsqlConnection? conn = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                var seq = _nextSeq++;
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

                    await using var cmd = new NpgsqlCommand($"INSERT INTO {Table} (seq, at) VALUES (@s, clock_timestamp())", conn);
                    cmd.Parameters.AddWithValue("s", seq);
                    // Not cancelled by Stop: an INSERT in flight finishes (or times out) so its outcome is known.
                    await cmd.ExecuteNonQueryAsync(CancellationToken.None);
                    var at = Stopwatch.GetTimestamp();
                    lock (_gate)
                    {
                        _acks.Add(new WriteAck(seq, at));
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException or IOException)
                {
                    Interlocked.Increment(ref _failures);
                    Note(ex, seq, started);
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
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            if (conn is not null)
            {
                await conn.DisposeAsync();
            }
        }
    }

    private void Note(Exception ex, long seq, long started)
    {
        var text = ex.GetType().Name + ": " + (ex is PostgresException pg ? pg.SqlState + " " + pg.MessageText : ex.Message);
        var failed = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (_failureLog.Count < 100_000)
            {
                _failureLog.Add(new WriteFailure(seq, started, failed, text));
            }

            if (_errors.Count < 40 && !_errors.Any(e => e.EndsWith(text, StringComparison.Ordinal)))
            {
                _errors.Add($"{DateTimeOffset.Now:HH:mm:ss.fff} {text}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
