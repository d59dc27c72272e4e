using PgHaConsole.Core.Model;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>Which secrets a cluster has in the store (never their values).</summary>
public sealed record ClusterSecretsPresence(bool ReplicationPassword, bool MonitorPassword, bool VrrpPassword);

/// <summary>What the store knows about a node beyond its <see cref="NodeSpec"/>.</summary>
public sealed record StoredNodeState(
    Guid NodeId,
    string? PendingHostKeySha256,
    bool HasPrivateKey,
    bool HasPrivateKeyPassphrase,
    bool HasPassword);

/// <summary>A cluster as stored: its spec, its optimistic-concurrency version and which secrets are set.</summary>
public sealed record StoredCluster
{
    public required ClusterSpec Spec { get; init; }

    /// <summary>Incremented by every <see cref="IClusterRepository.UpdateAsync"/>; pass it back to detect concurrent edits.</summary>
    public required long RowVersion { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public required ClusterSecretsPresence Secrets { get; init; }

    /// <summary>Per node id: pending host key and which secrets are set.</summary>
    public required IReadOnlyDictionary<Guid, StoredNodeState> Nodes { get; init; }
}

/// <summary>The inventory: clusters, their nodes and their (encrypted) secrets. Every method is one transaction.</summary>
public interface IClusterRepository
{
    Task<IReadOnlyList<StoredCluster>> ListAsync(CancellationToken ct);

    Task<StoredCluster?> GetAsync(Guid id, CancellationToken ct);

    /// <summary>Case-insensitive.</summary>
    Task<StoredCluster?> FindByNameAsync(string name, CancellationToken ct);

    /// <summary>
    /// Saves a new cluster with its two nodes and secrets. <paramref name="nodeSecrets"/> is keyed by node id.
    /// Throws <see cref="NameAlreadyExistsException"/> (nothing saved) when the name is taken, case-insensitively.
    /// </summary>
    Task<StoredCluster> AddAsync(ClusterSpec spec, ClusterSecrets secrets, IReadOnlyDictionary<Guid, NodeSecrets> nodeSecrets, CancellationToken ct);

    /// <summary>
    /// Replaces the cluster's spec. <paramref name="secrets"/> null keeps the cluster's secrets, else replaces all three
    /// (a null field deletes that secret). A node missing from <paramref name="nodeSecrets"/> (or a null dictionary)
    /// keeps its secrets; a node present gets exactly the given ones. Host keys are never changed here: use
    /// <see cref="PinHostKeyAsync"/>. A node whose id is no longer in the spec is deleted with its secrets.
    /// <paramref name="expectedRowVersion"/>, when given, must match or <see cref="ConcurrencyConflictException"/> is thrown.
    /// </summary>
    Task<StoredCluster> UpdateAsync(
        ClusterSpec spec,
        ClusterSecrets? secrets,
        IReadOnlyDictionary<Guid, NodeSecrets>? nodeSecrets,
        long? expectedRowVersion,
        CancellationToken ct);

    /// <summary>
    /// Stores the application's client networks with the cluster (the setup wizard's answer), in canonical form;
    /// <see cref="UpdateAsync"/> never changes them. Throws <see cref="ArgumentException"/> for an invalid network and
    /// <see cref="EntityNotFoundException"/> when the cluster does not exist.
    /// </summary>
    Task<StoredCluster> SetClientCidrsAsync(Guid clusterId, IReadOnlyList<string> clientCidrs, CancellationToken ct);

    /// <summary>Deletes the cluster, its nodes, secrets, operations and lock. False when it did not exist.</summary>
    Task<bool> DeleteAsync(Guid id, CancellationToken ct);

    /// <summary>The cluster's secrets decrypted; null when the cluster does not exist.</summary>
    Task<ClusterSecrets?> GetClusterSecretsAsync(Guid clusterId, CancellationToken ct);

    /// <summary>The node's secrets decrypted; null when the node does not exist.</summary>
    Task<NodeSecrets?> GetNodeSecretsAsync(Guid nodeId, CancellationToken ct);

    /// <summary>Pins the node's host key (SHA-256, unpadded base64 as ssh-keygen prints after <c>SHA256:</c>) and clears any pending key.</summary>
    Task PinHostKeyAsync(Guid nodeId, string sha256, CancellationToken ct);

    /// <summary>Records a host key seen but not yet confirmed by an admin (null clears it).</summary>
    Task SetPendingHostKeyAsync(Guid nodeId, string? sha256, CancellationToken ct);
}
