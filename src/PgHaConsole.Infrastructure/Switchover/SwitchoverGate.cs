using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>
/// What must hold before a switchover starts: the operator typed the cluster's name and the preflight passed. From/To
/// are fixed here (the current primary and standby) so that a resume after a restart knows who was who.
/// </summary>
public sealed class SwitchoverGate(ClusterEnvironmentFactory environments)
{
    /// <summary>The preflight report (read-only); null when the cluster does not exist.</summary>
    public async Task<SwitchoverPreflightReport?> PreflightAsync(Guid clusterId, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        return env is null ? null : await SwitchoverPreflight.RunAsync(env, new SwitchoverParameters(), ct);
    }

    /// <summary>
    /// The parameters to start the switchover with; throws <see cref="OperationRefusedException"/> (404 no such
    /// cluster, 400 the typed name does not match, 409 the preflight failed).
    /// </summary>
    public async Task<SwitchoverParameters> ParametersAsync(Guid clusterId, string? confirm, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        if (!string.Equals(confirm, env.Cluster.Name, StringComparison.Ordinal))
        {
            throw new OperationRefusedException($"Type the cluster's name ('{env.Cluster.Name}') to confirm the switchover.", 400,
                "confirmation did not match the cluster name");
        }

        var report = await SwitchoverPreflight.RunAsync(env, new SwitchoverParameters(), ct);
        if (!report.CanSwitch)
        {
            var failed = string.Join("; ", report.Checks.Where(c => !c.Ok).Select(c => (c.Host is null ? "" : c.Host + ": ") + c.Detail));
            throw new OperationRefusedException("The preflight failed: " + failed, 409, "preflight: " + failed);
        }

        return new SwitchoverParameters { Confirm = confirm, From = report.Primary, To = report.Standby };
    }
}
