using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class HaproxyStatParserTests
{
    private static IReadOnlyList<HaproxyStatRow> Rows()
    {
        var result = HaproxyStatParser.Parse(Fixture.Read("haproxy/show-stat-2.6.txt"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        return result.Value!;
    }

    [Fact]
    public void Servers_in_every_state()
    {
        var rows = Rows();
        Assert.Equal(11, rows.Count);
        var pg1 = rows.Single(r => r.Proxy == "pg_read" && r.Name == "pg1");
        Assert.Equal(HaproxyRowType.Server, pg1.Type);
        Assert.Equal(HaproxyStatus.Up, pg1.Status);
        Assert.Equal("L4OK", pg1.CheckStatus);
        Assert.Equal(0, pg1.CurrentSessions);
        Assert.Equal(2, pg1.TotalSessions);
        Assert.Equal(36, pg1.BytesIn);
        Assert.Equal(114, pg1.BytesOut);
        Assert.Equal(1, pg1.Weight);

        var pg2 = rows.Single(r => r.Proxy == "pg_read" && r.Name == "pg2");
        Assert.Equal(HaproxyStatus.Down, pg2.Status);
        Assert.Equal("L4CON", pg2.CheckStatus);
        Assert.Equal(0, pg2.BytesIn);

        var pg3 = rows.Single(r => r.Proxy == "pg_read" && r.Name == "pg3");
        Assert.Equal(HaproxyStatus.Maintenance, pg3.Status);
        Assert.Null(pg3.CheckStatus);

        var pg4 = rows.Single(r => r.Proxy == "pg_read" && r.Name == "pg4");
        Assert.Equal(HaproxyStatus.NoCheck, pg4.Status);
        Assert.Equal("no check", pg4.StatusText);
        Assert.Equal(18, pg4.BytesIn);
    }

    [Fact]
    public void Frontends_backends_and_current_sessions()
    {
        var rows = Rows();
        var writeFrontend = rows.Single(r => r.Proxy == "pg_write");
        Assert.Equal(HaproxyRowType.Frontend, writeFrontend.Type);
        Assert.Equal(HaproxyStatus.Open, writeFrontend.Status);
        Assert.Equal(1, writeFrontend.CurrentSessions);
        Assert.Equal(9983, writeFrontend.SessionLimit);
        var writeServer = rows.Single(r => r.Proxy == "be_write" && r.Name == "pg1");
        Assert.Equal(1, writeServer.CurrentSessions);
        Assert.Equal(HaproxyStatus.Up, writeServer.Status);
        var backend = rows.Single(r => r.Proxy == "pg_read" && r.Name == "BACKEND");
        Assert.Equal(HaproxyRowType.Backend, backend.Type);
        Assert.Equal(171, backend.BytesOut);
        Assert.Equal("2", backend.Fields["act"]);
    }

    [Fact]
    public void Rows_group_into_proxies()
    {
        var proxies = HaproxyStatParser.GroupByProxy(Rows());
        Assert.Equal(["pg_read", "pg_write", "be_write", "fake_pg1"], proxies.Select(p => p.Name));
        var read = proxies[0];
        Assert.NotNull(read.Frontend);
        Assert.NotNull(read.Backend);
        Assert.Equal(["pg1", "pg2", "pg3", "pg4"], read.Servers.Select(s => s.Name));
        Assert.Null(proxies[1].Backend);
        Assert.Null(proxies[2].Frontend);
    }

    [Theory]
    [InlineData("UP 1/3", HaproxyStatus.Up)]
    [InlineData("DOWN 1/2", HaproxyStatus.Down)]
    [InlineData("MAINT (via pg_read/pg1)", HaproxyStatus.Maintenance)]
    [InlineData("DRAIN", HaproxyStatus.Drain)]
    [InlineData("STOP", HaproxyStatus.Stopped)]
    [InlineData("", HaproxyStatus.Other)]
    public void Transitional_statuses(string text, HaproxyStatus expected) => Assert.Equal(expected, HaproxyStatParser.ParseStatus(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Unknown command. Please enter one of the following commands only :\n")]
    [InlineData("Permission denied\n")]
    public void Not_csv_fails_without_throwing(string? text)
    {
        var result = HaproxyStatParser.Parse(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Short_rows_keep_what_they_have()
    {
        var result = HaproxyStatParser.Parse("# pxname,svname,qcur,qmax,scur\npx,srv,0,0,\nbroken\n");
        Assert.True(result.Succeeded);
        Assert.Single(result.Warnings);
        var row = Assert.Single(result.Value!);
        Assert.Null(row.CurrentSessions);
        Assert.Equal(HaproxyStatus.Other, row.Status);
    }
}
