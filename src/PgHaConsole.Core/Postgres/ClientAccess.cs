using System.Globalization;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Postgres;

/// <summary>An address the application connects to, and what answers there.</summary>
/// <param name="Purpose">writes, reads, or direct (one node).</param>
/// <param name="Address">IPv4 address.</param>
/// <param name="Port">TCP port.</param>
/// <param name="Path">Who listens there and where the connection goes, in words.</param>
/// <param name="PostgresSees">The source address PostgreSQL sees for such a connection (what pg_hba.conf must allow).</param>
public sealed record ClientEndpoint(string Purpose, string Address, int Port, string Path, string PostgresSees)
{
    public string HostPort => Address + ":" + Port.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A pg_hba.conf line for the application and why it is needed.</summary>
public sealed record HbaRule(HbaLine Line, string Reason);

/// <summary>What the application reaches and what pg_hba.conf lets it in with, for one cluster and its client networks.</summary>
public sealed record ClientAccessPlan(
    IReadOnlyList<string> ClientCidrs,
    IReadOnlyList<ClientEndpoint> Endpoints,
    IReadOnlyList<HbaRule> Rules,
    IReadOnlyList<string> Warnings)
{
    public IReadOnlyList<HbaLine> Lines => [.. Rules.Select(r => r.Line)];
}

/// <summary>
/// The application's access to the pair in both read-balancing modes. The lines grant database <c>all</c> and user
/// <c>all</c> with <c>scram-sha-256</c>: the console does not know (and does not manage) the application's roles and
/// databases, which the application's owner creates and changes without telling the console; the network is what the
/// operator declared, and the password (SCRAM, never sent in clear) is what admits a role. Narrower lines can be added
/// by hand above the console's block (pg_hba.conf is first-match).
/// <list type="bullet">
/// <item>HAProxy: both VIPs are HAProxy frontends on the VIP holder, which connects to PostgreSQL from its node's
/// address: PostgreSQL sees the node addresses for every connection through a VIP, so each node address needs a line.
/// The client networks' own lines serve connections straight to a node's address.</item>
/// <item>LVS-DR: IPVS direct routing keeps the client's source address, through the write VIP and the read VIP alike:
/// the client networks' lines serve both.</item>
/// </list>
/// </summary>
public static class ClientAccess
{
    public const string Method = "scram-sha-256";

    public static ClientAccessPlan Render(ClusterSpec cluster, IEnumerable<string>? clientCidrs)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var cidrs = ClientNetworks.Normalize(clientCidrs ?? []);
        var port = cluster.Postgres.Port;
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var nodes = string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} {n.Address}:{portText}"));
        var haproxy = cluster.Balancer == BalancerMode.Haproxy;
        var endpoints = new List<ClientEndpoint>();
        if (haproxy)
        {
            endpoints.Add(new("writes", cluster.WriteVip, port,
                $"HAProxy (frontend pg_write) listens on {cluster.WriteVip}:{portText} on the write VIP's holder and forwards to the primary's PostgreSQL beside it",
                "the primary's own node address (HAProxy's source)"));
            endpoints.Add(new("reads", cluster.ReadVip, port,
                $"HAProxy (frontend pg_read) listens on {cluster.ReadVip}:{portText} on the read VIP's holder, round robin over {nodes}",
                "the address of the node HAProxy runs on (HAProxy's source)"));
        }
        else
        {
            endpoints.Add(new("writes", cluster.WriteVip, port,
                $"keepalived/IPVS virtual server {cluster.WriteVip}:{portText} on the primary, direct routing to its PostgreSQL (no HAProxy)",
                "the client's own address (direct routing keeps it)"));
            endpoints.Add(new("reads", cluster.ReadVip, port,
                $"keepalived/IPVS fwmark service for {cluster.ReadVip}:{portText}, round robin over {nodes}, direct routing (no HAProxy)",
                "the client's own address (direct routing keeps it)"));
        }

        foreach (var n in cluster.Nodes)
        {
            endpoints.Add(new("direct", n.Address, port, $"{n.Name}'s PostgreSQL itself (maintenance, or a client that must reach one node)", "the client's own address"));
        }

        var rules = new List<HbaRule>();
        var warnings = new List<string>();
        if (cidrs.Count == 0)
        {
            warnings.Add(haproxy
                ? "No client networks given: no line lets the application in. Through the VIPs PostgreSQL sees HAProxy's node addresses, so only lines already in pg_hba.conf for those addresses (or all addresses) would admit it."
                : "No client networks given: no line lets the application in; only lines already in pg_hba.conf would admit it.");
        }
        else if (haproxy)
        {
            foreach (var n in cluster.Nodes)
            {
                rules.Add(new(new HbaLine("host", "all", "all", n.Address + "/32", Method),
                    $"the application through the write VIP and the read VIP: HAProxy on {n.Name} connects from {n.Address}"));
            }

            foreach (var cidr in cidrs)
            {
                rules.Add(new(new HbaLine("host", "all", "all", cidr, Method), $"the application's network {cidr} connecting straight to a node's address"));
            }

            warnings.Add("With HAProxy, PostgreSQL sees the node addresses for every connection through the VIPs: it cannot tell the application's "
                + $"networks from anyone else who reaches {cluster.WriteVip}:{portText} or {cluster.ReadVip}:{portText}, who still needs a role and its password. "
                + "Limit who reaches the VIPs with the network's firewall.");
        }
        else
        {
            foreach (var cidr in cidrs)
            {
                rules.Add(new(new HbaLine("host", "all", "all", cidr, Method),
                    $"the application's network {cidr} through the write VIP, the read VIP (direct routing keeps its address) and straight to a node"));
            }
        }

        foreach (var cidr in cidrs.Where(c => c.EndsWith("/0", StringComparison.Ordinal)))
        {
            warnings.Add($"{cidr}: every {(cidr.Contains(':', StringComparison.Ordinal) ? "IPv6" : "IPv4")} address may try to log in to every database (a role's password is still needed).");
        }

        if (cidrs.Any(c => c.Contains(':', StringComparison.Ordinal)))
        {
            warnings.Add(haproxy
                ? "IPv6 networks: the VIPs are IPv4 and PostgreSQL listens on each node's IPv4 address and localhost, so their lines only admit clients once PostgreSQL is reachable over IPv6."
                : "IPv6 networks: the VIPs are IPv4; their lines admit clients that reach a node's PostgreSQL over IPv6.");
        }

        return new ClientAccessPlan(cidrs, endpoints, rules, warnings);
    }
}
