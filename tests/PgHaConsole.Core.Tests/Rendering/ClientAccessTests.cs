using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

/// <summary>The application's endpoints and pg_hba.conf lines in both read-balancing modes.</summary>
public sealed class ClientAccessTests
{
    [Fact]
    public void Haproxy_lets_the_node_addresses_in_for_the_vips_and_the_networks_for_direct_connections()
    {
        var access = ClientAccess.Render(Sample.Cluster(balancer: BalancerMode.Haproxy), ["10.20.0.0/16", "2001:DB8::/32"]);

        Assert.Equal(
        [
            "host    all             all                     198.18.4.11/32     scram-sha-256",
            "host    all             all                     198.18.4.12/32     scram-sha-256",
            "host    all             all                     10.20.0.0/16       scram-sha-256",
            "host    all             all                     2001:db8::/32      scram-sha-256",
        ], access.Lines.Select(l => l.ToString()));
        Assert.Contains("HAProxy on pg1 connects from 198.18.4.11", access.Rules[0].Reason, StringComparison.Ordinal);
        Assert.Contains("straight to a node", access.Rules[2].Reason, StringComparison.Ordinal);

        Assert.Equal(["writes", "reads", "direct", "direct"], access.Endpoints.Select(e => e.Purpose));
        Assert.Equal(["198.18.4.51:5432", "198.18.4.52:5432", "198.18.4.11:5432", "198.18.4.12:5432"], access.Endpoints.Select(e => e.HostPort));
        Assert.Contains("HAProxy (frontend pg_write) listens on 198.18.4.51:5432", access.Endpoints[0].Path, StringComparison.Ordinal);
        Assert.Contains("HAProxy (frontend pg_read) listens on 198.18.4.52:5432", access.Endpoints[1].Path, StringComparison.Ordinal);
        Assert.Contains("pg1 198.18.4.11:5432, pg2 198.18.4.12:5432", access.Endpoints[1].Path, StringComparison.Ordinal);
        Assert.Contains("HAProxy's source", access.Endpoints[0].PostgresSees, StringComparison.Ordinal);
        Assert.Contains(access.Warnings, w => w.Contains("cannot tell the application's networks", StringComparison.Ordinal));
        Assert.Contains(access.Warnings, w => w.StartsWith("IPv6 networks", StringComparison.Ordinal));
    }

    [Fact]
    public void Lvs_dr_keeps_the_client_address_so_only_the_networks_are_let_in()
    {
        var access = ClientAccess.Render(Sample.Cluster(balancer: BalancerMode.LvsDr), ["10.20.0.0/16"]);

        var line = Assert.Single(access.Lines);
        Assert.Equal(new HbaLine("host", "all", "all", "10.20.0.0/16", "scram-sha-256"), line);
        Assert.DoesNotContain(access.Lines, l => l.Address!.StartsWith("198.18.4.", StringComparison.Ordinal));
        Assert.Contains("direct routing keeps its address", access.Rules[0].Reason, StringComparison.Ordinal);
        Assert.Contains("IPVS virtual server 198.18.4.51:5432", access.Endpoints[0].Path, StringComparison.Ordinal);
        Assert.Contains("no HAProxy", access.Endpoints[1].Path, StringComparison.Ordinal);
        Assert.Contains("client's own address", access.Endpoints[1].PostgresSees, StringComparison.Ordinal);
        Assert.Empty(access.Warnings);
    }

    [Theory]
    [InlineData(BalancerMode.Haproxy)]
    [InlineData(BalancerMode.LvsDr)]
    public void Without_networks_nothing_is_let_in_and_the_plan_says_so(BalancerMode mode)
    {
        var access = ClientAccess.Render(Sample.Cluster(balancer: mode), []);
        Assert.Empty(access.Rules);
        Assert.Contains("No client networks given", Assert.Single(access.Warnings), StringComparison.Ordinal);
        Assert.Equal(4, access.Endpoints.Count);
    }

    [Fact]
    public void Any_address_is_rendered_only_with_a_warning_and_a_bad_network_never()
    {
        var access = ClientAccess.Render(Sample.Cluster(balancer: BalancerMode.LvsDr), ["0.0.0.0/0"]);
        Assert.Equal("0.0.0.0/0", Assert.Single(access.Lines).Address);
        Assert.Contains(access.Warnings, w => w.StartsWith("0.0.0.0/0: every IPv4 address", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => ClientAccess.Render(Sample.Cluster(), ["10.0.0.0/8 trust"]));
        Assert.Throws<ArgumentException>(() => ClientAccess.Render(Sample.Cluster(), ["10.0.0.1/8"]));
    }

    [Fact]
    public void The_pairs_desired_lines_end_with_the_applications_and_apply_once()
    {
        var c = Sample.Cluster(balancer: BalancerMode.Haproxy);
        var lines = PgHbaEditor.DesiredLines(c, ["198.18.4.1/32"]);
        Assert.Equal(7, lines.Count);
        Assert.Equal(
            ["198.18.4.11/32", "198.18.4.12/32", "198.18.4.1/32"],
            lines.Where(l => l is { Database: "all", User: "all" }).Select(l => l.Address));
        var text = PgHbaEditor.Apply("local all all peer\n", lines).Text;
        Assert.Contains("host    all             all                     198.18.4.1/32      scram-sha-256\n", text, StringComparison.Ordinal);
        Assert.False(PgHbaEditor.Apply(text, lines).Changed);
    }
}
