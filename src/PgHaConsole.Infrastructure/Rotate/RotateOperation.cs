using System.Text.Json;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Rotate;

/// <summary>
/// What the Admin asked: which secret, and the typed cluster name. A new secret the Admin gives is never a parameter
/// (parameters are journaled in clear): it is stored encrypted as the pending secret before the operation starts.
/// </summary>
public sealed record RotateSecretParameters
{
    /// <summary>replication, monitoring or vrrp.</summary>
    public string? Secret { get; init; }

    /// <summary>The cluster's name, typed.</summary>
    public string? Confirm { get; init; }
}

/// <summary>
/// State of one rotation: the environment, which secret, the pair's roles (found again on a resume), and the old and
/// new values: the old one is the store's current secret until the last step, the new one its pending secret.
/// </summary>
public sealed class RotateRun
{
    private (NodeHost Primary, NodeHost Standby)? _roles;

    public RotateRun(ClusterEnvironment env, RotateSecretParameters parameters)
    {
        Env = env;
        Parameters = parameters;
        if (!SecretRotation.TryParse(parameters.Secret, out var secret))
        {
            throw new ArgumentException($"'{parameters.Secret}' is not a secret the console rotates: one of {string.Join(", ", SecretRotation.Names)}.");
        }

        Secret = secret;
    }

    public ClusterEnvironment Env { get; }

    public RotateSecretParameters Parameters { get; }

    public RotatableSecret Secret { get; }

    public string SecretName => SecretRotation.Name(Secret);

    public ClusterSpec Cluster => Env.Cluster;

    /// <summary>Since when the role holds the new password (monitoring; this run only): the console's window to report.</summary>
    public System.Diagnostics.Stopwatch? RoleChanged { get; set; }

    /// <summary>The value the console held before the rotation (null: it held none, e.g. an adopted pair's).</summary>
    public string? Old => Secret switch
    {
        RotatableSecret.Replication => Env.Secrets.ReplicationPassword,
        RotatableSecret.Monitoring => Env.Secrets.MonitorPassword,
        _ => Env.Secrets.VrrpPassword,
    };

    /// <summary>The rotation's new value (stored as pending by the second step).</summary>
    public string? Pending => Secret switch
    {
        RotatableSecret.Replication => Env.Secrets.PendingReplicationPassword,
        RotatableSecret.Monitoring => Env.Secrets.PendingMonitorPassword,
        _ => Env.Secrets.PendingVrrpPassword,
    };

    public string New => Pending ?? throw new StepFailedException("No new secret is stored yet (step 2 did not run).");

    /// <summary>The secrets with <paramref name="value"/> as this secret's pending value.</summary>
    public ClusterSecrets WithPending(string? value) => Secret switch
    {
        RotatableSecret.Replication => Env.Secrets with { PendingReplicationPassword = value },
        RotatableSecret.Monitoring => Env.Secrets with { PendingMonitorPassword = value },
        _ => Env.Secrets with { PendingVrrpPassword = value },
    };

    /// <summary>The secrets with the pending value made current (and no pending value left).</summary>
    public ClusterSecrets Committed() => Secret switch
    {
        RotatableSecret.Replication => Env.Secrets with { ReplicationPassword = New, PendingReplicationPassword = null },
        RotatableSecret.Monitoring => Env.Secrets with { MonitorPassword = New, PendingMonitorPassword = null },
        _ => Env.Secrets with { VrrpPassword = New, PendingVrrpPassword = null },
    };

    /// <summary>The primary and its standby, as the hosts say (asked once per run: a resume skips the preflight).</summary>
    public async Task<(NodeHost Primary, NodeHost Standby)> RolesAsync(CancellationToken ct)
    {
        if (_roles is { } known)
        {
            return known;
        }

        NodeHost? primary = null;
        NodeHost? standby = null;
        foreach (var host in Env.Hosts)
        {
            var state = await host.GetPgStateAsync(ct);
            if (state.IsPrimary)
            {
                primary = primary is null ? host : throw new StepFailedException("Both nodes run as primaries: nothing is rotated on a split brain.");
            }
            else if (state.IsStandby)
            {
                standby = host;
            }
        }

        if (primary is null || standby is null)
        {
            throw new StepFailedException($"The pair is not a running primary and standby ({(primary is null ? "no primary" : "no running standby")}): nothing is rotated.");
        }

        _roles = (primary, standby);
        return _roles.Value;
    }
}

/// <summary>
/// Rotate one secret of a running pair (#17): the explicit, audited action that changes it in every place it lives —
/// the roles on the server, the files on both hosts, the console's store — verified as its users see it (the standby
/// streaming again with it, the console's probe logging in with it, one VIP holder each after keepalived reloaded).
/// </summary>
public static class RotateOperation
{
    public const string Kind = "rotate-secret";

    private static readonly StepSequence<RotateRun> Steps = new(
        r => new RotatePreflightStep(r),
        r => new RotateNewSecretStep(r),
        r => new RotateApplyStep(r),
        r => new RotateVerifyNewStep(r),
        r => new RotateCommitStep(r));

    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, RotateSecretParameters parameters) =>
        Steps.Create(Kind, new RotateRun(env, parameters));
}

/// <summary>The rotation as a launchable operation.</summary>
public sealed class RotateOperationKind : IOperationKind
{
    public string Kind => RotateOperation.Kind;

    public IReadOnlyList<string> StepNames => RotateOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        RotateOperation.Create(env, OperationJson.Read<RotateSecretParameters>(parameters));
}
