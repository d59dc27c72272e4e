using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;

namespace PgHaConsole.Infrastructure.Failover;

/// <summary>
/// The console as the witness (pg_auto_failover's monitor), fed by the topology pictures: it remembers the last
/// primary and what the standby had (<see cref="WitnessMemory"/>), keeps synchronous replication as the policy says
/// (enable while the standby streams, degrade after a bounded time without it, return when it streams again), and
/// starts the failover itself when the policy is automatic and <see cref="PrimaryLoss.Evaluate"/> says so, recorded as
/// automatic (audit, event, alert). It never opens connections to the nodes to decide: only the prober does; the
/// failover operation's own preflight checks the hosts again before anything changes. With several console instances
/// on one store every instance observes (its memory is ready when it takes over) but only the holder of the cluster's
/// lease (<see cref="IClusterLeases"/>) changes synchronous replication, starts a failover, records and alerts.
/// </summary>
public sealed class FailoverWitness(
    ITopologyMonitor monitor,
    IFailoverPolicyStore policies,
    ClusterEnvironmentFactory environments,
    IServiceScopeFactory scopes,
    IAuditLog audit,
    IOptions<TopologyOptions> topology,
    TimeProvider time,
    ILogger<FailoverWitness> logger,
    IHistoryStore? history = null,
    IEnumerable<IAlertSender>? alertSenders = null,
    IClusterLeases? leases = null) : BackgroundService
{
    public const string Actor = "automatic failover (console witness)";

    private static readonly TimeSpan PolicyRefresh = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan SynchronousCooldown = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<Guid, WitnessMemory> _memory = new();
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _reprobes = new();
    private readonly Dictionary<Guid, ClusterTopology> _processed = [];
    private readonly Dictionary<Guid, (FailoverPolicy Policy, DateTimeOffset At)> _policies = [];
    private readonly Dictionary<Guid, FailoverLaunch> _lastLaunch = [];
    private readonly Dictionary<Guid, DateTimeOffset> _lastSynchronousChange = [];
    private readonly Dictionary<Guid, string> _lastVerdict = [];

    /// <summary>What the witness remembers of a cluster (null before its first picture).</summary>
    public WitnessMemory? Memory(Guid clusterId) => _memory.TryGetValue(clusterId, out var m) ? m : null;

    /// <summary>Tests and the page: the policy changed, read it again at the next picture.</summary>
    public void ForgetPolicy(Guid clusterId)
    {
        lock (_policies)
        {
            _policies.Remove(clusterId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var picture in monitor.GetAll())
            {
                if (_processed.TryGetValue(picture.ClusterId, out var seen) && ReferenceEquals(seen, picture))
                {
                    continue;
                }

                _processed[picture.ClusterId] = picture;
                try
                {
                    await ProcessAsync(picture, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Witness: processing the picture of {Cluster} failed", picture.ClusterName);
                }
            }
        }
    }

    /// <summary>One picture: memory, synchronous replication, automatic failover.</summary>
    public async Task ProcessAsync(ClusterTopology picture, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(picture);
        var now = picture.ObservedAt;
        var memory = PrimaryLoss.Observe(_memory.GetValueOrDefault(picture.ClusterId) ?? new WitnessMemory(), picture, now);
        _memory[picture.ClusterId] = memory;
        if (LaunchBackoff.AfterPicture(_lastLaunch.GetValueOrDefault(picture.ClusterId), picture) is null)
        {
            _lastLaunch.Remove(picture.ClusterId);
        }
        if (leases is not null && !leases.Holds(picture.ClusterId))
        {
            // Another instance decides for this cluster.
            return;
        }

        var policy = await PolicyAsync(picture.ClusterId, ct);

        await SynchronousAsync(picture, memory, policy, ct);

        var verdict = PrimaryLoss.Evaluate(policy, memory, picture, now, topology.Value.PollInterval);
        if (policy.Automatic && verdict.Assessment is not null && _lastVerdict.GetValueOrDefault(picture.ClusterId) != verdict.Reason)
        {
            _lastVerdict[picture.ClusterId] = verdict.Reason;
            logger.LogInformation("Witness {Cluster}: {Verdict}", picture.ClusterName, verdict.Reason);
        }

        if (!verdict.Failover || verdict.Assessment is not { } a)
        {
            ScheduleReprobe(picture, memory, policy, ct);
            return;
        }

        if (!LaunchBackoff.MayLaunch(_lastLaunch.GetValueOrDefault(picture.ClusterId), a.Primary ?? "", now, LaunchBackoff.Default))
        {
            return;
        }

        _lastLaunch[picture.ClusterId] = new FailoverLaunch(a.Primary ?? "", now);
        await LaunchAsync(picture, memory, a, verdict.Reason, ct);
    }

    /// <summary>
    /// While a loss is being timed, probe again right when <c>afterSeconds</c> are up rather than at the next poll:
    /// the failover then starts after the policy's delay, not after the delay rounded up to the poll interval.
    /// </summary>
    private void ScheduleReprobe(ClusterTopology picture, WitnessMemory memory, FailoverPolicy policy, CancellationToken ct)
    {
        if (!policy.Automatic || memory.ConsoleLostSince is not { } consoleSince || memory.StandbyLostSince is not { } standbySince)
        {
            return;
        }

        var due = (consoleSince > standbySince ? consoleSince : standbySince) + TimeSpan.FromSeconds(policy.AfterSeconds) + TimeSpan.FromMilliseconds(50);
        var delay = due - time.GetUtcNow();
        if (delay <= TimeSpan.Zero || delay >= topology.Value.PollInterval || !_reprobes.TryAdd(picture.ClusterId, due))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, time, ct);
                await monitor.ProbeNowAsync(picture.ClusterId, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogDebug(ex, "Witness: the re-probe of {Cluster} failed", picture.ClusterName);
            }
            finally
            {
                _reprobes.TryRemove(picture.ClusterId, out _);
            }
        }, CancellationToken.None);
    }

    private async Task<FailoverPolicy> PolicyAsync(Guid clusterId, CancellationToken ct)
    {
        lock (_policies)
        {
            if (_policies.TryGetValue(clusterId, out var cached) && time.GetUtcNow() - cached.At < PolicyRefresh)
            {
                return cached.Policy;
            }
        }

        var policy = (await policies.GetAsync(clusterId, ct)).Policy;
        lock (_policies)
        {
            _policies[clusterId] = (policy, time.GetUtcNow());
        }

        return policy;
    }

    private async Task LaunchAsync(ClusterTopology picture, WitnessMemory memory, LossAssessment a, string reason, CancellationToken ct)
    {
        var parameters = new FailoverParameters
        {
            Confirm = picture.ClusterName,
            From = a.Primary,
            To = a.Standby,
            Automatic = true,
            Reason = reason,
            PrimaryLastSeen = memory.PrimaryLastSeen,
            PrimaryLastLsn = memory.PrimaryLastLsn?.ToString(),
            SynchronousInForce = memory.SynchronousInForce,
            PollSeconds = topology.Value.PollInterval.TotalSeconds,
        };
        string result;
        string detail;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var launcher = scope.ServiceProvider.GetRequiredService<OperationLauncher>();
            var id = await launcher.StartAsync(FailoverOperation.Kind, picture.ClusterId,
                JsonSerializer.SerializeToElement(parameters, OperationJson.Options), Actor, ct);
            result = "started (automatic)";
            detail = $"operation {id}: {reason}";
            logger.LogWarning("Automatic failover of {Cluster} started ({Operation}): {Reason}", picture.ClusterName, id, reason);
        }
        catch (OperationRefusedException ex)
        {
            // Another operation holds the cluster: never fail over under it.
            result = "refused";
            detail = ex.Message;
            logger.LogWarning("Automatic failover of {Cluster} not started: {Reason}", picture.ClusterName, ex.Message);
        }

        await audit.WriteAsync(new AuditEntry
        {
            At = time.GetUtcNow(),
            Actor = Actor,
            Action = "operation." + FailoverOperation.Kind,
            ClusterId = picture.ClusterId,
            Target = picture.ClusterName,
            Result = result,
            Detail = detail,
        }, ct);
        var message = result == "refused"
            ? $"Automatic failover {a.Primary} → {a.Standby} NOT started: {detail}"
            : $"Automatic failover {a.Primary} → {a.Standby} started: {reason}. {a.LossStatement}.";
        await RecordAsync(picture, FailoverEventKinds.AutomaticFailover, HealthEventSeverity.Critical, a.Primary, message, ct);
        await AlertAsync(picture, "automatic-failover", a.Primary, result == "refused" ? "Automatic failover not started" : "Automatic failover started", message, ct);
    }

    private async Task SynchronousAsync(ClusterTopology picture, WitnessMemory memory, FailoverPolicy policy, CancellationToken ct)
    {
        if (picture.Primary is not { } primary || picture.Nodes.Count(n => n.Role == NodeRole.Primary) != 1 || primary.SynchronousStandbyNames is not { } current)
        {
            return;
        }

        if (!policy.Synchronous && !SynchronousReplication.IsSynchronous(current))
        {
            return;
        }

        var now = picture.ObservedAt;
        if (_lastSynchronousChange.TryGetValue(picture.ClusterId, out var last) && now - last < SynchronousCooldown)
        {
            return;
        }

        var standby = picture.Nodes.FirstOrDefault(n => n.Name != primary.Name);
        var row = standby is null ? null : TopologyAssembler.FindReplicationRow(primary, standby);
        var streaming = row is not null && string.Equals(row.State, "streaming", StringComparison.OrdinalIgnoreCase);
        var lostFor = streaming ? (TimeSpan?)null : now - (memory.StandbyNotStreamingSince ?? now);
        var env = await environments.CreateAsync(picture.ClusterId, ct);
        if (env is null)
        {
            return;
        }

        var decision = SynchronousReplication.Decide(env.Cluster, policy.Synchronous, current, streaming, lostFor, SynchronousReplication.DefaultDegradeAfter);
        if (decision.Action == SynchronousAction.None)
        {
            return;
        }

        var value = decision.Action == SynchronousAction.Enable ? SynchronousReplication.StandbyNames(env.Cluster) : "";
        var host = env.Hosts.First(h => h.Name == primary.Name);
        await host.PsqlAsync($"ALTER SYSTEM SET synchronous_standby_names = {GucValue.QuoteForSql(value)}; SELECT pg_reload_conf();", null, ct);
        _lastSynchronousChange[picture.ClusterId] = now;
        logger.LogWarning("Synchronous replication on {Cluster} ({Primary}): {Action}, {Reason}", picture.ClusterName, primary.Name, decision.Action, decision.Reason);
        var severity = decision.Action == SynchronousAction.Degrade ? HealthEventSeverity.Warning : HealthEventSeverity.Info;
        var text = decision.Action switch
        {
            SynchronousAction.Enable => $"Synchronous replication in force on {primary.Name}: {decision.Reason}",
            SynchronousAction.Degrade => $"Synchronous replication DEGRADED to asynchronous on {primary.Name}: {decision.Reason}",
            _ => $"Synchronous replication turned off on {primary.Name}: {decision.Reason}",
        };
        await RecordAsync(picture, FailoverEventKinds.SynchronousChanged, severity, primary.Name, text, ct);
        if (decision.Action == SynchronousAction.Degrade)
        {
            await AlertAsync(picture, "synchronous-degraded", primary.Name, "Synchronous replication degraded", text, ct);
        }
    }

    private async Task RecordAsync(ClusterTopology picture, string kind, HealthEventSeverity severity, string? node, string message, CancellationToken ct)
    {
        if (history is null)
        {
            return;
        }

        try
        {
            await history.InsertEventsAsync(
            [
                new HealthEvent
                {
                    ClusterId = picture.ClusterId,
                    AtMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
                    Kind = kind,
                    Node = node,
                    Severity = severity,
                    Message = message,
                },
            ], ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Witness: the event for {Cluster} could not be recorded", picture.ClusterName);
        }
    }

    private async Task AlertAsync(ClusterTopology picture, string rule, string? node, string title, string message, CancellationToken ct)
    {
        foreach (var sender in alertSenders ?? [])
        {
            if (!sender.Enabled)
            {
                continue;
            }

            try
            {
                var at = time.GetUtcNow();
                await sender.SendAsync(new AlertNotification
                {
                    ClusterId = picture.ClusterId,
                    Cluster = picture.ClusterName,
                    Rule = rule,
                    Status = AlertStatus.Firing,
                    Node = node,
                    Title = title,
                    Message = message,
                    At = at,
                    Since = at,
                }, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Witness: alert {Rule} for {Cluster} not delivered by {Sender}", rule, picture.ClusterName, sender.Name);
            }
        }
    }
}

/// <summary>Event kinds the failover capability records on the timeline.</summary>
public static class FailoverEventKinds
{
    public const string AutomaticFailover = "automatic-failover";
    public const string SynchronousChanged = "synchronous-changed";
}
