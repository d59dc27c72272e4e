using Dapper;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Instances;

/// <summary>A cluster's latest picture as its prober (the lease holder) wrote it.</summary>
public sealed record StoredPicture(Guid ClusterId, Guid HolderInstance, string HolderName, DateTimeOffset ObservedAt, ClusterTopology? Picture);

/// <summary>
/// The <c>cluster_pictures</c> table (#17: one prober per cluster): the instance holding a cluster's lease writes each
/// picture it takes; the other instances read it instead of probing the cluster themselves.
/// </summary>
public sealed class ClusterPictureStore
{
    private readonly IStoreConnectionFactory _factory;

    public ClusterPictureStore(IStoreConnectionFactory factory)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
    }

    /// <summary>Keeps <paramref name="picture"/> as the cluster's latest unless a newer one is stored already.</summary>
    public async Task WriteAsync(ClusterTopology picture, Guid instanceId, string instanceName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(picture);
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO cluster_pictures (cluster_id, holder_instance, holder_name, observed_at, picture)
            SELECT @ClusterId, @Instance, @Name, @ObservedAt, @Picture WHERE EXISTS (SELECT 1 FROM clusters WHERE id = @ClusterId)
            ON CONFLICT (cluster_id) DO UPDATE SET
                holder_instance = excluded.holder_instance,
                holder_name = excluded.holder_name,
                observed_at = excluded.observed_at,
                picture = excluded.picture
            WHERE cluster_pictures.observed_at <= excluded.observed_at
            """,
            new
            {
                picture.ClusterId,
                Instance = instanceId,
                Name = instanceName,
                ObservedAt = StoreTypeHandlers.ToStoreTime(picture.ObservedAt),
                Picture = TopologyJson.Serialize(picture),
            },
            cancellationToken: ct));
    }

    /// <summary>Every stored picture (one per cluster).</summary>
    public async Task<IReadOnlyList<StoredPicture>> ReadAllAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<PictureRow>(new CommandDefinition(
            """
            SELECT cluster_id AS ClusterId, holder_instance AS HolderInstance, holder_name AS HolderName,
                   observed_at AS ObservedAt, picture AS Picture
            FROM cluster_pictures
            """,
            cancellationToken: ct));
        return rows.Select(r => new StoredPicture(r.ClusterId, r.HolderInstance, r.HolderName, r.ObservedAt, TopologyJson.Deserialize(r.Picture))).ToList();
    }

    private sealed class PictureRow
    {
        public Guid ClusterId { get; init; }

        public Guid HolderInstance { get; init; }

        public string HolderName { get; init; } = "";

        public DateTimeOffset ObservedAt { get; init; }

        public string Picture { get; init; } = "";
    }
}
