using Npgsql;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>A test-owned client reading through the read VIP as an application would (see <see cref="VipClient"/>): which node answered, when.</summary>
public sealed class VipReader(ClusterSpec cluster, string password)
    : VipClient(NodeConnections.Monitor(cluster, cluster.ReadVip, password, "test-vip-reader", timeout: 1, commandTimeout: 2).ConnectionString)
{
    protected override NpgsqlCommand Command(NpgsqlConnection connection, long n) => new("SELECT host(inet_server_addr())", connection);
}
