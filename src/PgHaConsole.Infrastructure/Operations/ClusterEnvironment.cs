using System.Security.Cryptography;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>
/// One cluster as an operation sees it: its spec, its secrets (decrypted, in memory only), a masker that knows every
/// one of them, and a <see cref="NodeHost"/> per node over the pooled SSH connections. Built once per run by
/// <see cref="ClusterEnvironmentFactory"/>; steps receive it through their constructor.
/// </summary>
public sealed class ClusterEnvironment
{
    private readonly IClusterRepository _clusters;
    private readonly Dictionary<Guid, NodeHost> _hosts = [];
    private readonly Lock _gate = new();

    internal ClusterEnvironment(StoredCluster stored, ClusterSecrets secrets, IReadOnlyDictionary<Guid, NodeSecrets> nodeSecrets,
        ISshSessionPool pool, IClusterRepository clusters, TimeProvider time, Topology.INodeProber prober)
    {
        Prober = prober;
        Stored = stored;
        Secrets = secrets;
        NodeSecrets = nodeSecrets;
        _clusters = clusters;
        Time = time;
        // The pending ones too: a rotation that failed half-way left them on some hosts.
        Masker = new SecretMasker([
            secrets.ReplicationPassword, secrets.MonitorPassword, secrets.VrrpPassword,
            secrets.PendingReplicationPassword, secrets.PendingMonitorPassword, secrets.PendingVrrpPassword]);
        foreach (var s in nodeSecrets.Values)
        {
            Masker.AddRange([s.Password, s.PrivateKeyPassphrase, s.PrivateKey]);
        }

        foreach (var node in stored.Spec.Nodes)
        {
            var target = SshTarget.FromNode(node, nodeSecrets.GetValueOrDefault(node.Id));
            _hosts[node.Id] = new NodeHost(this, node, pool.GetSession(target));
        }
    }

    public StoredCluster Stored { get; }

    public ClusterSpec Cluster => Stored.Spec;

    public ClusterSecrets Secrets { get; private set; }

    public IReadOnlyDictionary<Guid, NodeSecrets> NodeSecrets { get; }

    /// <summary>Knows every secret of the cluster, and those generated during the run.</summary>
    public SecretMasker Masker { get; }

    public TimeProvider Time { get; }

    /// <summary>The console's own probe (the topology monitor's): what an operation's result must agree with.</summary>
    public Topology.INodeProber Prober { get; }

    /// <summary>What the prober needs of this cluster.</summary>
    public Topology.ProbeTarget ProbeTarget => new(Cluster, Secrets, NodeSecrets.ToDictionary(p => p.Key, p => (NodeSecrets?)p.Value));

    public NodeHost Host(NodeSpec node) => _hosts[node.Id];

    public IEnumerable<NodeHost> Hosts => Cluster.Nodes.Select(n => _hosts[n.Id]);

    /// <summary>
    /// Returns the secret, generating and storing it (encrypted) first when the cluster has none: a generated password
    /// is persisted before anything on a host uses it, so a failed run never leaves a role with a password nobody knows.
    /// </summary>
    public async Task<string> EnsureSecretAsync(SecretKind kind, CancellationToken ct)
    {
        var current = kind switch
        {
            SecretKind.Replication => Secrets.ReplicationPassword,
            SecretKind.Monitor => Secrets.MonitorPassword,
            _ => Secrets.VrrpPassword,
        };
        if (!string.IsNullOrEmpty(current))
        {
            return current;
        }

        // VRRP PASS authentication uses at most 8 characters.
        var generated = GeneratePassword(kind == SecretKind.Vrrp ? 8 : 32);
        Masker.Add(generated);
        var updated = kind switch
        {
            SecretKind.Replication => Secrets with { ReplicationPassword = generated },
            SecretKind.Monitor => Secrets with { MonitorPassword = generated },
            _ => Secrets with { VrrpPassword = generated },
        };
        await _clusters.UpdateAsync(Cluster, updated, null, null, ct);
        lock (_gate)
        {
            Secrets = updated;
        }

        return generated;
    }

    /// <summary>
    /// Stores <paramref name="updated"/> (encrypted) as the cluster's secrets and makes them this run's; the masker learns
    /// every value in them first. The rotation's way to keep a pending secret and to make it current.
    /// </summary>
    public async Task StoreSecretsAsync(ClusterSecrets updated, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(updated);
        Masker.AddRange([updated.ReplicationPassword, updated.MonitorPassword, updated.VrrpPassword,
            updated.PendingReplicationPassword, updated.PendingMonitorPassword, updated.PendingVrrpPassword]);
        // The cluster's spec as the store has it now (an adopt may have changed the monitoring role since this run began).
        var spec = (await _clusters.GetAsync(Cluster.Id, ct))?.Spec ?? Cluster;
        await _clusters.UpdateAsync(spec, updated, null, null, ct);
        lock (_gate)
        {
            Secrets = updated;
        }
    }

    /// <summary>Letters and digits only: safe in every file format the console writes (pgpass, keepalived, conninfo).</summary>
    public static string GeneratePassword(int length)
    {
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        return RandomNumberGenerator.GetString(alphabet, length);
    }
}

public enum SecretKind
{
    Replication,
    Monitor,
    Vrrp,
}

/// <summary>Builds a <see cref="ClusterEnvironment"/> from the store.</summary>
/// <remarks>
/// Takes the console's <see cref="Topology.INodeProber"/> when one is registered (the web app); elsewhere (tools, lab
/// test harnesses) it makes its own instance of the same prober, so verification always uses the console's probe code.
/// </remarks>
public sealed class ClusterEnvironmentFactory(IClusterRepository clusters, ISshSessionPool pool, TimeProvider time, Topology.INodeProber? prober = null)
{
    private readonly Topology.INodeProber _prober = prober
        ?? new Topology.NodeProber(pool, Microsoft.Extensions.Options.Options.Create(new Topology.TopologyOptions()));

    public async Task<ClusterEnvironment?> CreateAsync(Guid clusterId, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct);
        if (stored is null)
        {
            return null;
        }

        var secrets = await clusters.GetClusterSecretsAsync(clusterId, ct) ?? new ClusterSecrets();
        var nodeSecrets = new Dictionary<Guid, NodeSecrets>();
        foreach (var node in stored.Spec.Nodes)
        {
            nodeSecrets[node.Id] = await clusters.GetNodeSecretsAsync(node.Id, ct) ?? new NodeSecrets();
        }

        return new ClusterEnvironment(stored, secrets, nodeSecrets, pool, clusters, time, _prober);
    }
}

/// <summary>Thrown by a step with a message meant for the operator (already masked where it quotes host output).</summary>
public sealed class StepFailedException : Exception
{
    public StepFailedException(string message)
        : base(message)
    {
    }

    public StepFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StepFailedException()
    {
    }
}
