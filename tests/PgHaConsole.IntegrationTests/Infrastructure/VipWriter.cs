using Npgsql;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// A test-owned client writing through the write VIP as an application would (see <see cref="VipClient"/>): each row
/// tagged <c>{tag}:{n}</c> in <c>pghaconsole.heartbeat</c>, so a test can say whether every acknowledged insert (committed
/// and told to the client) is on the final primary.
/// </summary>
public sealed class VipWriter(ClusterSpec cluster, string password, string tag)
    : VipClient(NodeConnections.Monitor(cluster, cluster.WriteVip, password, "test-vip-writer", timeout: 1, commandTimeout: 2).ConnectionString)
{
    public string Tag { get; } = tag;

    protected override NpgsqlCommand Command(NpgsqlConnection connection, long n)
    {
        var cmd = new NpgsqlCommand("INSERT INTO pghaconsole.heartbeat (written_by) VALUES (@w) RETURNING host(inet_server_addr())", connection);
        cmd.Parameters.AddWithValue("w", $"{Tag}:{n}");
        return cmd;
    }
}
