using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class PgHbaEditorTests
{
    private const string Debian = """
        # PostgreSQL Client Authentication Configuration File
        # ===================================================
        #
        # Database administrative login by Unix domain socket
        local   all             postgres                                peer

        # TYPE  DATABASE        USER            ADDRESS                 METHOD

        # "local" is for Unix domain socket connections only
        local   all             all                                     peer
        # IPv4 local connections:
        host    all             all             127.0.0.1/32            scram-sha-256
        # Allow replication connections from localhost, by a user with the
        # replication privilege.
        local   replication     all                                     peer
        host    replication     all             127.0.0.1/32            scram-sha-256

        """;

    // LVS-DR: the application's network is its only line (HAProxy adds the node addresses: ClientAccessTests).
    private static IReadOnlyList<HbaLine> Desired() => PgHbaEditor.DesiredLines(Sample.Cluster(balancer: Core.Model.BalancerMode.LvsDr), ["198.18.4.0/24"]);

    [Fact]
    public void Desired_lines_for_the_pair()
    {
        var lines = Desired().Select(l => l.ToString()).ToArray();
        Assert.Equal(5, lines.Length);
        Assert.Contains(Desired(), l => l == new HbaLine("host", "replication", "repli", "198.18.4.11/32", "scram-sha-256"));
        Assert.Contains(Desired(), l => l == new HbaLine("host", "replication", "repli", "198.18.4.12/32", "scram-sha-256"));
        Assert.Contains(Desired(), l => l == new HbaLine("host", "all", "pghaconsole_monitor", "198.18.4.12/32", "scram-sha-256"));
        Assert.Contains(Desired(), l => l == new HbaLine("host", "all", "all", "198.18.4.0/24", "scram-sha-256"));
        Assert.Throws<ArgumentException>(() => PgHbaEditor.DesiredLines(Sample.Cluster(), ["0.0.0.0/0 trust\nhost"]));
    }

    [Fact]
    public void Appends_only_missing_lines_in_a_marked_block_and_keeps_the_rest()
    {
        var result = PgHbaEditor.Apply(Debian, Desired());
        Assert.True(result.Changed);
        Assert.StartsWith(Debian, result.Text, StringComparison.Ordinal);
        var tail = result.Text[Debian.Length..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith(PgHbaEditor.BeginMarker, tail[0], StringComparison.Ordinal);
        Assert.Equal(PgHbaEditor.EndMarker, tail[^1]);
        Assert.Equal(5, tail.Length - 2);
        Assert.Equal(5, result.Added.Count);
    }

    [Fact]
    public void Second_application_is_identical()
    {
        var once = PgHbaEditor.Apply(Debian, Desired()).Text;
        var twice = PgHbaEditor.Apply(once, Desired());
        Assert.False(twice.Changed);
        Assert.Equal(once, twice.Text);
        Assert.Empty(PgHbaEditor.Plan(once, Desired()));
    }

    [Fact]
    public void An_equivalent_line_anywhere_counts_whatever_its_spacing_case_or_comment()
    {
        var existing = Debian
            + "host\treplication repli   198.18.4.11/32 SCRAM-SHA-256   # added by hand\n"
            + "host replication repli 198.18.4.12 255.255.255.255 scram-sha-256\n";
        var result = PgHbaEditor.Apply(existing, Desired());
        Assert.DoesNotContain(result.Added, l => l.Database == "replication");
        Assert.Equal(3, result.Added.Count);
        Assert.StartsWith(existing, result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_commented_out_line_does_not_count()
    {
        var existing = "# host replication repli 198.18.4.11/32 scram-sha-256\n";
        var result = PgHbaEditor.Apply(existing, Desired());
        Assert.Contains(result.Added, l => l.Address == "198.18.4.11/32" && l.Database == "replication");
    }

    [Fact]
    public void New_lines_go_into_the_existing_block_not_a_second_one()
    {
        var c = Sample.Cluster();
        var first = PgHbaEditor.Apply(Debian, PgHbaEditor.DesiredLines(c)).Text;
        var second = PgHbaEditor.Apply(first, PgHbaEditor.DesiredLines(c, ["198.18.4.0/24"])).Text;
        Assert.Equal(1, second.Split('\n').Count(l => l.StartsWith(PgHbaEditor.BeginMarker, StringComparison.Ordinal)));
        var lines = second.Split('\n');
        Assert.True(Array.FindIndex(lines, l => l.Contains("198.18.4.0/24", StringComparison.Ordinal)) < Array.IndexOf(lines, PgHbaEditor.EndMarker));
        Assert.Equal(second, PgHbaEditor.Apply(second, PgHbaEditor.DesiredLines(c, ["198.18.4.0/24"])).Text);
    }

    [Fact]
    public void File_without_final_newline_and_empty_file()
    {
        var r1 = PgHbaEditor.Apply("local all all peer", Desired());
        Assert.StartsWith("local all all peer\n# BEGIN PgHaConsole", r1.Text, StringComparison.Ordinal);
        var r2 = PgHbaEditor.Apply("", Desired());
        Assert.StartsWith("# BEGIN PgHaConsole", r2.Text, StringComparison.Ordinal);
        Assert.Equal(r2.Text, PgHbaEditor.Apply(r2.Text, Desired()).Text);
    }

    [Fact]
    public void Earlier_line_with_another_method_is_reported_as_shadowing()
    {
        var existing = "host replication repli 198.18.4.11/32 reject\n";
        var result = PgHbaEditor.Apply(existing, Desired());
        var shadowed = Assert.Single(result.Shadowed);
        Assert.Equal("198.18.4.11/32", shadowed.Address);
        Assert.Contains(PgHbaEditor.Plan(existing, Desired()), p => p.StartsWith("! ", StringComparison.Ordinal));
    }

    [Fact]
    public void Plan_lists_the_lines_to_add()
    {
        var plan = PgHbaEditor.Plan(Debian, Desired());
        Assert.Equal(5, plan.Count);
        Assert.All(plan, p => Assert.StartsWith("+ host", p, StringComparison.Ordinal));
    }
}
