using PgHaConsole.Core.Model;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Rotate;

/// <summary>
/// What runs before a rotation starts (the request itself is validated by the caller: the secret's name, the typed
/// cluster name): the preflight against the hosts (read-only; 409 with its reasons), and a new secret the Admin gave,
/// stored encrypted as the pending one so it never travels in the journaled parameters.
/// </summary>
public sealed class RotateGate(ClusterEnvironmentFactory environments, IClusterRepository clusters)
{
    /// <summary>The preflight report (read-only); null when the cluster does not exist.</summary>
    public async Task<RotatePreflightReport?> PreflightAsync(Guid clusterId, RotatableSecret secret, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        return env is null ? null : await RotatePreflight.RunAsync(new RotateRun(env, new RotateSecretParameters { Secret = SecretRotation.Name(secret) }), ct);
    }

    /// <summary>Throws <see cref="OperationRefusedException"/> (404 no such cluster, 409 the preflight refused) unless the rotation may start.</summary>
    public async Task CheckAsync(Guid clusterId, RotatableSecret secret, CancellationToken ct)
    {
        var report = await PreflightAsync(clusterId, secret, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        if (!report.Ok)
        {
            var problems = string.Join("; ", report.Problems);
            throw new OperationRefusedException($"The rotation was refused before anything changed: {problems}.", 409, "preflight: " + problems);
        }
    }

    /// <summary>
    /// Stores <paramref name="value"/> (encrypted) as the pending new secret; returns the secrets as they were, to put
    /// back if the operation does not start. 409 when an unfinished rotation left another pending value (its hosts may
    /// hold it: finish that one first).
    /// </summary>
    public async Task<ClusterSecrets> StagePendingAsync(Guid clusterId, RotatableSecret secret, string value, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        var run = new RotateRun(env, new RotateSecretParameters { Secret = SecretRotation.Name(secret) });
        if (run.Pending is { } pending && pending != value)
        {
            throw new OperationRefusedException(
                $"An unfinished rotation of the {run.SecretName} secret holds another new value that the hosts may already use: resume that rotation (or start one without newSecret to finish it).", 409);
        }

        var before = env.Secrets;
        await env.StoreSecretsAsync(run.WithPending(value), ct);
        return before;
    }

    /// <summary>Puts back the secrets <see cref="StagePendingAsync"/> found (the operation did not start).</summary>
    public async Task UnstageAsync(Guid clusterId, ClusterSecrets before, CancellationToken ct)
    {
        if (await clusters.GetAsync(clusterId, ct) is { } stored)
        {
            await clusters.UpdateAsync(stored.Spec, before, null, null, ct);
        }
    }
}
