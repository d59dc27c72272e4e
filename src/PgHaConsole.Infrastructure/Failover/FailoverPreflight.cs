using System.Globalization;
using Npgsql;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Failover;

/// <summary>One preflight check of a failover, with the reason it passed or failed.</summary>
public sealed record FailoverCheck(string Check, string? Host, bool Ok, string Detail);

/// <summary>
/// Why a failover is allowed (or not): what the console and the standby each see of the old primary, the standby's
/// WAL positions, the primary's last position the console saw, and so what may be lost.
/// </summary>
public sealed record FailoverPreflightReport(string? Primary, string? Standby, IReadOnlyList<FailoverCheck> Checks)
{
    /// <summary>The console reached the old primary's host over SSH (it can be fenced now; otherwise it must fence itself).</summary>
    public bool PrimaryHostReachable { get; init; }

    /// <summary>The primary answers as a primary: a failover is refused (that is a switchover).</summary>
    public bool PrimaryHealthy { get; init; }

    public Lsn? StandbyReceived { get; init; }

    public Lsn? StandbyReplayed { get; init; }

    public Lsn? PrimaryLastLsn { get; init; }

    public long? MissingBytes { get; init; }

    public bool SynchronousInForce { get; init; }

    public string LossStatement { get; init; } = "";

    public bool CanFailOver => Primary is not null && Standby is not null && Checks.All(c => c.Ok);
}

/// <summary>
/// Read-only checks before a failover, straight from the hosts (not from the last topology picture): the old primary is
/// lost (its host says no postmaster runs, or neither SSH nor PostgreSQL answers the console), the standby is a running
/// standby whose WAL receiver has lost the primary and which cannot open the primary's port.
/// </summary>
public static class FailoverPreflight
{
    private static readonly TimeSpan HostTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan LostHostTimeout = TimeSpan.FromSeconds(1.5);

    public static async Task<FailoverPreflightReport> RunAsync(ClusterEnvironment env, FailoverParameters parameters, CancellationToken ct)
    {
        var checks = new List<FailoverCheck>();
        // Both hosts at once, and PostgreSQL's own answer of each beside: a lost host costs one timeout, not a sum of them
        // (the failover over an unreachable primary spent 8 s here, issue #13's chaos suite).
        // An automatic failover's old primary that the witness has not seen for longer than the self-fence delay is asked
        // with a short bound: it has been unreachable for many polls already, and every second here is write outage
        // (the failover benchmark saw 6 s of preflight over a lost host).
        var longLost = parameters is { Automatic: true, From: { } lostName, PrimaryLastSeen: { } lastSeen }
            && env.Time.GetUtcNow() - lastSeen > TimeSpan.FromSeconds(SelfFence.DelaySecondsFor(env.Cluster.Vrrp))
                ? lostName : null;
        var probes = env.Hosts.ToDictionary(h => h, h => TryAsync(() => h.GetPgStateAsync(ct), ct, h.Name == longLost ? LostHostTimeout : null));
        var answers = env.Hosts.ToDictionary(h => h, h => ConsoleSeesPrimaryAsync(env, h, ct));
        await Task.WhenAll(probes.Values.Cast<Task>().Concat(answers.Values));
        var states = probes.ToDictionary(kv => kv.Key, kv => kv.Value.Result);

        var standby = env.Hosts.FirstOrDefault(h => states[h] is { IsStandby: true } && (parameters.To is null || parameters.To == h.Name));
        if (standby is null)
        {
            checks.Add(new("standby", null, false, "no node runs as a standby that could be promoted: " + string.Join("; ",
                env.Hosts.Select(h => h.Name + ": " + (states[h] is { } s ? s.Describe() : "SSH does not answer")))));
            return new FailoverPreflightReport(null, null, checks);
        }

        var old = env.Hosts.First(h => h != standby);
        checks.Add(new("standby", standby.Name, true, $"{standby.Name} runs as a standby"));

        // What the console sees of the old primary.
        var oldState = states[old];
        var primaryHealthy = false;
        if (oldState is { } os)
        {
            primaryHealthy = os.IsPrimary;
            checks.Add(new("console-view", old.Name, !os.Running, os.IsPrimary
                ? $"{old.Name} runs as the primary: nothing to fail over (a planned change of primary is a switchover)"
                : os.Running
                    ? $"{old.Name}: SSH answers and PostgreSQL runs ({os.Describe()}): not a lost primary"
                    : $"{old.Name}: SSH answers, no postmaster runs: PostgreSQL is down; it will be fenced before the promotion"));
        }
        else
        {
            // No SSH: does PostgreSQL still answer the console? Then the primary is alive and only SSH is broken.
            var answer = await answers[old];
            primaryHealthy = answer == "primary";
            checks.Add(new("console-view", old.Name, answer is null,
                answer is null
                    ? $"{old.Name}: neither SSH nor PostgreSQL answers the console: the host is lost or cut off; it fences itself (no write accepted, no VIP) {SelfFence.WorstCaseSeconds(env.Cluster.Vrrp).ToString(CultureInfo.InvariantCulture)} s after it lost both the standby and the console at the latest, and the fence step waits for that"
                    : $"{old.Name}: SSH does not answer but PostgreSQL answers the console as {answer}: not a lost primary"));
        }

        // What the standby sees of it: its WAL receiver and the primary's port from there.
        var receiver = (await standby.PsqlAsync(
            "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver LIMIT 1), 'none'), coalesce(pg_last_wal_receive_lsn()::text, ''), coalesce(pg_last_wal_replay_lsn()::text, '')", null, ct)).Split('\t');
        var status = receiver[0];
        checks.Add(new("standby-view", standby.Name, status != "streaming",
            status == "streaming" ? $"{standby.Name}'s WAL receiver still streams from {old.Name}" : $"{standby.Name}'s WAL receiver: {status}"));
        var port = await standby.RunAsync(RemoteCommand.BashScript(
            "timeout 1 bash -c 'exec 3<>\"/dev/tcp/$1/$2\"' _ \"$1\" \"$2\" 2>/dev/null && echo open || echo closed",
            old.Node.Address, env.Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)), null, ct);
        var open = port.StdOut.Trim() == "open";
        checks.Add(new("standby-view", standby.Name, !open,
            $"{old.Name}:{env.Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)} {(open ? "opens" : "does not open")} from {standby.Name}"));

        Lsn? received = Lsn.TryParse(receiver.ElementAtOrDefault(1) ?? "", out var r) ? r : null;
        Lsn? replayed = Lsn.TryParse(receiver.ElementAtOrDefault(2) ?? "", out var p) ? p : null;
        Lsn? last = Lsn.TryParse(parameters.PrimaryLastLsn ?? "", out var l) ? l : null;
        long? missing = last is { } a && received is { } b ? Math.Max(0, a - b) : null;
        var assessment = new LossAssessment
        {
            Primary = old.Name,
            Standby = standby.Name,
            Console = ConsoleView.Unsure,
            ConsoleDetail = "",
            StandbySeesLost = true,
            StandbyDetail = "",
            StandbyHealthy = true,
            MissingBytes = missing,
            SynchronousInForce = parameters.SynchronousInForce,
        };
        checks.Add(new("wal", standby.Name, true, string.Create(CultureInfo.InvariantCulture,
            $"{standby.Name} received up to {received?.ToString() ?? "?"}, replayed up to {replayed?.ToString() ?? "?"}; {old.Name}'s last position seen by the console: {last?.ToString() ?? "unknown"}; {assessment.LossStatement}")));

        return new FailoverPreflightReport(old.Name, standby.Name, checks)
        {
            PrimaryHostReachable = oldState is not null,
            PrimaryHealthy = primaryHealthy,
            StandbyReceived = received,
            StandbyReplayed = replayed,
            PrimaryLastLsn = last,
            MissingBytes = missing,
            SynchronousInForce = parameters.SynchronousInForce,
            LossStatement = assessment.LossStatement,
        };
    }

    /// <summary>A host call bounded in time: an unreachable host (or a dead pooled SSH connection) yields null, not a 30 s wait.</summary>
    internal static async Task<T?> TryAsync<T>(Func<Task<T>> call, CancellationToken ct, TimeSpan? timeout = null)
        where T : class
    {
        try
        {
            // Task.Run: connecting over a cut link can block the caller itself before any task is returned.
            return await Task.Run(call, ct).WaitAsync(timeout ?? HostTimeout, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>"primary" or "standby" when the node's PostgreSQL answers the console as the monitoring role; null when it does not answer.</summary>
    private static async Task<string?> ConsoleSeesPrimaryAsync(ClusterEnvironment env, NodeHost node, CancellationToken ct)
    {
        var cs = NodeConnections.Monitor(env.Cluster, node.Node.Address, env.Secrets.MonitorPassword, "pghaconsole-failover", timeout: 2, commandTimeout: 2).ConnectionString;
        try
        {
            await using var conn = new NpgsqlConnection(cs);
            await conn.OpenAsync(ct).WaitAsync(TimeSpan.FromSeconds(3), ct);
            await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
            return (bool)(await cmd.ExecuteScalarAsync(ct))! ? "standby" : "primary";
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }
}
