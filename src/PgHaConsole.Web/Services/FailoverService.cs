using System.Text.Json;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>The failover policy as the API and the cluster page show it.</summary>
public sealed record FailoverPolicyView(bool Automatic, bool Synchronous, int AfterSeconds, DateTimeOffset? UpdatedAt, string? UpdatedBy)
{
    public static FailoverPolicyView From(StoredFailoverPolicy s) =>
        new(s.Policy.Automatic, s.Policy.Synchronous, s.Policy.AfterSeconds, s.UpdatedAt, s.UpdatedBy);
}

/// <summary>Body of <c>PUT /api/clusters/{id}/failover-policy</c>; a missing field keeps its default.</summary>
public sealed record FailoverPolicyInput(bool? Automatic, bool? Synchronous, int? AfterSeconds)
{
    public FailoverPolicy ToPolicy() => new()
    {
        Automatic = Automatic ?? false,
        Synchronous = Synchronous ?? false,
        AfterSeconds = AfterSeconds ?? FailoverPolicy.Default.AfterSeconds,
    };
}

/// <summary>
/// The failover for the pages and the API: its policy (changes Admin only, audited), its preflight report, and the
/// on-call button (typed cluster name, Operator, audited; refused with the reason while the primary is not lost).
/// </summary>
public sealed class FailoverService(
    IFailoverPolicyStore policies,
    IClusterRepository clusters,
    AuditService audit,
    ClusterEnvironmentFactory environments,
    FailoverWitness witness,
    OperationService operations,
    Microsoft.Extensions.Options.IOptions<PgHaConsole.Infrastructure.Topology.TopologyOptions> topology)
{
    /// <summary>The preflight report (read-only, from the hosts); null when the cluster does not exist.</summary>
    public async Task<FailoverPreflightReport?> PreflightAsync(Guid clusterId, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        return env is null ? null : await FailoverPreflight.RunAsync(env, Parameters(clusterId, null), ct);
    }

    /// <summary>
    /// Starts a failover after the operator typed the cluster's name and the preflight passed; From/To are fixed now.
    /// Throws <see cref="OperationRefusedException"/>: 400 (confirmation), 404, 409 (the primary is not lost, the
    /// standby cannot take over, or another operation holds the cluster).
    /// </summary>
    public async Task<Guid> StartAsync(Guid clusterId, string? confirm, string actor, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        if (!string.Equals(confirm, env.Cluster.Name, StringComparison.Ordinal))
        {
            await audit.WriteAsync(actor, "operation.failover", clusterId, env.Cluster.Name, "refused", "confirmation did not match the cluster name", ct);
            throw new OperationRefusedException($"Type the cluster's name ('{env.Cluster.Name}') to confirm the failover.", 400);
        }

        var report = await FailoverPreflight.RunAsync(env, Parameters(clusterId, confirm), ct);
        if (!report.CanFailOver)
        {
            var failed = string.Join("; ", report.Checks.Where(c => !c.Ok).Select(c => (c.Host is null ? "" : c.Host + ": ") + c.Detail));
            await audit.WriteAsync(actor, "operation.failover", clusterId, env.Cluster.Name, "refused", "preflight: " + failed, ct);
            throw new OperationRefusedException((report.PrimaryHealthy ? "The primary is healthy: use a switchover. " : "The preflight failed: ") + failed, 409);
        }

        var parameters = Parameters(clusterId, confirm) with { From = report.Primary, To = report.Standby, Reason = "requested by " + actor };
        return await operations.StartAsync(clusterId, FailoverOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), actor, ct);
    }

    private FailoverParameters Parameters(Guid clusterId, string? confirm)
    {
        var memory = witness.Memory(clusterId);
        return new FailoverParameters
        {
            Confirm = confirm,
            PrimaryLastSeen = memory?.PrimaryLastSeen,
            PrimaryLastLsn = memory?.PrimaryLastLsn?.ToString(),
            SynchronousInForce = memory?.SynchronousInForce ?? false,
            PollSeconds = topology.Value.PollInterval.TotalSeconds,
        };
    }

    public async Task<FailoverPolicyView?> GetPolicyAsync(Guid clusterId, CancellationToken ct) =>
        await clusters.GetAsync(clusterId, ct) is null ? null : FailoverPolicyView.From(await policies.GetAsync(clusterId, ct));

    public async Task<ServiceResult<FailoverPolicyView>> SetPolicyAsync(Guid clusterId, FailoverPolicyInput input, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        var stored = await clusters.GetAsync(clusterId, ct);
        if (stored is null)
        {
            return ServiceResult<FailoverPolicyView>.Missing();
        }

        var policy = input.ToPolicy();
        var errors = FailoverPolicy.Validate(policy);
        if (errors.Count > 0)
        {
            await audit.WriteAsync(actor, "failover-policy.update", clusterId, stored.Spec.Name, "refused", errors[0].Message, ct);
            return ServiceResult<FailoverPolicyView>.Invalid(errors);
        }

        var before = (await policies.GetAsync(clusterId, ct)).Policy;
        await policies.SaveAsync(clusterId, policy, actor, ct);
        witness.ForgetPolicy(clusterId);
        await audit.WriteAsync(actor, "failover-policy.update", clusterId, stored.Spec.Name, "updated",
            $"automatic {Describe(before.Automatic)} → {Describe(policy.Automatic)}, synchronous {Describe(before.Synchronous)} → {Describe(policy.Synchronous)}, "
            + $"afterSeconds {before.AfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} → {policy.AfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", ct);
        return ServiceResult<FailoverPolicyView>.Ok(FailoverPolicyView.From(await policies.GetAsync(clusterId, ct)));
    }

    private static string Describe(bool on) => on ? "on" : "off";
}
