using System.Data.Common;
using Dapper;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>The secret kinds the store keeps, and how each maps to the cluster's and the nodes' secrets (one place).</summary>
internal static class SecretKinds
{
    public const string ReplicationPassword = "cluster.replication_password";
    public const string MonitorPassword = "cluster.monitor_password";
    public const string VrrpPassword = "cluster.vrrp_password";
    public const string PendingReplicationPassword = "cluster.replication_password.pending";
    public const string PendingMonitorPassword = "cluster.monitor_password.pending";
    public const string PendingVrrpPassword = "cluster.vrrp_password.pending";
    public const string PrivateKey = "node.private_key";
    public const string PrivateKeyPassphrase = "node.private_key_passphrase";
    public const string Password = "node.password";

    public static IEnumerable<(string Kind, string? Value)> Of(ClusterSecrets s) =>
        [
            (ReplicationPassword, s.ReplicationPassword), (MonitorPassword, s.MonitorPassword), (VrrpPassword, s.VrrpPassword),
            (PendingReplicationPassword, s.PendingReplicationPassword), (PendingMonitorPassword, s.PendingMonitorPassword), (PendingVrrpPassword, s.PendingVrrpPassword),
        ];

    public static IEnumerable<(string Kind, string? Value)> Of(NodeSecrets s) =>
        [(PrivateKey, s.PrivateKey), (PrivateKeyPassphrase, s.PrivateKeyPassphrase), (Password, s.Password)];

    public static ClusterSecrets ClusterFrom(Func<string, string?> value) => new()
    {
        ReplicationPassword = value(ReplicationPassword),
        MonitorPassword = value(MonitorPassword),
        VrrpPassword = value(VrrpPassword),
        PendingReplicationPassword = value(PendingReplicationPassword),
        PendingMonitorPassword = value(PendingMonitorPassword),
        PendingVrrpPassword = value(PendingVrrpPassword),
    };

    public static NodeSecrets NodeFrom(Func<string, string?> value) => new()
    {
        PrivateKey = value(PrivateKey),
        PrivateKeyPassphrase = value(PrivateKeyPassphrase),
        Password = value(Password),
    };

    public static ClusterSecretsPresence ClusterPresence(ISet<string> kinds) =>
        new(kinds.Contains(ReplicationPassword), kinds.Contains(MonitorPassword), kinds.Contains(VrrpPassword));

    public static StoredNodeState NodeState(Guid nodeId, string? pendingHostKey, ISet<string> kinds) =>
        new(nodeId, pendingHostKey, kinds.Contains(PrivateKey), kinds.Contains(PrivateKeyPassphrase), kinds.Contains(Password));
}

/// <summary>Secrets: encrypted with the data-protection key before they are written, decrypted only when asked for.</summary>
public sealed partial class ClusterRepository
{
    public async Task<ClusterSecrets?> GetClusterSecretsAsync(Guid clusterId, CancellationToken ct) =>
        await ReadSecretsAsync("clusters", clusterId, ct) is { } values ? SecretKinds.ClusterFrom(k => values.GetValueOrDefault(k)) : null;

    public async Task<NodeSecrets?> GetNodeSecretsAsync(Guid nodeId, CancellationToken ct) =>
        await ReadSecretsAsync("nodes", nodeId, ct) is { } values ? SecretKinds.NodeFrom(k => values.GetValueOrDefault(k)) : null;

    /// <summary>The decrypted secrets of a cluster or node (by kind), or null when <paramref name="ownerTable"/> has no such row.</summary>
    private async Task<Dictionary<string, string>?> ReadSecretsAsync(string ownerTable, Guid ownerId, CancellationToken ct)
    {
        // Reads need no transaction: a secret deleted in between reads as absent, which is what it is.
        await using var connection = await _factory.OpenAsync(ct);
        var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(*) FROM {ownerTable} WHERE id = @Id", new { Id = ownerId }, cancellationToken: ct));
        if (exists == 0)
        {
            return null;
        }

        var rows = await connection.QueryAsync<SecretRow>(new CommandDefinition(
            "SELECT kind AS Kind, protected_value AS Value FROM secrets WHERE owner_id = @OwnerId",
            new { OwnerId = ownerId },
            cancellationToken: ct));
        return rows.ToDictionary(r => r.Kind, r => _protector.Unprotect(r.Value), StringComparer.Ordinal);
    }

    private Task WriteClusterSecretsAsync(DbConnection connection, DbTransaction tx, Guid clusterId, ClusterSecrets secrets, DateTimeOffset now, CancellationToken ct) =>
        ReplaceSecretsAsync(connection, tx, clusterId, nodeId: null, SecretKinds.Of(secrets), now, ct);

    private Task WriteNodeSecretsAsync(DbConnection connection, DbTransaction tx, Guid clusterId, Guid nodeId, NodeSecrets secrets, DateTimeOffset now, CancellationToken ct) =>
        ReplaceSecretsAsync(connection, tx, clusterId, nodeId, SecretKinds.Of(secrets), now, ct);

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
}
