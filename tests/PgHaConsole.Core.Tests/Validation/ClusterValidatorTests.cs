using PgHaConsole.Core.Model;
using PgHaConsole.Core.Tests.Rendering;
using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Tests.Validation;

public sealed class ClusterValidatorTests
{
    private static readonly ClusterSecrets GoodSecrets = new() { VrrpPassword = "s3cret", ReplicationPassword = "r:e\\p'l" };

    private static IReadOnlyList<ValidationError> Errors(ClusterSpec c, ClusterSecrets? s = null, IReadOnlyDictionary<Guid, NodeSecrets>? n = null) =>
        ClusterValidator.Validate(c, s, n);

    private static void AssertOnly(IReadOnlyList<ValidationError> errors, string field)
    {
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal(field, e.Field));
    }

    [Fact]
    public void The_sample_cluster_is_valid()
    {
        var c = Sample.Cluster();
        var secrets = new Dictionary<Guid, NodeSecrets>
        {
            [c.Node1.Id] = new() { PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----" },
            [c.Node2.Id] = new() { PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----" },
        };
        Assert.Empty(Errors(c, GoodSecrets, secrets));
    }

    [Theory]
    [InlineData("198.18.4")]
    [InlineData("198.18.4.256")]
    [InlineData("198.18.04.1")]
    [InlineData("198.18.4.1 ")]
    [InlineData("a.b.c.d")]
    [InlineData("")]
    [InlineData("198.18.4.1;rm -rf /")]
    public void Malformed_node_address_is_reported_at_the_field(string address)
    {
        var c = Sample.Cluster() with { Node1 = Sample.Cluster().Node1 with { Address = address } };
        var errors = Errors(c);
        Assert.Contains(errors, e => e.Field == "node1.address" && e.Message.Contains("IPv4", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("224.0.0.18", "multicast")]
    [InlineData("0.1.2.3", "0.0.0.0/8")]
    public void Unusable_node_address_is_refused(string address, string reason)
    {
        var c = Sample.Cluster() with { Node2 = Sample.Cluster().Node2 with { Address = address } };
        Assert.Contains(Errors(c), e => e.Field == "node2.address" && e.Message.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Malformed_vip_is_reported()
    {
        AssertOnly(Errors(Sample.Cluster() with { WriteVip = "198.18.4.300" }), "writeVip");
        AssertOnly(Errors(Sample.Cluster() with { ReadVip = "nope" }), "readVip");
    }

    [Fact]
    public void Vip_equal_to_a_node_address_is_refused()
    {
        var errors = Errors(Sample.Cluster() with { WriteVip = "198.18.4.12" });
        AssertOnly(errors, "writeVip");
        Assert.Contains("node2 (pg2)", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vips_must_differ()
    {
        var errors = Errors(Sample.Cluster() with { ReadVip = "198.18.4.51" });
        AssertOnly(errors, "readVip");
        Assert.Contains("equals the write VIP", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_with_the_same_address_or_name_are_refused()
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Node2 = c.Node2 with { Address = c.Node1.Address } }), "node2.address");
        AssertOnly(Errors(c with { Node2 = c.Node2 with { Name = "PG1" } }), "node2.name");
    }

    [Fact]
    public void Vip_outside_the_nodes_subnet_is_refused()
    {
        var errors = Errors(Sample.Cluster() with { ReadVip = "198.18.5.52" });
        AssertOnly(errors, "readVip");
        Assert.Contains("/24", errors[0].Message, StringComparison.Ordinal);

        // With a /16 the same VIP is on the segment.
        Assert.Empty(Errors(Sample.Cluster() with { ReadVip = "198.18.5.52", VipPrefixLength = 16 }));
    }

    [Fact]
    public void Nodes_in_different_subnets_are_refused()
    {
        var c = Sample.Cluster();
        Assert.Contains(Errors(c with { Node2 = c.Node2 with { Address = "198.18.9.12" } }), e => e.Field == "node2.address");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(32)]
    public void Vip_prefix_length_out_of_range(int prefix) =>
        Assert.Contains(Errors(Sample.Cluster() with { VipPrefixLength = prefix }), e => e.Field == "vipPrefixLength");

    [Fact]
    public void Vip_that_is_the_broadcast_address_is_refused() =>
        AssertOnly(Errors(Sample.Cluster() with { ReadVip = "198.18.4.255" }), "readVip");

    [Fact]
    public void Vrrp_password_over_8_characters_names_the_limit_without_echoing_it()
    {
        var errors = Errors(Sample.Cluster(), GoodSecrets with { VrrpPassword = "123456789" });
        AssertOnly(errors, "vrrp.password");
        Assert.Contains("at most 8", errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("PASS", errors[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("123456789", errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("a b")]
    [InlineData("ab#c")]
    [InlineData("ab!c")]
    [InlineData("ab\"c")]
    public void Vrrp_password_empty_or_unrepresentable_is_refused(string? password) =>
        AssertOnly(Errors(Sample.Cluster(), GoodSecrets with { VrrpPassword = password }), "vrrp.password");

    [Fact]
    public void Vrrp_password_of_exactly_8_is_accepted() =>
        Assert.Empty(Errors(Sample.Cluster(), GoodSecrets with { VrrpPassword = "12345678" }));

    [Fact]
    public void Replication_password_with_a_line_break_is_refused() =>
        AssertOnly(Errors(Sample.Cluster(), GoodSecrets with { ReplicationPassword = "a\nb" }), "postgres.replicationPassword");

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void Virtual_router_id_out_of_range(int id) =>
        AssertOnly(Errors(Sample.Cluster() with { Vrrp = new VrrpSettings { VirtualRouterId = id } }), "vrrp.virtualRouterId");

    [Theory]
    [InlineData(0, 90, "vrrp.node1Priority")]
    [InlineData(255, 90, "vrrp.node1Priority")]
    [InlineData(100, 0, "vrrp.node2Priority")]
    [InlineData(100, 255, "vrrp.node2Priority")]
    [InlineData(100, 100, "vrrp.node2Priority")]
    public void Priorities_in_range_and_different(int p1, int p2, string field) =>
        AssertOnly(Errors(Sample.Cluster() with { Vrrp = new VrrpSettings { Node1Priority = p1, Node2Priority = p2 } }), field);

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("0.125")]
    [InlineData("256")]
    public void Advert_int_must_be_positive_and_representable(string value) =>
        AssertOnly(Errors(Sample.Cluster(advertInt: decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture))), "vrrp.advertInt");

    [Theory]
    [InlineData(10)]
    [InlineData(18)]
    public void Unknown_major_version_is_refused(int major)
    {
        var c = Sample.Cluster();
        var errors = Errors(c with { Postgres = c.Postgres with { MajorVersion = major } });
        AssertOnly(errors, "postgres.majorVersion");
        Assert.Contains("11 and 17", errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data10/pgdata", "absolute")]
    [InlineData("/data10/../etc", "'..'")]
    [InlineData("/data10/./pgdata", "'..'")]
    [InlineData("/data 10/pgdata", "spaces")]
    [InlineData("/data10/pg\ndata", "control")]
    [InlineData("/data10/$(reboot)", "may only contain")]
    [InlineData("/data10/pg;data", "may only contain")]
    [InlineData("/", "not a usable")]
    [InlineData("", "required")]
    public void Weird_data_dir_is_refused(string dir, string expected)
    {
        var c = Sample.Cluster();
        var errors = Errors(c with { Postgres = c.Postgres with { DataDir = dir } });
        AssertOnly(errors, "postgres.dataDir");
        Assert.Contains(expected, errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_bin_dir_is_refused()
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Postgres = c.Postgres with { BinDir = "usr/bin" } }), "postgres.binDir");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Ports_out_of_range(int port)
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Postgres = c.Postgres with { Port = port } }), "postgres.port");
        AssertOnly(Errors(c with { Node1 = c.Node1 with { SshPort = port } }), "node1.sshPort");
    }

    [Theory]
    [InlineData("-pg1")]
    [InlineData("pg1-")]
    [InlineData("pg_1")]
    [InlineData("pg1.example")]
    [InlineData("")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    public void Node_names_must_be_host_labels(string name)
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Node1 = c.Node1 with { Name = name } }), "node1.name");
    }

    [Theory]
    [InlineData("Postgres")]
    [InlineData("1pg")]
    [InlineData("pg-user")]
    [InlineData("pg user")]
    [InlineData("")]
    public void Os_user_and_role_names_must_be_identifiers(string name)
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Postgres = c.Postgres with { OsUser = name } }), "postgres.osUser");
        AssertOnly(Errors(c with { Postgres = c.Postgres with { ReplicationUser = name } }), "postgres.replicationUser");
        AssertOnly(Errors(c with { Postgres = c.Postgres with { MonitorUser = name } }), "postgres.monitorUser");
    }

    [Fact]
    public void Role_names_of_63_characters_pass_and_64_fail()
    {
        var c = Sample.Cluster();
        Assert.Empty(Errors(c with { Postgres = c.Postgres with { ReplicationUser = new string('r', 63) } }));
        AssertOnly(Errors(c with { Postgres = c.Postgres with { ReplicationUser = new string('r', 64) } }), "postgres.replicationUser");
    }

    [Fact]
    public void Monitor_and_replication_roles_must_differ()
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Postgres = c.Postgres with { MonitorUser = "repli" } }), "postgres.monitorUser");
    }

    [Fact]
    public void Invalid_ssh_user_is_refused()
    {
        var c = Sample.Cluster();
        AssertOnly(Errors(c with { Node2 = c.Node2 with { SshUser = "root;id" } }), "node2.sshUser");
    }

    [Theory]
    [InlineData("")]
    [InlineData("eth0:1")]
    [InlineData("a23456789012345x")]
    [InlineData("eth 0")]
    public void Interface_name_must_be_valid(string iface) =>
        AssertOnly(Errors(Sample.Cluster(iface: iface)), "vrrp.interface");

    [Fact]
    public void Interface_of_15_characters_is_accepted() =>
        Assert.Empty(Errors(Sample.Cluster(iface: "a23456789012345")));

    [Fact]
    public void Systemd_unit_is_required_when_systemd_controls_postgres()
    {
        var c = Sample.Cluster();
        var systemd = c.Postgres with { ServiceControl = ServiceControl.Systemd };
        AssertOnly(Errors(c with { Postgres = systemd }), "postgres.systemdUnit");
        AssertOnly(Errors(c with { Postgres = systemd with { SystemdUnit = "postgresql; reboot" } }), "postgres.systemdUnit");
        Assert.Empty(Errors(c with { Postgres = systemd with { SystemdUnit = "postgresql@15-main.service" } }));
    }

    [Fact]
    public void Node_auth_needs_a_key_or_a_password_when_secrets_are_given()
    {
        var c = Sample.Cluster();
        var n2 = c.Node2 with { AuthKind = SshAuthKind.Password };
        c = c with { Node2 = n2 };
        var secrets = new Dictionary<Guid, NodeSecrets>
        {
            [c.Node1.Id] = new() { Password = "only a password" },
            [c.Node2.Id] = new() { PrivateKey = "a key but the node uses a password" },
        };
        var errors = Errors(c, null, secrets);
        Assert.Equal(["node1.auth", "node2.auth"], errors.Select(e => e.Field).Order().ToArray());
        Assert.Contains("private key", errors.Single(e => e.Field == "node1.auth").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_problems_are_all_reported()
    {
        var c = Sample.Cluster();
        var errors = Errors(c with { WriteVip = c.Node1.Address, Postgres = c.Postgres with { DataDir = "rel", MajorVersion = 9 } }, GoodSecrets with { VrrpPassword = "toolongpassword" });
        Assert.Equal(["postgres.dataDir", "postgres.majorVersion", "vrrp.password", "writeVip"], errors.Select(e => e.Field).Order().ToArray());
    }

    [Fact]
    public void Control_characters_in_input_do_not_reach_the_message()
    {
        var c = Sample.Cluster();
        var errors = Errors(c with { Node1 = c.Node1 with { Name = "pg\n1\u001b[31m" } });
        Assert.DoesNotContain('\n', errors.Single().Message);
        Assert.DoesNotContain('\u001b', errors.Single().Message);
    }
}
