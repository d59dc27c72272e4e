using System.Data.Common;
using System.Text.RegularExpressions;
using Dapper;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Secrets;

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

internal static class SecretKinds
{
    public const string ReplicationPassword = "cluster.replication_password";
    public const string MonitorPassword = "cluster.monitor_password";
    public const string VrrpPassword = "cluster.vrrp_password";
    public const string PrivateKey = "node.private_key";
    public const string PrivateKeyPassphrase = "node.private_key_passphrase";
    public const string Password = "node.password";
}

public sealed partial class ClusterRepository : IClusterRepository
{
    private const string Entity = "cluster";

    private const string ClusterColumns = """
        id AS Id, name AS Name, write_vip AS WriteVip, read_vip AS ReadVip, vip_prefix_length AS VipPrefixLength,
        balancer AS Balancer, vrrp_interface AS VrrpInterface, vrrp_router_id AS VrrpRouterId,
        vrrp_node1_priority AS VrrpNode1Priority, vrrp_node2_priority AS VrrpNode2Priority,
        vrrp_advert_int_ms AS VrrpAdvertIntMs, pg_major_version AS PgMajorVersion, pg_bin_dir AS PgBinDir,
        pg_data_dir AS PgDataDir, pg_port AS PgPort, pg_os_user AS PgOsUser, pg_service_control AS PgServiceControl,
        pg_systemd_unit AS PgSystemdUnit, pg_replication_user AS PgReplicationUser, pg_monitor_user AS PgMonitorUser,
        created_at AS CreatedAt, updated_at AS UpdatedAt, row_version AS RowVersion
        """;

    private const string NodeColumns = """
        id AS Id, cluster_id AS ClusterId, ordinal AS Ordinal, name AS Name, address AS Address, ssh_port AS SshPort,
        ssh_user AS SshUser, auth_kind AS AuthKind, privilege AS Privilege, host_key_sha256 AS HostKeySha256,
        pending_host_key_sha256 AS PendingHostKeySha256
        """;

    private readonly IStoreConnectionFactory _factory;
    private readonly ISecretProtector _protector;
    private readonly TimeProvider _time;

    public ClusterRepository(IStoreConnectionFactory factory, ISecretProtector protector, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _protector = protector;
        _time = time;
    }

    public async Task<IReadOnlyList<StoredCluster>> ListAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await LoadAsync(connection, "1 = 1", null, ct);
    }

    public async Task<StoredCluster?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (await LoadAsync(connection, "id = @Id", new { Id = id }, ct)).SingleOrDefault();
    }

    public async Task<StoredCluster?> FindByNameAsync(string name, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (await LoadAsync(connection, "name_key = @NameKey", new { NameKey = NameKey(name) }, ct)).SingleOrDefault();
    }

    public async Task<StoredCluster> AddAsync(
        ClusterSpec spec,
        ClusterSecrets secrets,
        IReadOnlyDictionary<Guid, NodeSecrets> nodeSecrets,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(nodeSecrets);
        CheckShape(spec, nodeSecrets);
        var now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());

        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO clusters (id, name, name_key, write_vip, read_vip, vip_prefix_length, balancer, vrrp_interface,
                    vrrp_router_id, vrrp_node1_priority, vrrp_node2_priority, vrrp_advert_int_ms, pg_major_version,
                    pg_bin_dir, pg_data_dir, pg_port, pg_os_user, pg_service_control, pg_systemd_unit,
                    pg_replication_user, pg_monitor_user, created_at, updated_at, row_version)
                VALUES (@Id, @Name, @NameKey, @WriteVip, @ReadVip, @VipPrefixLength, @Balancer, @VrrpInterface,
                    @VrrpRouterId, @VrrpNode1Priority, @VrrpNode2Priority, @VrrpAdvertIntMs, @PgMajorVersion,
                    @PgBinDir, @PgDataDir, @PgPort, @PgOsUser, @PgServiceControl, @PgSystemdUnit,
                    @PgReplicationUser, @PgMonitorUser, @Now, @Now, 1)
                """,
                ClusterParameters(spec, now),
                tx,
                cancellationToken: ct));

            foreach (var (node, ordinal) in new[] { (spec.Node1, 1), (spec.Node2, 2) })
            {
                await InsertNodeAsync(connection, tx, spec.Id, node, ordinal, ct);
            }

            await WriteClusterSecretsAsync(connection, tx, spec.Id, secrets, now, ct);
            foreach (var (nodeId, values) in nodeSecrets)
            {
                await WriteNodeSecretsAsync(connection, tx, spec.Id, nodeId, values, now, ct);
            }

            await tx.CommitAsync(ct);
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "name_key"))
        {
            await tx.RollbackAsync(CancellationToken.None);
            throw new NameAlreadyExistsException(Entity, spec.Name, ex);
        }

        return (await LoadAsync(connection, "id = @Id", new { spec.Id }, ct)).Single();
    }

    public async Task<StoredCluster> UpdateAsync(
        ClusterSpec spec,
        ClusterSecrets? secrets,
        IReadOnlyDictionary<Guid, NodeSecrets>? nodeSecrets,
        long? expectedRowVersion,
        CancellationToken ct)
    {
        nodeSecrets ??= new Dictionary<Guid, NodeSecrets>();
        CheckShape(spec, nodeSecrets);
        var now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());

        await using var connection = await _factory.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        try
        {
            var parameters = ClusterParameters(spec, now);
            parameters.Add("Expected", expectedRowVersion ?? 0L);
            var versionClause = expectedRowVersion is null ? string.Empty : " AND row_version = @Expected";
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE clusters SET name = @Name, name_key = @NameKey, write_vip = @WriteVip, read_vip = @ReadVip,
                    vip_prefix_length = @VipPrefixLength, balancer = @Balancer, vrrp_interface = @VrrpInterface,
                    vrrp_router_id = @VrrpRouterId, vrrp_node1_priority = @VrrpNode1Priority,
                    vrrp_node2_priority = @VrrpNode2Priority, vrrp_advert_int_ms = @VrrpAdvertIntMs,
                    pg_major_version = @PgMajorVersion, pg_bin_dir = @PgBinDir, pg_data_dir = @PgDataDir,
                    pg_port = @PgPort, pg_os_user = @PgOsUser, pg_service_control = @PgServiceControl,
                    pg_systemd_unit = @PgSystemdUnit, pg_replication_user = @PgReplicationUser,
                    pg_monitor_user = @PgMonitorUser, updated_at = @Now, row_version = row_version + 1
                WHERE id = @Id{versionClause}
                """,
                parameters,
                tx,
                cancellationToken: ct));
            if (changed == 0)
            {
                var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM clusters WHERE id = @Id", new { spec.Id }, tx, cancellationToken: ct));
                throw exists == 0
                    ? new EntityNotFoundException(Entity, spec.Id)
                    : new ConcurrencyConflictException(Entity, spec.Id, expectedRowVersion ?? 0);
            }

            var foreign = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM nodes WHERE (id = @A OR id = @B) AND cluster_id <> @Id",
                new { A = spec.Node1.Id, B = spec.Node2.Id, spec.Id },
                tx,
                cancellationToken: ct));
            if (foreign != 0)
            {
                throw new ArgumentException("A node id of this cluster belongs to another cluster.", nameof(spec));
            }

            // Nodes that left the spec go, and their secrets with them (ON DELETE CASCADE).
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM nodes WHERE cluster_id = @Id AND id <> @A AND id <> @B",
                new { spec.Id, A = spec.Node1.Id, B = spec.Node2.Id },
                tx,
                cancellationToken: ct));

            foreach (var (node, ordinal) in new[] { (spec.Node1, 1), (spec.Node2, 2) })
            {
                var updated = await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE nodes SET ordinal = @Ordinal, name = @Name, address = @Address, ssh_port = @SshPort,
                        ssh_user = @SshUser, auth_kind = @AuthKind, privilege = @Privilege
                    WHERE id = @Id AND cluster_id = @ClusterId
                    """,
                    NodeParameters(spec.Id, node, ordinal),
                    tx,
                    cancellationToken: ct));
                if (updated == 0)
                {
                    await InsertNodeAsync(connection, tx, spec.Id, node, ordinal, ct);
                }
            }

            if (secrets is not null)
            {
                await WriteClusterSecretsAsync(connection, tx, spec.Id, secrets, now, ct);
            }

            foreach (var (nodeId, values) in nodeSecrets)
            {
                await WriteNodeSecretsAsync(connection, tx, spec.Id, nodeId, values, now, ct);
            }

            await tx.CommitAsync(ct);
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "name_key"))
        {
            await tx.RollbackAsync(CancellationToken.None);
            throw new NameAlreadyExistsException(Entity, spec.Name, ex);
        }

        return (await LoadAsync(connection, "id = @Id", new { spec.Id }, ct)).Single();
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM clusters WHERE id = @Id", new { Id = id }, cancellationToken: ct));
        return deleted != 0;
    }

    public async Task<ClusterSecrets?> GetClusterSecretsAsync(Guid clusterId, CancellationToken ct)
    {
        // Reads need no transaction: a secret deleted in between reads as absent, which is what it is.
        await using var connection = await _factory.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM clusters WHERE id = @Id", new { Id = clusterId }, cancellationToken: ct));
        if (exists == 0)
        {
            return null;
        }

        var values = await ReadSecretsAsync(connection, clusterId, ct);
        return new ClusterSecrets
        {
            ReplicationPassword = values.GetValueOrDefault(SecretKinds.ReplicationPassword),
            MonitorPassword = values.GetValueOrDefault(SecretKinds.MonitorPassword),
            VrrpPassword = values.GetValueOrDefault(SecretKinds.VrrpPassword),
        };
    }

    public async Task<NodeSecrets?> GetNodeSecretsAsync(Guid nodeId, CancellationToken ct)
    {
        // Reads need no transaction: a secret deleted in between reads as absent, which is what it is.
        await using var connection = await _factory.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM nodes WHERE id = @Id", new { Id = nodeId }, cancellationToken: ct));
        if (exists == 0)
        {
            return null;
        }

        var values = await ReadSecretsAsync(connection, nodeId, ct);
        return new NodeSecrets
        {
            PrivateKey = values.GetValueOrDefault(SecretKinds.PrivateKey),
            PrivateKeyPassphrase = values.GetValueOrDefault(SecretKinds.PrivateKeyPassphrase),
            Password = values.GetValueOrDefault(SecretKinds.Password),
        };
    }

    public async Task PinHostKeyAsync(Guid nodeId, string sha256, CancellationToken ct)
    {
        CheckFingerprint(sha256);
        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE nodes SET host_key_sha256 = @Key, pending_host_key_sha256 = NULL WHERE id = @Id",
            new { Id = nodeId, Key = sha256 },
            cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException("node", nodeId);
        }
    }

    public async Task SetPendingHostKeyAsync(Guid nodeId, string? sha256, CancellationToken ct)
    {
        if (sha256 is not null)
        {
            CheckFingerprint(sha256);
        }

        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE nodes SET pending_host_key_sha256 = @Key WHERE id = @Id",
            new { Id = nodeId, Key = sha256 },
            cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException("node", nodeId);
        }
    }

    /// <summary>The case-insensitive uniqueness key of a cluster name.</summary>
    internal static string NameKey(string name) => name.Trim().ToUpperInvariant();

    // 32 bytes in unpadded base64 are 43 characters.
    [GeneratedRegex("^[A-Za-z0-9+/]{43}$")]
    private static partial Regex FingerprintPattern();

    private static void CheckFingerprint(string sha256)
    {
        if (!FingerprintPattern().IsMatch(sha256))
        {
            throw new ArgumentException(
                "A host key fingerprint is the unpadded base64 SHA-256 (43 characters, without the 'SHA256:' prefix).",
                nameof(sha256));
        }
    }

    private static void CheckShape(ClusterSpec spec, IReadOnlyDictionary<Guid, NodeSecrets> nodeSecrets)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(spec.Name);
        if (spec.Node1.Id == spec.Node2.Id)
        {
            throw new ArgumentException("The two nodes of a cluster need distinct ids.", nameof(spec));
        }

        foreach (var nodeId in nodeSecrets.Keys)
        {
            if (spec.FindNode(nodeId) is null)
            {
                throw new ArgumentException($"Secrets were given for node {nodeId}, which is not in the cluster.", nameof(nodeSecrets));
            }
        }
    }

    private static DynamicParameters ClusterParameters(ClusterSpec spec, DateTimeOffset now)
    {
        var p = new DynamicParameters();
        p.Add("Id", spec.Id);
        p.Add("Name", spec.Name);
        p.Add("NameKey", NameKey(spec.Name));
        p.Add("WriteVip", spec.WriteVip);
        p.Add("ReadVip", spec.ReadVip);
        p.Add("VipPrefixLength", spec.VipPrefixLength);
        p.Add("Balancer", spec.Balancer.ToString());
        p.Add("VrrpInterface", spec.Vrrp.Interface);
        p.Add("VrrpRouterId", spec.Vrrp.VirtualRouterId);
        p.Add("VrrpNode1Priority", spec.Vrrp.Node1Priority);
        p.Add("VrrpNode2Priority", spec.Vrrp.Node2Priority);
        p.Add("VrrpAdvertIntMs", (int)decimal.Round(spec.Vrrp.AdvertIntSeconds * 1000m));
        p.Add("PgMajorVersion", spec.Postgres.MajorVersion);
        p.Add("PgBinDir", spec.Postgres.BinDir);
        p.Add("PgDataDir", spec.Postgres.DataDir);
        p.Add("PgPort", spec.Postgres.Port);
        p.Add("PgOsUser", spec.Postgres.OsUser);
        p.Add("PgServiceControl", spec.Postgres.ServiceControl.ToString());
        p.Add("PgSystemdUnit", spec.Postgres.SystemdUnit, System.Data.DbType.String);
        p.Add("PgReplicationUser", spec.Postgres.ReplicationUser);
        p.Add("PgMonitorUser", spec.Postgres.MonitorUser);
        p.Add("Now", now);
        return p;
    }

    private static DynamicParameters NodeParameters(Guid clusterId, NodeSpec node, int ordinal)
    {
        var p = new DynamicParameters();
        p.Add("Id", node.Id);
        p.Add("ClusterId", clusterId);
        p.Add("Ordinal", ordinal);
        p.Add("Name", node.Name);
        p.Add("Address", node.Address);
        p.Add("SshPort", node.SshPort);
        p.Add("SshUser", node.SshUser);
        p.Add("AuthKind", node.AuthKind.ToString());
        p.Add("Privilege", node.Privilege.ToString());
        p.Add("HostKey", node.HostKeySha256, System.Data.DbType.String);
        return p;
    }

    private static Task InsertNodeAsync(DbConnection connection, DbTransaction tx, Guid clusterId, NodeSpec node, int ordinal, CancellationToken ct)
    {
        if (node.HostKeySha256 is not null)
        {
            CheckFingerprint(node.HostKeySha256);
        }

        return connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO nodes (id, cluster_id, ordinal, name, address, ssh_port, ssh_user, auth_kind, privilege,
                host_key_sha256, pending_host_key_sha256)
            VALUES (@Id, @ClusterId, @Ordinal, @Name, @Address, @SshPort, @SshUser, @AuthKind, @Privilege, @HostKey, NULL)
            """,
            NodeParameters(clusterId, node, ordinal),
            tx,
            cancellationToken: ct));
    }

    private Task WriteClusterSecretsAsync(DbConnection connection, DbTransaction tx, Guid clusterId, ClusterSecrets secrets, DateTimeOffset now, CancellationToken ct) =>
        ReplaceSecretsAsync(
            connection,
            tx,
            clusterId,
            nodeId: null,
            [
                (SecretKinds.ReplicationPassword, secrets.ReplicationPassword),
                (SecretKinds.MonitorPassword, secrets.MonitorPassword),
                (SecretKinds.VrrpPassword, secrets.VrrpPassword),
            ],
            now,
            ct);

    private Task WriteNodeSecretsAsync(DbConnection connection, DbTransaction tx, Guid clusterId, Guid nodeId, NodeSecrets secrets, DateTimeOffset now, CancellationToken ct) =>
        ReplaceSecretsAsync(
            connection,
            tx,
            clusterId,
            nodeId,
            [
                (SecretKinds.PrivateKey, secrets.PrivateKey),
                (SecretKinds.PrivateKeyPassphrase, secrets.PrivateKeyPassphrase),
                (SecretKinds.Password, secrets.Password),
            ],
            now,
            ct);

    private async Task ReplaceSecretsAsync(
        DbConnection connection,
        DbTransaction tx,
        Guid clusterId,
        Guid? nodeId,
        IEnumerable<(string Kind, string? Value)> values,
        DateTimeOffset now,
        CancellationToken ct)
    {
        var ownerId = nodeId ?? clusterId;
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM secrets WHERE owner_id = @OwnerId", new { OwnerId = ownerId }, tx, cancellationToken: ct));
        foreach (var (kind, value) in values)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var p = new DynamicParameters();
            p.Add("ClusterId", clusterId);
            p.Add("NodeId", nodeId);
            p.Add("OwnerId", ownerId);
            p.Add("Kind", kind);
            p.Add("Value", _protector.Protect(value));
            p.Add("Now", now);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO secrets (cluster_id, node_id, owner_id, kind, protected_value, updated_at)
                VALUES (@ClusterId, @NodeId, @OwnerId, @Kind, @Value, @Now)
                """,
                p,
                tx,
                cancellationToken: ct));
        }
    }

    private async Task<Dictionary<string, string>> ReadSecretsAsync(DbConnection connection, Guid ownerId, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<SecretRow>(new CommandDefinition(
            "SELECT kind AS Kind, protected_value AS Value FROM secrets WHERE owner_id = @OwnerId",
            new { OwnerId = ownerId },
            cancellationToken: ct));
        return rows.ToDictionary(r => r.Kind, r => _protector.Unprotect(r.Value), StringComparer.Ordinal);
    }

    private static async Task<IReadOnlyList<StoredCluster>> LoadAsync(DbConnection connection, string where, object? param, CancellationToken ct)
    {
        var clusters = (await connection.QueryAsync<ClusterRow>(new CommandDefinition(
            $"SELECT {ClusterColumns} FROM clusters WHERE {where} ORDER BY name_key", param, cancellationToken: ct))).ToList();
        if (clusters.Count == 0)
        {
            return [];
        }

        var nodes = (await connection.QueryAsync<NodeRow>(new CommandDefinition(
            $"SELECT {NodeColumns} FROM nodes WHERE cluster_id IN (SELECT id FROM clusters WHERE {where})", param, cancellationToken: ct)))
            .ToLookup(n => n.ClusterId);
        var secretKinds = (await connection.QueryAsync<SecretKindRow>(new CommandDefinition(
            $"SELECT owner_id AS OwnerId, kind AS Kind FROM secrets WHERE cluster_id IN (SELECT id FROM clusters WHERE {where})", param, cancellationToken: ct)))
            .ToLookup(s => s.OwnerId, s => s.Kind);

        var result = new List<StoredCluster>(clusters.Count);
        foreach (var c in clusters)
        {
            var clusterNodes = nodes[c.Id].OrderBy(n => n.Ordinal).ToList();
            if (clusterNodes.Count != 2)
            {
                throw new InvalidOperationException($"The store holds {clusterNodes.Count} node(s) for cluster {c.Id}; a cluster has two.");
            }

            var clusterKinds = secretKinds[c.Id].ToHashSet(StringComparer.Ordinal);
            result.Add(new StoredCluster
            {
                Spec = c.ToSpec(clusterNodes[0].ToSpec(), clusterNodes[1].ToSpec()),
                RowVersion = c.RowVersion,
                CreatedAt = c.CreatedAt,
                UpdatedAt = c.UpdatedAt,
                Secrets = new ClusterSecretsPresence(
                    clusterKinds.Contains(SecretKinds.ReplicationPassword),
                    clusterKinds.Contains(SecretKinds.MonitorPassword),
                    clusterKinds.Contains(SecretKinds.VrrpPassword)),
                Nodes = clusterNodes.ToDictionary(
                    n => n.Id,
                    n =>
                    {
                        var kinds = secretKinds[n.Id].ToHashSet(StringComparer.Ordinal);
                        return new StoredNodeState(
                            n.Id,
                            n.PendingHostKeySha256,
                            kinds.Contains(SecretKinds.PrivateKey),
                            kinds.Contains(SecretKinds.PrivateKeyPassphrase),
                            kinds.Contains(SecretKinds.Password));
                    }),
            });
        }

        return result;
    }

    private sealed class SecretRow
    {
        public string Kind { get; init; } = "";

        public string Value { get; init; } = "";
    }

    private sealed class SecretKindRow
    {
        public Guid OwnerId { get; init; }

        public string Kind { get; init; } = "";
    }

    private sealed class ClusterRow
    {
        public Guid Id { get; init; }

        public string Name { get; init; } = "";

        public string WriteVip { get; init; } = "";

        public string ReadVip { get; init; } = "";

        public int VipPrefixLength { get; init; }

        public string Balancer { get; init; } = "";

        public string VrrpInterface { get; init; } = "";

        public int VrrpRouterId { get; init; }

        public int VrrpNode1Priority { get; init; }

        public int VrrpNode2Priority { get; init; }

        public long VrrpAdvertIntMs { get; init; }

        public int PgMajorVersion { get; init; }

        public string PgBinDir { get; init; } = "";

        public string PgDataDir { get; init; } = "";

        public int PgPort { get; init; }

        public string PgOsUser { get; init; } = "";

        public string PgServiceControl { get; init; } = "";

        public string? PgSystemdUnit { get; init; }

        public string PgReplicationUser { get; init; } = "";

        public string PgMonitorUser { get; init; } = "";

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset UpdatedAt { get; init; }

        public long RowVersion { get; init; }

        public ClusterSpec ToSpec(NodeSpec node1, NodeSpec node2) => new()
        {
            Id = Id,
            Name = Name,
            Node1 = node1,
            Node2 = node2,
            WriteVip = WriteVip,
            ReadVip = ReadVip,
            VipPrefixLength = VipPrefixLength,
            Balancer = Enum.Parse<BalancerMode>(Balancer),
            Vrrp = new VrrpSettings
            {
                Interface = VrrpInterface,
                VirtualRouterId = VrrpRouterId,
                Node1Priority = VrrpNode1Priority,
                Node2Priority = VrrpNode2Priority,
                AdvertIntSeconds = VrrpAdvertIntMs / 1000m,
            },
            Postgres = new PostgresSettings
            {
                MajorVersion = PgMajorVersion,
                BinDir = PgBinDir,
                DataDir = PgDataDir,
                Port = PgPort,
                OsUser = PgOsUser,
                ServiceControl = Enum.Parse<ServiceControl>(PgServiceControl),
                SystemdUnit = PgSystemdUnit,
                ReplicationUser = PgReplicationUser,
                MonitorUser = PgMonitorUser,
            },
        };
    }

    private sealed class NodeRow
    {
        public Guid Id { get; init; }

        public Guid ClusterId { get; init; }

        public int Ordinal { get; init; }

        public string Name { get; init; } = "";

        public string Address { get; init; } = "";

        public int SshPort { get; init; }

        public string SshUser { get; init; } = "";

        public string AuthKind { get; init; } = "";

        public string Privilege { get; init; } = "";

        public string? HostKeySha256 { get; init; }

        public string? PendingHostKeySha256 { get; init; }

        public NodeSpec ToSpec() => new()
        {
            Id = Id,
            Name = Name,
            Address = Address,
            SshPort = SshPort,
            SshUser = SshUser,
            AuthKind = Enum.Parse<SshAuthKind>(AuthKind),
            Privilege = Enum.Parse<PrivilegeMode>(Privilege),
            HostKeySha256 = HostKeySha256,
        };
    }
}
