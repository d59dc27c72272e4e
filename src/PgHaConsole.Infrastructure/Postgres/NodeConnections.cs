using Npgsql;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Infrastructure.Postgres;

/// <summary>
/// The one place the console builds a connection string to a cluster's PostgreSQL (a node address or a VIP), as the
/// monitoring role over TCP with password authentication.
/// </summary>
/// <remarks>
/// GSS encryption is disabled: the console authenticates with SCRAM (the wizard writes <c>scram-sha-256</c> lines),
/// and Npgsql's default (<c>Prefer</c>) first tries to acquire Kerberos credentials on every physical open. Measured
/// in the lab: with the default, about one open in 120 stalled for the whole connect timeout before the first byte
/// was sent (the TCP handshake done, the client silent), and a healthy open took ~50 ms; with GSS disabled, 1,200
/// opens took 12 ms each and none stalled. A stall like that reads as a write gap in a switchover and as a node
/// that does not answer in the topology.
/// </remarks>
public static class NodeConnections
{
    /// <summary>Unpooled unless the caller turns pooling on; timeouts in whole seconds (Npgsql's unit).</summary>
    public static NpgsqlConnectionStringBuilder Monitor(
        ClusterSpec cluster, string host, string? password, string applicationName, int timeout, int commandTimeout) => new()
    {
        Host = host,
        Port = cluster.Postgres.Port,
        Username = cluster.Postgres.MonitorUser,
        Password = password,
        Database = "postgres",
        ApplicationName = applicationName,
        Timeout = timeout,
        CommandTimeout = commandTimeout,
        Pooling = false,
        GssEncryptionMode = GssEncryptionMode.Disable,
    };
}
