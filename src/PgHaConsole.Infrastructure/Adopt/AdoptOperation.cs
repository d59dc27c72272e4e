using System.Text.Json;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Adopt;

/// <summary>What the operator asked the adoption to do.</summary>
public sealed record AdoptParameters
{
    /// <summary>
    /// The monitoring role's password when the role exists already and this console should use it (checked against
    /// the server before it is stored). Null: the console uses the password it holds, or creates the role when it is
    /// missing.
    /// </summary>
    public string? MonitorPassword { get; init; }

    /// <summary>
    /// A monitoring role of this console's own (created, never altered), e.g. when another console or tool already
    /// uses the default one with a password this console does not know. Null keeps the cluster's.
    /// </summary>
    public string? MonitorUser { get; init; }

    /// <summary>The problem with the parameters, or null.</summary>
    public string? Validate() =>
        MonitorUser is { } u && !ClusterValidator.IsIdentifier(u)
            ? "monitorUser must be a PostgreSQL role name: lowercase letters, digits and '_', starting with a letter or '_', at most 63 characters."
            : MonitorPassword is { Length: 0 } ? "monitorPassword must not be empty (leave it out instead)." : null;
}

/// <summary>
/// State of one adoption: the pair as found (who is primary), the secrets found on the hosts, the monitoring role this
/// console will use.
/// </summary>
public sealed class AdoptRun(ClusterEnvironment env, AdoptParameters parameters, IClusterRepository clusters)
{
    public ClusterEnvironment Env { get; } = env;

    public AdoptParameters Parameters { get; } = parameters;

    public IClusterRepository Clusters { get; } = clusters;

    public ClusterSpec Cluster => Env.Cluster;

    /// <summary>The monitoring role this console uses from now on.</summary>
    public string MonitorUser => Parameters.MonitorUser ?? Cluster.Postgres.MonitorUser;

    /// <summary>The secrets the console holds for the cluster, as stored by this run so far.</summary>
    public ClusterSecrets Secrets { get; set; } = env.Secrets;

    public NodeHost? Primary { get; set; }

    public NodeHost? Standby { get; set; }

    /// <summary>The replication password found on the hosts and checked against the role's secret; where it was found.</summary>
    public (string Password, string Where)? Replication { get; set; }

    /// <summary>keepalived's <c>auth_pass</c>, the same on every node that has a configuration.</summary>
    public string? VrrpPassword { get; set; }

    /// <summary>The monitoring password the console will hold (known, given, or generated for a role it creates).</summary>
    public string? MonitorPassword { get; set; }
}

/// <summary>
/// Adopt a pair that already runs (built by hand from the runbook, or by another console): discover it, take over the
/// secrets the hosts already hold instead of rotating them, and add only what this console needs to watch it (its
/// monitoring role if none, its pg_hba line). Nothing existing is altered: no ALTER ROLE, no rewritten .pgpass, no
/// new keepalived auth_pass.
/// </summary>
public static class AdoptOperation
{
    public const string Kind = "adopt";

    private static readonly StepSequence<AdoptRun> Steps = new(
        r => new AdoptDiscoverStep(r),
        r => new AdoptSecretsStep(r),
        r => new AdoptMonitorRoleStep(r),
        r => new AdoptPgHbaStep(r),
        r => new AdoptVerifyStep(r));

    public static IReadOnlyList<string> StepNames => Steps.Names;

    public static OperationDefinition Create(ClusterEnvironment env, AdoptParameters parameters, IClusterRepository clusters) =>
        Steps.Create(Kind, new AdoptRun(env, parameters, clusters));
}

/// <summary>Adoption as a launchable operation.</summary>
public sealed class AdoptOperationKind(IClusterRepository clusters) : IOperationKind
{
    public string Kind => AdoptOperation.Kind;

    public IReadOnlyList<string> StepNames => AdoptOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        AdoptOperation.Create(env, OperationJson.Read<AdoptParameters>(parameters), clusters);
}
