using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using PgHaConsole.Core.Haproxy;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.Infrastructure.Topology;

/// <summary>A cluster with the secrets needed to probe it (in memory only).</summary>
public sealed record ProbeTarget(ClusterSpec Cluster, ClusterSecrets? Secrets, IReadOnlyDictionary<Guid, NodeSecrets?> NodeSecrets)
{
    // Records would otherwise print the secrets.
    public override string ToString() => $"ProbeTarget {{ {Cluster.Name} }}";
}

/// <summary>Observes one node. Never throws for what it finds on the node: problems become <see cref="NodeState.Errors"/>.</summary>
public interface INodeProber
{
    Task<NodeState> ProbeAsync(ProbeTarget target, NodeSpec node, CancellationToken cancellationToken);

    /// <summary>Closes what is cached for the node (its PostgreSQL data source): the node or its cluster is gone.</summary>
    ValueTask ForgetAsync(Guid nodeId);
}

/// <summary>
/// Probes a node in two parallel halves: PostgreSQL through one cached <see cref="NpgsqlDataSource"/> per node
/// (one batch, one round trip), and the host through the pooled SSH connection (one read-only script).
/// </summary>
public sealed class NodeProber : INodeProber, IAsyncDisposable
{
    public const string ApplicationName = "pghaconsole-monitor";

    // Compatible with PostgreSQL 11 to 17: pg_stat_wal_receiver.received_lsn became flushed_lsn in 13, so the
    // received position comes from pg_last_wal_receive_lsn(). The primary's timeline is read from the name of the
    // current WAL file, which changes at promotion (the checkpoint's timeline only after the next checkpoint).
    internal const string NodeSql = """
        SELECT pg_is_in_recovery(),
               current_setting('server_version'),
               CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver LIMIT 1)
                    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
               pg_last_wal_receive_lsn()::text,
               pg_last_wal_replay_lsn()::text,
               extract(epoch FROM now() - pg_postmaster_start_time())::float8,
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int,
               current_setting('max_connections')::int,
               current_setting('wal_log_hints') = 'on' OR current_setting('data_checksums') = 'on',
               pg_last_xact_replay_timestamp(),
               now(),
               current_setting('synchronous_standby_names')
        """;

    internal const string ReplicationSql = """
        SELECT application_name, host(client_addr), state, sync_state,
               sent_lsn::text, write_lsn::text, flush_lsn::text, replay_lsn::text,
               CASE WHEN pg_is_in_recovery() OR replay_lsn IS NULL THEN NULL
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END,
               extract(epoch FROM write_lag)::float8,
               extract(epoch FROM flush_lag)::float8,
               extract(epoch FROM replay_lag)::float8
        FROM pg_stat_replication
        ORDER BY application_name
        """;

    internal const string WalReceiverSql = "SELECT status, sender_host, sender_port FROM pg_stat_wal_receiver";

    internal const string SlotsSql = """
        SELECT slot_name::text, slot_type, active,
               CASE WHEN restart_lsn IS NULL THEN NULL
                    WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), restart_lsn)::bigint
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END
        FROM pg_replication_slots
        ORDER BY slot_name
        """;

    /// <summary>Beyond <see cref="TopologyOptions.ProbeTimeout"/>, how long a probe may take before its result is given up.</summary>
    private static readonly TimeSpan HardLimitGrace = TimeSpan.FromMilliseconds(500);

    private readonly ISshSessionPool _ssh;
    private readonly IOptions<TopologyOptions> _options;
    private readonly ILogger<NodeProber> _logger;
    private readonly ConcurrentDictionary<Guid, DataSourceEntry> _dataSources = new();
    private readonly KeepalivedPaths _keepalivedPaths = new();
    private readonly HaproxyOptions _haproxy = new();

    public NodeProber(ISshSessionPool ssh, IOptions<TopologyOptions> options, ILogger<NodeProber>? logger = null)
    {
        _ssh = ssh;
        _options = options;
        _logger = logger ?? NullLogger<NodeProber>.Instance;
    }

    /// <summary>How many PostgreSQL data sources are open (one per probed node).</summary>
    public int DataSourceCount => _dataSources.Count;

    public async Task<NodeState> ProbeAsync(ProbeTarget target, NodeSpec node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(node);
        var nodeSecrets = target.NodeSecrets.GetValueOrDefault(node.Id);
        var masker = new SecretMasker([
            target.Secrets?.MonitorPassword, target.Secrets?.ReplicationPassword, target.Secrets?.VrrpPassword,
            target.Secrets?.PendingMonitorPassword, target.Secrets?.PendingReplicationPassword, target.Secrets?.PendingVrrpPassword,
            nodeSecrets?.Password, nodeSecrets?.PrivateKey, nodeSecrets?.PrivateKeyPassphrase]);
        var timeout = _options.Value.ProbeTimeout;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);

        var started = Stopwatch.GetTimestamp();
        var baseState = new NodeState { NodeId = node.Id, Name = node.Name, Address = node.Address, Role = NodeRole.Unknown };
        // On the thread pool: SSH.NET blocks synchronously in places (a channel open over a cut link waits for its own
        // session timeout), and a half that blocks before returning its task would hold the deadline below hostage.
        var hostTask = Task.Run(() => ProbeHostAsync(target.Cluster, node, nodeSecrets, masker, timeout, cts.Token, cancellationToken), CancellationToken.None);

        // No PostgreSQL connection (and so no monitoring password sent) to a host whose identity nobody confirmed.
        var pgTask = node.HostKeySha256 is null
            ? Task.FromResult(baseState with
            {
                Errors = ["PostgreSQL was not probed: no SSH host key is confirmed for this host yet (run Test connection on the cluster's page)."],
            })
            : Task.Run(() => ProbePostgresAsync(target, node, baseState, masker, timeout, cts.Token, cancellationToken), CancellationToken.None);

        // The timeout is an upper bound of the probe, not only a cancellation request: over a cut link SSH.NET
        // answers the cancellation only after its own session timeout (seen on the lab: 6-9 s instead of 3 s), so
        // a half that has not finished by the deadline is reported as not answering and left to end by itself.
        var deadline = timeout + HardLimitGrace;
        var pg = await WithinAsync(pgTask, deadline - Stopwatch.GetElapsedTime(started), () => baseState with
        {
            Role = NodeRole.Down,
            Errors = [string.Create(CultureInfo.InvariantCulture, $"PostgreSQL on {node.Address}:{target.Cluster.Postgres.Port} did not answer within {timeout.TotalSeconds:0.#} s.")],
        }, cancellationToken);
        var (host, sshReachable, mismatch, sshError) = await WithinAsync(hostTask, deadline - Stopwatch.GetElapsedTime(started), () => ((HostObservation?)null, false, false, (string?)string.Create(CultureInfo.InvariantCulture,
            $"SSH to {node.Name} ({node.Address}:{node.SshPort}) did not answer within {timeout.TotalSeconds:0.#} s.")), cancellationToken);

        var errors = new List<string>(pg.Errors);
        if (sshError is not null)
        {
            errors.Insert(0, sshError);
        }

        if (host is not null)
        {
            errors.AddRange(host.Errors);
        }

        return pg with
        {
            SshReachable = sshReachable,
            HostKeyMismatch = mismatch,
            HoldsWriteVip = host?.HoldsWriteVip ?? false,
            HoldsReadVip = host?.HoldsReadVip ?? false,
            Keepalived = host?.Keepalived,
            Balancer = host?.Balancer,
            HaproxyRunning = host?.HaproxyRunning,
            PostmasterRunning = host?.PostmasterRunning,
            PeerPortOpen = host?.PeerPortOpen,
            Fenced = host?.Fenced,
            Errors = errors,
        };
    }

    private static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan remaining, Func<T> onTimeout, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            // Left to finish on its own (both halves turn every failure into a result); never unobserved.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return onTimeout();
        }
    }

    private async Task<(HostObservation? Host, bool Reachable, bool Mismatch, string? Error)> ProbeHostAsync(
        ClusterSpec cluster, NodeSpec node, NodeSecrets? secrets, SecretMasker masker, TimeSpan timeout,
        CancellationToken probeToken, CancellationToken outerToken)
    {
        try
        {
            var target = SshTarget.FromNode(node, secrets) with { ConnectTimeout = timeout };
            var session = _ssh.GetSession(target);
            var command = RemoteCommand.BashScript(
                HostProbeScript.Script,
                HostProbeScript.Arguments(cluster, node, _keepalivedPaths, _haproxy.StatsSocket));
            var result = await session.RunAsync(command, timeout, null, probeToken);
            if (result.TimedOut)
            {
                // Over a pooled connection whose link was cut the command just never answers (SSH.NET notices the dead
                // session only ~10 s later): the host did not answer the console, whatever the old session claims.
                return (null, false, false, string.Create(CultureInfo.InvariantCulture, $"SSH to {node.Name}: the probe script did not answer within {timeout.TotalSeconds:0.#} s."));
            }

            var observation = HostProbeScript.Parse(result.StdOut, cluster);
            return (observation with { Errors = observation.Errors.Select(masker.Apply).ToArray() }, true, false, null);
        }
        catch (HostKeyMismatchException ex)
        {
            return (null, false, true, masker.Apply(ex.Message));
        }
        catch (OperationCanceledException) when (!outerToken.IsCancellationRequested)
        {
            return (null, false, false, string.Create(CultureInfo.InvariantCulture,
                $"SSH to {node.Name} ({node.Address}:{node.SshPort}) did not answer within {timeout.TotalSeconds:0.#} s."));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogDebug("SSH probe of {Node} failed: {Error}", node.Name, masker.Apply(ex.Message));
            var message = ex is SshLayerException ? ex.Message : $"SSH probe failed: {ex.GetType().Name}: {ex.Message}";
            return (null, false, false, masker.Apply(message));
        }
    }

    private async Task<NodeState> ProbePostgresAsync(
        ProbeTarget target, NodeSpec node, NodeState state, SecretMasker masker, TimeSpan timeout,
        CancellationToken probeToken, CancellationToken outerToken)
    {
        var cluster = target.Cluster;
        var where = $"{node.Address}:{cluster.Postgres.Port}";
        try
        {
            var dataSource = GetDataSource(target, node);
            await using var batch = dataSource.CreateBatch();
            foreach (var sql in new[] { NodeSql, ReplicationSql, WalReceiverSql, SlotsSql })
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
            }

            await using var reader = await batch.ExecuteReaderAsync(probeToken);
            if (!await reader.ReadAsync(probeToken))
            {
                return state with { PgReachable = true, Errors = ["PostgreSQL returned no row for the node query."] };
            }

            var inRecovery = reader.GetBoolean(0);
            var received = LsnOrNull(reader, 4);
            var replayed = LsnOrNull(reader, 5);
            var lastReplay = reader.IsDBNull(10) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(10);
            var serverNow = reader.GetFieldValue<DateTimeOffset>(11);
            state = state with
            {
                PgReachable = true,
                Role = inRecovery ? NodeRole.Standby : NodeRole.Primary,
                Version = reader.GetString(1),
                Timeline = reader.IsDBNull(2) ? null : reader.GetInt32(2),
                CurrentLsn = LsnOrNull(reader, 3),
                ReceivedLsn = received,
                ReplayedLsn = replayed,
                Uptime = reader.IsDBNull(6) ? null : TimeSpan.FromSeconds(reader.GetDouble(6)),
                Connections = reader.IsDBNull(7) ? null : reader.GetInt32(7),
                MaxConnections = reader.IsDBNull(8) ? null : reader.GetInt32(8),
                RewindReady = reader.IsDBNull(9) ? null : reader.GetBoolean(9),
                SynchronousStandbyNames = reader.IsDBNull(12) ? null : reader.GetString(12),
            };

            await reader.NextResultAsync(probeToken);
            var rows = new List<ReplicationRow>();
            while (await reader.ReadAsync(probeToken))
            {
                rows.Add(new ReplicationRow
                {
                    ApplicationName = reader.IsDBNull(0) ? string.Empty : reader.GetString(0),
                    ClientAddress = reader.IsDBNull(1) ? null : reader.GetString(1),
                    State = reader.IsDBNull(2) ? "unknown" : reader.GetString(2),
                    SyncState = reader.IsDBNull(3) ? null : reader.GetString(3),
                    SentLsn = LsnOrNull(reader, 4),
                    WriteLsn = LsnOrNull(reader, 5),
                    FlushLsn = LsnOrNull(reader, 6),
                    ReplayLsn = LsnOrNull(reader, 7),
                    LagBytes = reader.IsDBNull(8) ? null : reader.GetInt64(8),
                    WriteLag = SecondsOrNull(reader, 9),
                    FlushLag = SecondsOrNull(reader, 10),
                    ReplayLag = SecondsOrNull(reader, 11),
                });
            }

            await reader.NextResultAsync(probeToken);
            WalReceiverState? receiver = null;
            if (await reader.ReadAsync(probeToken))
            {
                receiver = new WalReceiverState
                {
                    Status = reader.IsDBNull(0) ? null : reader.GetString(0),
                    SenderHost = reader.IsDBNull(1) ? null : reader.GetString(1),
                    SenderPort = reader.IsDBNull(2) ? null : reader.GetInt32(2),
                };
            }

            await reader.NextResultAsync(probeToken);
            var slots = new List<SlotState>();
            while (await reader.ReadAsync(probeToken))
            {
                slots.Add(new SlotState(
                    reader.GetString(0),
                    reader.IsDBNull(1) ? "?" : reader.GetString(1),
                    !reader.IsDBNull(2) && reader.GetBoolean(2),
                    reader.IsDBNull(3) ? null : reader.GetInt64(3)));
            }

            if (inRecovery)
            {
                // Measured against the server's own clock, and only when something is waiting to be replayed.
                receiver = (receiver ?? new WalReceiverState()) with
                {
                    ReceivedLsn = received,
                    ReplayedLsn = replayed,
                    LastReplayAt = lastReplay,
                    ReplayDelaySeconds = ReplicationLag.StandbyDelaySeconds(received, replayed, lastReplay, serverNow),
                };
            }

            return state with { Replication = rows, WalReceiver = receiver, Slots = slots };
        }
        catch (OperationCanceledException) when (!outerToken.IsCancellationRequested)
        {
            return state with
            {
                Role = NodeRole.Down,
                Errors = [string.Create(CultureInfo.InvariantCulture, $"PostgreSQL on {where} did not answer within {timeout.TotalSeconds:0.#} s.")],
            };
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown)
        {
            // Starting up, shutting down, or (seen on the lab after kill -9 of the postmaster) the pooled
            // connection's backend terminating because the postmaster is gone: PostgreSQL is down, not "unknown".
            return state with { Role = NodeRole.Down, Errors = [masker.Apply($"PostgreSQL on {where} is not serving ({ex.SqlState}): {ex.MessageText}")] };
        }
        catch (PostgresException ex)
        {
            // The server answered but refused the monitoring login or a query (password, pg_hba.conf, grants).
            return state with
            {
                PgReachable = true,
                Role = NodeRole.Unknown,
                Errors = [masker.Apply($"PostgreSQL on {where} answered with an error {ex.SqlState}: {ex.MessageText}")],
            };
        }
        catch (Exception ex) when (ex is NpgsqlException or DbException or TimeoutException or IOException or System.Net.Sockets.SocketException)
        {
            var detail = ex.InnerException is System.Net.Sockets.SocketException se ? se.Message : ex.Message;
            return state with { Role = NodeRole.Down, Errors = [masker.Apply($"PostgreSQL on {where} does not answer: {detail}")] };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning("Unexpected error probing PostgreSQL on {Node}: {Error}", node.Name, masker.Apply(ex.ToString()));
            return state with { Role = NodeRole.Unknown, Errors = [masker.Apply($"Reading PostgreSQL on {where} failed: {ex.GetType().Name}: {ex.Message}")] };
        }
    }

    /// <summary>The PostgreSQL half's connect and command timeouts: 40 % of the probe's bound, at least 2 s (whole seconds, Npgsql's unit).</summary>
    internal static int PostgresSeconds(TimeSpan probeTimeout) => Math.Max(2, (int)(probeTimeout.TotalSeconds * 0.4));

    private NpgsqlDataSource GetDataSource(ProbeTarget target, NodeSpec node)
    {
        // 2 s at the default probe bound (5 s); a longer bound (slow hosts, e.g. the UML lab's guest, where a backend's
        // fork and SCRAM login alone took more than 2 s) gives the connection and the queries their share of it.
        var seconds = PostgresSeconds(_options.Value.ProbeTimeout);
        var csb = NodeConnections.Monitor(target.Cluster, node.Address, target.Secrets?.MonitorPassword, ApplicationName, timeout: seconds, commandTimeout: seconds);
        csb.Pooling = true;
        csb.MaxPoolSize = 2;
        var connectionString = csb.ConnectionString;
        var digest = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(connectionString)));
        while (true)
        {
            if (_dataSources.TryGetValue(node.Id, out var existing))
            {
                if (existing.Digest == digest)
                {
                    return existing.Source;
                }

                // Address, port, user or password changed: the old pool must not be used again.
                var replacement = new DataSourceEntry(digest, NpgsqlDataSource.Create(connectionString));
                if (_dataSources.TryUpdate(node.Id, replacement, existing))
                {
                    _ = existing.Source.DisposeAsync().AsTask();
                    _logger.LogInformation("PostgreSQL data source of {Node} rebuilt after a change of its settings", node.Name);
                    return replacement.Source;
                }

                replacement.Source.Dispose();
                continue;
            }

            var created = new DataSourceEntry(digest, NpgsqlDataSource.Create(connectionString));
            if (_dataSources.TryAdd(node.Id, created))
            {
                return created.Source;
            }

            created.Source.Dispose();
        }
    }

    public async ValueTask ForgetAsync(Guid nodeId)
    {
        if (_dataSources.TryRemove(nodeId, out var entry))
        {
            await entry.Source.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _dataSources.Keys.ToArray())
        {
            await ForgetAsync(id);
        }
    }

    private static Lsn? LsnOrNull(DbDataReader reader, int ordinal) =>
        !reader.IsDBNull(ordinal) && Lsn.TryParse(reader.GetString(ordinal), out var lsn) ? lsn : null;

    private static TimeSpan? SecondsOrNull(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : TimeSpan.FromSeconds(reader.GetDouble(ordinal));

    private sealed record DataSourceEntry(string Digest, NpgsqlDataSource Source);
}
