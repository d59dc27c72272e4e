using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class QuotingTests
{
    [Theory]
    [InlineData("198.18.4.11", "198.18.4.11")]
    [InlineData("", "''")]
    [InlineData("two words", "'two words'")]
    [InlineData("it's", @"'it\'s'")]
    [InlineData(@"back\slash", @"'back\\slash'")]
    [InlineData(@"\'", @"'\\\''")]
    [InlineData("a=b", "'a=b'")]
    [InlineData("x' password=stolen", @"'x\' password=stolen'")]
    public void Conninfo_quote_escapes_quote_and_backslash(string value, string expected) =>
        Assert.Equal(expected, Conninfo.Quote(value));

    [Fact]
    public void Conninfo_refuses_nul_and_bad_keywords()
    {
        Assert.Throws<ArgumentException>(() => Conninfo.Quote("a\0b"));
        Assert.Throws<ArgumentException>(() => Conninfo.Build([new("host x", "y")]));
    }

    [Fact]
    public void Primary_conninfo_has_passfile_and_no_password()
    {
        var text = new PrimaryConninfo
        {
            Host = "198.18.4.11",
            Port = 5433,
            User = "repli",
            ApplicationName = "pg2",
            PassFile = "/data10/.pghaconsole.pgpass",
            SslMode = "prefer",
        }.ToString();
        Assert.Equal("host=198.18.4.11 port=5433 user=repli application_name=pg2 passfile=/data10/.pghaconsole.pgpass sslmode=prefer connect_timeout=5", text);
        Assert.DoesNotContain("password=", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Libpq_reads_a_hostile_quoted_host_back_unchanged()
    {
        // psql reports the socket path it tried: the directory must come back exactly as given, quote and space included.
        var psql = Directory.GetFiles("/usr/lib/postgresql", "psql", SearchOption.AllDirectories).Order().First();
        var dir = "/nonexistent/it's a \\dir";
        var conninfo = Conninfo.Build([new("host", dir), new("port", "5999"), new("connect_timeout", "1")]);
        var result = await Tool.RunAsync(psql, ["-X", "-w", "-d", conninfo, "-c", "select 1"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(dir + "/.s.PGSQL.5999", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("198.18.4.11", 5432, "replication", "repli", "plain", "198.18.4.11:5432:replication:repli:plain")]
    [InlineData("h", 1, "db", "u", "pa:ss", @"h:1:db:u:pa\:ss")]
    [InlineData("h", 1, "db", "u", @"pa\ss", @"h:1:db:u:pa\\ss")]
    [InlineData("h", 1, "d:b", "u\\", @"\:", @"h:1:d\:b:u\\:\\\:")]
    [InlineData("h", 1, "db", "u", "it's $(id) `x` ;", "h:1:db:u:it's $(id) `x` ;")]
    public void Pgpass_line_escapes_colon_and_backslash(string host, int port, string db, string user, string password, string expected) =>
        Assert.Equal(expected, PgPass.Line(host, port, db, user, password));

    [Fact]
    public void Pgpass_refuses_line_breaks() =>
        Assert.Throws<ArgumentException>(() => PgPass.Line("h", 1, "db", "u", "a\nb"));

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", "'it''s'")]
    [InlineData(@"a\b", @"'a\\b'")]
    [InlineData("''", "''''''")]
    public void Guc_file_quoting(string value, string expected) => Assert.Equal(expected, GucValue.QuoteForFile(value));

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", "'it''s'")]
    [InlineData(@"a\b", @"E'a\\b'")]
    [InlineData(@"it's a\", @"E'it''s a\\'")]
    public void Guc_sql_quoting(string value, string expected) => Assert.Equal(expected, GucValue.QuoteForSql(value));

    [Fact]
    public void Guc_quoting_refuses_line_breaks()
    {
        Assert.Throws<ArgumentException>(() => GucValue.QuoteForFile("a\nb"));
        Assert.Throws<ArgumentException>(() => GucValue.QuoteForSql("a\rb"));
    }

    [Theory]
    [InlineData("wal_level", "wal_level")]
    [InlineData("Odd", "\"Odd\"")]
    [InlineData("a\"b", "\"a\"\"b\"")]
    public void Identifiers_are_quoted_only_when_needed(string name, string expected) =>
        Assert.Equal(expected, GucValue.QuoteIdentifier(name));
}
