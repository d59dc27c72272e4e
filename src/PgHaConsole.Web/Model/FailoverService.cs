using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Model;

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

/// <summary>Reading and changing a cluster's failover policy (changes are Admin only and audited).</summary>
public sealed class FailoverService(IFailoverPolicyStore policies, IClusterRepository clusters, AuditService audit)
{
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
        await audit.WriteAsync(actor, "failover-policy.update", clusterId, stored.Spec.Name, "updated",
            $"automatic {Describe(before.Automatic)} → {Describe(policy.Automatic)}, synchronous {Describe(before.Synchronous)} → {Describe(policy.Synchronous)}, "
            + $"afterSeconds {before.AfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} → {policy.AfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}", ct);
        return ServiceResult<FailoverPolicyView>.Ok(FailoverPolicyView.From(await policies.GetAsync(clusterId, ct)));
    }

    private static string Describe(bool on) => on ? "on" : "off";
}
