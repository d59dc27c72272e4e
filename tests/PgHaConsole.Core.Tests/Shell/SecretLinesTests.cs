using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Text;

namespace PgHaConsole.Core.Tests.Shell;

/// <summary>
/// Issue #15 item 4: a plan (which a Viewer may read) shows the hosts' current files in its diffs; secrets the
/// console does not hold — an old or foreign auth_pass, another role's .pgpass password — must not show in clear.
/// </summary>
public sealed class SecretLinesTests
{
    // The console knows none of these: an empty masker, as for a file written by someone else.
    private static readonly SecretMasker Empty = new();

    [Fact]
    public void A_foreign_keepalived_auth_pass_in_the_current_file_is_masked()
    {
        const string current = """
            vrrp_instance VI_1 {
                state MASTER
                authentication {
                    auth_type PASS
                    auth_pass 0ldS3cr
                }
            }
            """;
        const string desired = """
            vrrp_instance pghaconsole_write {
                authentication {
                    auth_type PASS
                    auth_pass newpass1
                }
            }
            """;
        var action = PlannedAction.ForFile("pg1", "/etc/keepalived/keepalived.conf", UnifiedDiff.Render("/etc/keepalived/keepalived.conf", current, desired), Empty);

        Assert.DoesNotContain("0ldS3cr", action.Diff, StringComparison.Ordinal);
        Assert.DoesNotContain("newpass1", action.Diff, StringComparison.Ordinal);
        Assert.Contains("-        auth_pass ******", action.Diff, StringComparison.Ordinal);
        Assert.Contains("auth_type PASS", action.Diff, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_password_of_a_pgpass_file_is_masked_whatever_its_value()
    {
        const string current = """
            # other tools
            *:5432:*:backup:b4ckup:with\:colon
            198.18.4.247:5432:replication:replicator:oldpw
            """;
        const string desired = "198.18.4.247:5432:replication:replicator:newpw\n";
        var action = PlannedAction.ForFile("pg2", "/var/lib/postgresql/.pgpass", UnifiedDiff.Render("/var/lib/postgresql/.pgpass", current, desired), Empty);

        foreach (var secret in new[] { "b4ckup", "colon", "oldpw", "newpw" })
        {
            Assert.DoesNotContain(secret, action.Diff, StringComparison.Ordinal);
        }

        Assert.Contains("-198.18.4.247:5432:replication:replicator:******", action.Diff, StringComparison.Ordinal);
        Assert.Contains("-# other tools", action.Diff, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("primary_conninfo = 'host=198.18.4.247 user=replicator password=Xy9z application_name=pg2'", "Xy9z", "application_name=pg2")]
    [InlineData("primary_conninfo = 'host=h password = \"a b c\" user=r'", "a b c", "user=r")]
    [InlineData("export PGPASSWORD=hunter2", "hunter2", "export PGPASSWORD=******")]
    [InlineData("    stats auth admin:St4tsPw", "St4tsPw", "stats auth admin:******")]
    [InlineData("    user ops insecure-password plain1", "plain1", "user ops insecure-password ******")]
    [InlineData("  AUTH_PASS  Upper1", "Upper1", "AUTH_PASS  ******")]
    public void Secret_bearing_lines_of_configuration_files_are_masked(string line, string secret, string kept)
    {
        var masked = SecretLines.MaskLine("/etc/some.conf", line);
        Assert.DoesNotContain(secret, masked, StringComparison.Ordinal);
        Assert.Contains(kept, masked, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_without_secrets_and_diff_headers_are_kept()
    {
        var diff = "--- a/etc/haproxy/haproxy.cfg\n+++ b/etc/haproxy/haproxy.cfg\n@@ -1,2 +1,2 @@\n listen pg_read\n-    bind 198.18.4.252:5432\n+    bind 198.18.4.252:5433";
        Assert.Equal(diff, SecretLines.MaskDiff("/etc/haproxy/haproxy.cfg", diff));
    }
}
