using PgHaConsole.Core.Adopt;

namespace PgHaConsole.Core.Tests.Adopt;

public sealed class HostSecretsReaderTests
{
    [Fact]
    public void Conninfo_keywords_bare_and_quoted_with_escapes()
    {
        var c = HostSecretsReader.ParseConninfo("host=198.18.4.247 port = 5432 user=repli password='it\\'s a \\\\ pass' application_name=pg2 passfile=/data10/.pghaconsole.pgpass")!;

        Assert.Equal("198.18.4.247", c["host"]);
        Assert.Equal("5432", c["port"]);
        Assert.Equal("it's a \\ pass", c["password"]);
        Assert.Equal("/data10/.pghaconsole.pgpass", c["passfile"]);
    }

    [Theory]
    [InlineData("host=a password='unterminated")]
    [InlineData("host")]
    [InlineData("=value")]
    public void Malformed_conninfo_is_null(string text) => Assert.Null(HostSecretsReader.ParseConninfo(text));

    [Fact]
    public void Empty_conninfo_has_no_keywords() => Assert.Empty(HostSecretsReader.ParseConninfo("  ")!);

    [Fact]
    public void Pgpass_takes_the_first_matching_line_with_wildcards_and_escapes()
    {
        const string file = """
            # comment
            198.18.4.248:5432:replication:repli:wrong-host
            198.18.4.247:5433:*:repli:wrong-port
            198.18.4.247:5432:*:repli:pa\:ss\\word
            *:*:*:repli:too-late
            """;

        Assert.Equal("pa:ss\\word", HostSecretsReader.PgPassPassword(file, "198.18.4.247", 5432, "replication", "repli"));
        Assert.Equal("too-late", HostSecretsReader.PgPassPassword(file, "10.0.0.1", 5432, "postgres", "repli"));
        Assert.Null(HostSecretsReader.PgPassPassword(file, "198.18.4.247", 5432, "replication", "someone"));
        Assert.Null(HostSecretsReader.PgPassPassword(null, "h", 5432, "d", "u"));
    }

    [Fact]
    public void Keepalived_auth_pass_values_distinct_and_comments_ignored()
    {
        const string conf = """
            vrrp_instance VI_1 {
                authentication {
                    auth_type PASS
                    auth_pass s3cret12   # the runbook's
                }
            }
            vrrp_instance VI_2 {
                authentication {
                    auth_pass s3cret12
                    # auth_pass commented
                }
            }
            """;

        Assert.Equal(["s3cret12"], HostSecretsReader.KeepalivedAuthPasses(conf));
        Assert.Empty(HostSecretsReader.KeepalivedAuthPasses(null));
    }
}
