using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Core.Tests.Rendering;

namespace PgHaConsole.Core.Tests.Rotate;

public sealed class SecretRotationTests
{
    [Theory]
    [InlineData("replication", RotatableSecret.Replication)]
    [InlineData("monitoring", RotatableSecret.Monitoring)]
    [InlineData("vrrp", RotatableSecret.Vrrp)]
    public void The_three_names_parse_and_round_trip(string name, RotatableSecret expected)
    {
        Assert.True(SecretRotation.TryParse(name, out var parsed));
        Assert.Equal(expected, parsed);
        Assert.Equal(name, SecretRotation.Name(parsed));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Replication")]
    [InlineData("root")]
    [InlineData(" vrrp")]
    public void Anything_else_is_not_a_secret_name(string? name) => Assert.False(SecretRotation.TryParse(name, out _));

    [Fact]
    public void A_valid_request_has_no_errors()
    {
        Assert.Empty(SecretRotation.ValidateRequest("replication", "prod-pair", "prod-pair"));
        Assert.Empty(SecretRotation.ValidateRequest("vrrp", "prod-pair", "prod-pair", "Ab3-x_9."));
        Assert.Empty(SecretRotation.ValidateRequest("monitoring", "prod-pair", "prod-pair", "0123456789abcdef"));
    }

    [Theory]
    [InlineData(null, "prod-pair", null, "secret")]
    [InlineData("root", "prod-pair", null, "secret")]
    [InlineData("replication", null, null, "confirm")]
    [InlineData("replication", "PROD-PAIR", null, "confirm")]
    [InlineData("replication", "prod-pair ", null, "confirm")]
    [InlineData("replication", "prod-pair", "short", "newSecret")]
    [InlineData("monitoring", "prod-pair", "0123456789abcde'", "newSecret")]
    [InlineData("replication", "prod-pair", "0123456789 abcdef", "newSecret")]
    [InlineData("replication", "prod-pair", "0123456789abcdef:x", "newSecret")]
    [InlineData("vrrp", "prod-pair", "123456789", "newSecret")]
    [InlineData("vrrp", "prod-pair", "", "newSecret")]
    [InlineData("vrrp", "prod-pair", "ab#cd", "newSecret")]
    public void Each_bad_value_is_named_by_its_field(string? secret, string? confirm, string? newSecret, string field)
    {
        var errors = SecretRotation.ValidateRequest(secret, confirm, "prod-pair", newSecret);
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        if (newSecret is { Length: > 0 })
        {
            // A refused secret is never echoed back.
            Assert.DoesNotContain(newSecret, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_new_secret_is_not_judged_for_an_unknown_secret_kind()
    {
        var errors = SecretRotation.ValidateRequest("nope", "x", "y", "z");
        Assert.Equal(["secret", "confirm"], errors.Select(e => e.Field));
    }

    [Fact]
    public void Generated_lengths_fit_each_place() =>
        Assert.Equal([32, 32, 8], new[] { RotatableSecret.Replication, RotatableSecret.Monitoring, RotatableSecret.Vrrp }.Select(SecretRotation.GeneratedLength));
}

public sealed class SecretRewritersTests
{
    [Fact]
    public void A_pgpass_file_gets_the_new_password_on_the_users_lines_only_and_keeps_everything_else()
    {
        const string text = "# the console's\n198.18.4.247:5432:replication:repli:old\\:pw\n198.18.4.248:5432:replication:repli:old\\:pw\n*:*:appdb:app:app-pw\nlocalhost:5432:postgres:repli2:other\r\n";
        var (rewritten, lines) = SecretRewriters.PgPass(text, "repli", "n3w:pa\\ss");

        Assert.Equal(2, lines);
        Assert.Equal("n3w:pa\\ss", HostSecretsReader.PgPassPassword(rewritten, "198.18.4.247", 5432, "replication", "repli"));
        Assert.Equal("n3w:pa\\ss", HostSecretsReader.PgPassPassword(rewritten, "198.18.4.248", 5432, "replication", "repli"));
        Assert.Equal("app-pw", HostSecretsReader.PgPassPassword(rewritten, "x", 5432, "appdb", "app"));
        Assert.Equal("other", HostSecretsReader.PgPassPassword(rewritten, "localhost", 5432, "postgres", "repli2"));
        Assert.StartsWith("# the console's\n198.18.4.247:5432:replication:repli:", rewritten, StringComparison.Ordinal);
        Assert.EndsWith("other\r\n", rewritten, StringComparison.Ordinal);
        Assert.DoesNotContain("old", rewritten, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_name_with_an_escaped_colon_is_matched_as_written()
    {
        var (rewritten, lines) = SecretRewriters.PgPass("h:5432:replication:re\\:pli:old\n", "re:pli", "new");
        Assert.Equal(1, lines);
        Assert.Equal("h:5432:replication:re\\:pli:new\n", rewritten);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("h:5432:replication:other:pw\n")]
    [InlineData("h:5432:replication\n")]
    public void Nothing_to_change_is_reported_as_zero_lines(string? text) => Assert.Equal(0, SecretRewriters.PgPass(text, "repli", "new").Lines);

    [Fact]
    public void The_console_rendered_pass_file_rewritten_equals_a_fresh_render()
    {
        var cluster = Sample.Cluster(15);
        var (rewritten, lines) = SecretRewriters.PgPass(RecoveryConfigRenderer.PassFileContent(cluster, "old"), cluster.Postgres.ReplicationUser, "new");
        Assert.Equal(4, lines);
        Assert.Equal(RecoveryConfigRenderer.PassFileContent(cluster, "new"), rewritten);
    }

    [Fact]
    public void Keepalived_auth_pass_is_replaced_in_every_instance_keeping_indentation_and_comments()
    {
        const string conf = "vrrp_instance W {\n    authentication {\n        auth_type PASS\n        auth_pass oldpass1 # set by hand\n    }\n}\nvrrp_instance R {\n\tauth_pass \"oldpass1\"\n    ! auth_pass commented\n}\n";
        var (text, lines) = SecretRewriters.KeepalivedAuthPass(conf, "Nw8x2kQa");

        Assert.Equal(2, lines);
        Assert.Equal(["Nw8x2kQa"], HostSecretsReader.KeepalivedAuthPasses(text));
        Assert.Contains("        auth_pass Nw8x2kQa # set by hand\n", text, StringComparison.Ordinal);
        Assert.Contains("\tauth_pass Nw8x2kQa\n", text, StringComparison.Ordinal);
        Assert.Contains("    ! auth_pass commented\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("oldpass1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_console_rendered_keepalived_configuration_rewritten_equals_a_fresh_render()
    {
        // So the wizard's next run finds its file as it would write it: no needless reload after a rotation.
        var cluster = Sample.Cluster(15);
        var paths = new Keepalived.KeepalivedPaths();
        var (rewritten, lines) = SecretRewriters.KeepalivedAuthPass(Keepalived.KeepalivedConfigRenderer.Render(cluster, cluster.Node1, "oldpass1", paths), "Nw8x2kQa");
        Assert.Equal(2, lines);
        Assert.Equal(Keepalived.KeepalivedConfigRenderer.Render(cluster, cluster.Node1, "Nw8x2kQa", paths), rewritten);
    }

    [Fact]
    public void A_keepalived_configuration_without_auth_pass_changes_nothing()
    {
        const string conf = "vrrp_instance W {\n    version 3\n    auth_passx y\n}\n";
        Assert.Equal((conf, 0), SecretRewriters.KeepalivedAuthPass(conf, "new"));
    }

    [Fact]
    public void An_inline_conninfo_password_is_replaced_and_the_other_keywords_kept_in_order()
    {
        var replaced = SecretRewriters.ConninfoPassword("host=198.18.4.247 port=5432 user=repli password='it\\'s old' application_name=pg2", "N3w-pass");
        Assert.Equal("host=198.18.4.247 port=5432 user=repli password=N3w-pass application_name=pg2", replaced);
        Assert.Null(SecretRewriters.ConninfoPassword("host=a user=repli passfile=/x", "new"));
        Assert.Null(SecretRewriters.ConninfoPassword("host='broken", "new"));
    }
}

public sealed class RotationPlanTests
{
    private static readonly ClusterSpec Cluster = Sample.Cluster(15);

    private static int IndexOf(IReadOnlyList<RotationAction> plan, Func<RotationAction, bool> match)
    {
        var i = plan.ToList().FindIndex(a => match(a));
        Assert.True(i >= 0, "not in the plan: " + string.Join(" | ", plan.Select(a => a.Host + ": " + a.What)));
        return i;
    }

    [Fact]
    public void Replication_changes_the_role_before_the_pass_files_the_standbys_first_then_reconnects_and_commits_last()
    {
        var plan = RotationPlan.For(RotatableSecret.Replication, Cluster, Cluster.Node1, Cluster.Node2, "/data10/.pghaconsole.pgpass");
        var store = IndexOf(plan, a => a.What.StartsWith("generate", StringComparison.Ordinal));
        var role = IndexOf(plan, a => a.What.StartsWith("ALTER ROLE", StringComparison.Ordinal) && a.Host == Cluster.Node1.Name);
        var standbyFile = IndexOf(plan, a => a.Host == Cluster.Node2.Name && a.What.StartsWith("/data10/.pghaconsole.pgpass", StringComparison.Ordinal));
        var primaryFile = IndexOf(plan, a => a.Host == Cluster.Node1.Name && a.What.StartsWith("/data10/.pghaconsole.pgpass", StringComparison.Ordinal));
        var reconnect = IndexOf(plan, a => a.What.StartsWith("terminate the walsender", StringComparison.Ordinal));
        var commit = IndexOf(plan, a => a.What.StartsWith("the new password becomes", StringComparison.Ordinal));
        Assert.True(store < role && role < standbyFile && standbyFile < primaryFile && primaryFile < reconnect && reconnect < commit);
        Assert.Equal(plan.Count - 1, commit);
    }

    [Fact]
    public void Vrrp_tests_both_configurations_before_installing_and_reloads_both_in_one_action()
    {
        var plan = RotationPlan.For(RotatableSecret.Vrrp, Cluster, Cluster.Node1, Cluster.Node2, "unused");
        var tests = plan.Select((a, i) => (a, i)).Where(x => x.a.What.Contains("keepalived -t", StringComparison.Ordinal)).Select(x => x.i).ToList();
        var reload = IndexOf(plan, a => a.What.Contains("reloaded", StringComparison.Ordinal));
        Assert.Equal(2, tests.Count);
        Assert.True(tests.Max() < reload);
        Assert.Contains(Cluster.Node1.Name, plan[reload].Host, StringComparison.Ordinal);
        Assert.Contains(Cluster.Node2.Name, plan[reload].Host, StringComparison.Ordinal);
        Assert.True(reload < IndexOf(plan, a => a.What.StartsWith("verify", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(BalancerMode.Haproxy, 0)]
    [InlineData(BalancerMode.LvsDr, 2)]
    public void Monitoring_touches_the_lvs_check_pass_file_only_in_lvs_dr_mode(BalancerMode mode, int files)
    {
        var plan = RotationPlan.For(RotatableSecret.Monitoring, Cluster with { Balancer = mode }, Cluster.Node1, Cluster.Node2, "unused");
        Assert.Equal(files, plan.Count(a => a.What.Contains("real-server check", StringComparison.Ordinal)));
        Assert.True(IndexOf(plan, a => a.What.StartsWith("ALTER ROLE", StringComparison.Ordinal)) < IndexOf(plan, a => a.What.StartsWith("verify", StringComparison.Ordinal)));
    }
}

public sealed class VrrpObservationTests
{
    private static IReadOnlyList<string> Check(params VipSample[] samples) => VrrpObservation.Problems(samples, "pg1", "10.0.0.251", "10.0.0.252");

    [Fact]
    public void One_holder_each_with_the_write_vip_on_the_primary_is_right()
    {
        Assert.Empty(Check(new("pg1", true, false), new("pg2", false, true)));
        Assert.Empty(Check(new("pg1", true, true), new("pg2", false, false)));
    }

    [Fact]
    public void Two_masters_nobody_or_the_wrong_node_are_each_named()
    {
        Assert.Equal(["write VIP 10.0.0.251 held by pg1 and pg2", "read VIP 10.0.0.252 held by pg1 and pg2"], Check(new("pg1", true, true), new("pg2", true, true)));
        Assert.Equal(["write VIP 10.0.0.251 held by nobody", "read VIP 10.0.0.252 held by nobody"], Check(new("pg1", false, false), new("pg2", false, false)));
        Assert.Equal(["write VIP 10.0.0.251 on pg2, not on the primary pg1"], Check(new("pg1", false, true), new("pg2", true, false)));
    }
}

public sealed class SecretPlacesTests
{
    [Fact]
    public void Places_are_classified_and_described_without_any_value()
    {
        Assert.Equal(PlaceHolds.New, SecretPlace.Classify("n", "o", "n"));
        Assert.Equal(PlaceHolds.Old, SecretPlace.Classify("o", "o", "n"));
        Assert.Equal(PlaceHolds.Other, SecretPlace.Classify("x", "o", "n"));
        Assert.Equal(PlaceHolds.Other, SecretPlace.Classify("x", null, "n"));
        Assert.Equal(PlaceHolds.Absent, SecretPlace.Classify(null, "o", "n"));

        var places = new[]
        {
            new SecretPlace("role repli on pg1", PlaceHolds.New),
            new SecretPlace("pg2:/data10/.pghaconsole.pgpass", PlaceHolds.Old),
            new SecretPlace("pg1", PlaceHolds.Unknown, "not readable: SshException"),
        };
        Assert.Equal("role repli on pg1: NEW secret; pg2:/data10/.pghaconsole.pgpass: OLD secret; pg1: unknown (not readable) (not readable: SshException)", SecretPlace.Describe(places));
        Assert.False(SecretPlace.AllNew(places));
        Assert.True(SecretPlace.AllNew([new("a", PlaceHolds.New), new("b", PlaceHolds.Absent)]));
        Assert.False(SecretPlace.AllNew([new("b", PlaceHolds.Absent)]));
    }
}
