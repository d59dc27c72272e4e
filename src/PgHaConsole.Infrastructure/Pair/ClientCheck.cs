using System.Globalization;
using System.Net;
using Npgsql;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>
/// Success is what a client sees. After an operation has put nodes in their roles, each one must answer an
/// application's connection on its own address, in that role, and the console's own probe (the topology monitor's
/// <see cref="Topology.INodeProber"/>) must agree: reachable, the role, streaming from the right primary for a
/// standby, not fenced. A node that has just started may need a moment, so the check is retried for a bounded time;
/// the differences of the last attempt are the failure.
/// </summary>
/// <remarks>
/// Found by the lab (#13): a rejoin whose pg_rewind had copied the peer's <c>listen_addresses</c> reported success
/// because its check asked the primary's <c>pg_stat_replication</c> only; the node itself answered on no address of
/// its own and the topology showed it down.
/// </remarks>
public static class ClientCheck
{
    public sealed record Expectation(NodeHost Node, NodeRole Role, NodeHost? Upstream = null);

    public static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(20);

    /// <summary>Returns a one-line summary when every node agrees; throws <see cref="StepFailedException"/> otherwise.</summary>
    public static async Task<string> VerifyAsync(ClusterEnvironment env, IReadOnlyList<Expectation> nodes, StepLog log, CancellationToken ct, TimeSpan? within = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(nodes);
        var limit = within ?? DefaultWithin;
        var started = env.Time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            var results = await Task.WhenAll(nodes.Select(n => CheckAsync(env, n, ct)));
            var problems = results.SelectMany(r => r.Problems).ToList();
            if (problems.Count == 0)
            {
                var summary = string.Join("; ", results.Select(r => r.Summary));
                log.Info(null, "as a client sees it: " + summary);
                return summary;
            }

            if (env.Time.GetElapsedTime(started) >= limit)
            {
                throw new StepFailedException(
                    $"Not as a client expects after {limit.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s ({attempt.ToString(CultureInfo.InvariantCulture)} attempts): {string.Join("; ", problems)}.");
            }

            if (attempt == 1)
            {
                log.Info(null, "not yet as a client expects (checking again for up to " + limit.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s): " + string.Join("; ", problems));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), env.Time, ct);
        }
    }

    private static async Task<(IReadOnlyList<string> Problems, string Summary)> CheckAsync(ClusterEnvironment env, Expectation expected, CancellationToken ct)
    {
        var node = expected.Node;
        var address = node.Node.Address;
        var role = expected.Role == NodeRole.Primary ? "primary" : "standby";
        var problems = new List<string>();

        // 1. An application's connection: TCP to the node's own address, the monitoring role's password, one query.
        if (env.Secrets.MonitorPassword is not { } password)
        {
            problems.Add($"{node.Name}: the console holds no monitoring password to connect with");
        }
        else
        {
            try
            {
                var cs = NodeConnections.Monitor(env.Cluster, address, password, "pghaconsole-verify", timeout: 3, commandTimeout: 5).ConnectionString;
                await using var conn = new NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery(), host(inet_server_addr())", conn);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                var inRecovery = reader.GetBoolean(0);
                var serverAddress = reader.IsDBNull(1) ? null : reader.GetString(1);
                if (inRecovery != (expected.Role == NodeRole.Standby))
                {
                    problems.Add($"{node.Name}: a connection to {address} found it {(inRecovery ? "in recovery" : "accepting writes")}, expected a {role}");
                }

                if (IPAddress.TryParse(address, out _) && serverAddress is not null && serverAddress != address)
                {
                    problems.Add($"{node.Name}: a connection to {address} was answered by a server on {serverAddress}");
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                problems.Add($"{node.Name}: a connection to {address}:{env.Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)} failed: {env.Masker.Apply(ex.Message)}");
            }
        }

        // 2. The console's own probe, the one behind the topology page.
        var observed = await env.Prober.ProbeAsync(env.ProbeTarget, node.Node, ct);
        problems.AddRange(RoleExpectation.Disagreements(observed, expected.Role, expected.Upstream?.Node.Address).Select(d => $"{node.Name}: {d}"));

        var upstream = expected.Upstream is { } u ? $" streaming from {u.Name}" : "";
        return (problems, $"{node.Name} answers on {address} as the {role}{upstream}, and the console's probe agrees");
    }
}
