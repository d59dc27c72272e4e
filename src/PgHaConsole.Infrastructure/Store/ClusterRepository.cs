using System.Data.Common;
using Dapper;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Secrets;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>
/// Clusters and their nodes in the store: add, update (optimistic, by row version), delete, list. Split by concern:
/// secrets (ClusterRepository.Secrets.cs), host-key pinning (.HostKeys.cs), the rows read (.Rows.cs).
/// </summary>
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
        client_cidrs AS ClientCidrs, created_at AS CreatedAt, updated_at AS UpdatedAt, row_version AS RowVersion
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

    public async Task<StoredCluster> SetClientCidrsAsync(Guid clusterId, IReadOnlyList<string> clientCidrs, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(clientCidrs);
        var normalized = Core.Validation.ClientNetworks.Normalize(clientCidrs);
        var now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());
        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE clusters SET client_cidrs = @Cidrs, updated_at = @Now, row_version = row_version + 1 WHERE id = @Id",
            new { Id = clusterId, Cidrs = string.Join('\n', normalized), Now = now },
            cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException(Entity, clusterId);
        }

        return (await LoadAsync(connection, "id = @Id", new { Id = clusterId }, ct)).Single();
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM clusters WHERE id = @Id", new { Id = id }, cancellationToken: ct));
        return deleted != 0;
    }

    /// <summary>The case-insensitive uniqueness key of a cluster name.</summary>
    internal static string NameKey(string name) => name.Trim().ToUpperInvariant();

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
                Secrets = SecretKinds.ClusterPresence(clusterKinds),
                Nodes = clusterNodes.ToDictionary(
                    n => n.Id,
                    n => SecretKinds.NodeState(n.Id, n.PendingHostKeySha256, secretKinds[n.Id].ToHashSet(StringComparer.Ordinal))),
            });
        }

        return result;
    }


}
