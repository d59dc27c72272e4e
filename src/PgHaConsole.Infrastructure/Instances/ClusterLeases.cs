using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Instances;

/// <summary>
/// Which clusters this instance decides for. The holder of a cluster's lease records its events and snapshots, sends
/// its alerts and may start its automatic failover; other instances only show it.
/// </summary>
public interface IClusterLeases
{
    /// <summary>True while this instance holds the cluster's lease (by its own clock, never past the lease's expiry).</summary>
    bool Holds(Guid clusterId);

    /// <summary>Since when this instance holds the lease without a break; null when it does not hold it.</summary>
    DateTimeOffset? HeldSince(Guid clusterId);

    /// <summary>
    /// Takes free leases (and renews this instance's) now instead of at the next renewal: called by the instance that
    /// adds a cluster, so that it decides for it from its first picture and an instance starting meanwhile does not
    /// take it first. Never throws: a failure is left to the next renewal.
    /// </summary>
    Task RenewNowAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary>A cluster's lease as the store has it.</summary>
public sealed record ClusterLease(Guid ClusterId, Guid HolderInstance, string HolderName, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>The <c>cluster_leases</c> table: one row per cluster, taken or renewed in one statement for every cluster.</summary>
public sealed class ClusterLeaseStore
{
    private readonly IStoreConnectionFactory _factory;

    public ClusterLeaseStore(IStoreConnectionFactory factory)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
    }

    /// <summary>
    /// For every cluster: takes its lease when nobody holds it or its holder let it expire, renews it when this
    /// instance holds it, and leaves it alone otherwise (one upsert; two instances racing get one winner per row).
    /// Returns the leases this instance holds afterwards.
    /// </summary>
    public async Task<IReadOnlyList<ClusterLease>> TakeOrRenewAllAsync(Guid instanceId, string instanceName, DateTimeOffset now, TimeSpan duration, CancellationToken ct)
    {
        var at = StoreTypeHandlers.ToStoreTime(now);
        var p = new { Instance = instanceId, Name = instanceName, Now = at, Expires = at + duration };
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO cluster_leases (cluster_id, holder_instance, holder_name, acquired_at, expires_at)
            SELECT id, @Instance, @Name, @Now, @Expires FROM clusters WHERE true
            ON CONFLICT (cluster_id) DO UPDATE SET
                acquired_at = CASE WHEN cluster_leases.holder_instance = excluded.holder_instance
                                   THEN cluster_leases.acquired_at ELSE excluded.acquired_at END,
                holder_instance = excluded.holder_instance,
                holder_name = excluded.holder_name,
                expires_at = excluded.expires_at
            WHERE cluster_leases.holder_instance = excluded.holder_instance OR cluster_leases.expires_at < excluded.acquired_at
            """,
            p,
            cancellationToken: ct));
        return (await connection.QueryAsync<LeaseRow>(new CommandDefinition(
            Select + " WHERE holder_instance = @Instance",
            p,
            cancellationToken: ct))).Select(r => r.ToLease()).ToList();
    }

    /// <summary>Every lease in the store (who decides for which cluster).</summary>
    public async Task<IReadOnlyList<ClusterLease>> ListAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (await connection.QueryAsync<LeaseRow>(new CommandDefinition(Select, cancellationToken: ct))).Select(r => r.ToLease()).ToList();
    }

    /// <summary>Gives up every lease of the instance (a clean stop: others take over at their next renewal).</summary>
    public async Task<int> ReleaseAllAsync(Guid instanceId, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM cluster_leases WHERE holder_instance = @Instance", new { Instance = instanceId }, cancellationToken: ct));
    }

    private const string Select = """
        SELECT cluster_id AS ClusterId, holder_instance AS HolderInstance, holder_name AS HolderName,
               acquired_at AS AcquiredAt, expires_at AS ExpiresAt
        FROM cluster_leases
        """;

    private sealed class LeaseRow
    {
        public Guid ClusterId { get; init; }

        public Guid HolderInstance { get; init; }

        public string HolderName { get; init; } = "";

        public DateTimeOffset AcquiredAt { get; init; }

        public DateTimeOffset ExpiresAt { get; init; }

        public ClusterLease ToLease() => new(ClusterId, HolderInstance, HolderName, AcquiredAt, ExpiresAt);
    }
}

/// <summary>
/// Takes and renews cluster leases every <see cref="InstanceOptions.LeaseRenewInterval"/>; a lease lasts
/// <see cref="InstanceOptions.LeaseDuration"/>, so when its holder dies another instance takes it over within about
/// one duration plus one interval. This instance counts a lease as held only until the expiry it wrote (measured from
/// before the write), so two instances never both act for a cluster while their clocks agree. Released on a clean stop.
/// </summary>
public sealed partial class ClusterLeaseManager(
    ClusterLeaseStore store,
    ConsoleInstance instance,
    IOptions<InstanceOptions> options,
    TimeProvider time,
    ILogger<ClusterLeaseManager> logger) : BackgroundService, IClusterLeases
{
    private readonly Lock _gate = new();
    // Never disposed: a host torn down in a hurry may dispose this before stopping it (no wait handle is ever made).
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private volatile bool _stopped;
    private Dictionary<Guid, (DateTimeOffset Since, DateTimeOffset Until)> _held = [];

    public bool Holds(Guid clusterId) => HeldSince(clusterId) is not null;

    public DateTimeOffset? HeldSince(Guid clusterId)
    {
        lock (_gate)
        {
            return _held.TryGetValue(clusterId, out var h) && time.GetUtcNow() < h.Until ? h.Since : null;
        }
    }

    public async Task RenewNowAsync(CancellationToken ct)
    {
        try
        {
            await RenewAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
        }
    }

    /// <summary>
    /// One round: take free or expired leases, renew ours. Returns the clusters held. Rounds never overlap (the timer's
    /// and one asked for by <see cref="RenewNowAsync"/>): an older round finishing last would replace a newer picture.
    /// </summary>
    public async Task<IReadOnlyCollection<Guid>> RenewAsync(CancellationToken ct)
    {
        await _renewing.WaitAsync(ct);
        try
        {
            return await RenewOnceAsync(ct);
        }
        finally
        {
            _renewing.Release();
        }
    }

    private async Task<IReadOnlyCollection<Guid>> RenewOnceAsync(CancellationToken ct)
    {
        if (_stopped)
        {
            return []; // stopping: the leases are released, none is taken again
        }

        var started = time.GetUtcNow();
        var duration = options.Value.LeaseDuration;
        var leases = await store.TakeOrRenewAllAsync(instance.Id, instance.Name, started, duration, ct);
        var next = leases.ToDictionary(l => l.ClusterId, l => (l.AcquiredAt, started + duration));
        Dictionary<Guid, (DateTimeOffset Since, DateTimeOffset Until)> previous;
        lock (_gate)
        {
            previous = _held;
            _held = next;
        }

        LogRenewed(logger, instance.Name, next.Count);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            // Who holds the others (what the lab run that found the creating instance without its cluster's lease lacked).
            foreach (var other in (await store.ListAsync(ct)).Where(l => l.HolderInstance != instance.Id))
            {
                LogHeldElsewhere(logger, other.ClusterId, other.HolderName, other.ExpiresAt);
            }
        }

        foreach (var id in next.Keys.Where(id => !previous.ContainsKey(id)))
        {
            LogTaken(logger, id, instance.Name);
        }

        foreach (var id in previous.Keys.Where(id => !next.ContainsKey(id)))
        {
            LogLost(logger, id, instance.Name);
        }

        return next.Keys;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LeaseRenewInterval, time);
        do
        {
            try
            {
                await RenewAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Held leases lapse by themselves (Holds checks the expiry): nothing to undo here.
                LogRenewFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        await base.StopAsync(cancellationToken);
        // After a round in flight (one asked for by an add may still run): nothing re-takes a lease once released.
        await _renewing.WaitAsync(cancellationToken);
        try
        {
            lock (_gate)
            {
                _held = [];
            }

            await store.ReleaseAllAsync(instance.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(logger, ex);
        }
        finally
        {
            _renewing.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} now decides for cluster {ClusterId} (lease taken)")]
    private static partial void LogTaken(ILogger logger, Guid clusterId, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance} no longer decides for cluster {ClusterId} (lease lost)")]
    private static partial void LogLost(ILogger logger, Guid clusterId, string instance);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Instance {Instance} holds {Count} cluster lease(s)")]
    private static partial void LogRenewed(ILogger logger, string instance, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cluster {ClusterId} is decided for by instance {Holder} (lease until {ExpiresAt:O})")]
    private static partial void LogHeldElsewhere(ILogger logger, Guid clusterId, string holder, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the cluster leases failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception);
}
