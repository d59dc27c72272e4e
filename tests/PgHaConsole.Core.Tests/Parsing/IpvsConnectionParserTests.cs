using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class IpvsConnectionParserTests
{
    [Fact]
    public void Published_fullnat_connection_table()
    {
        var result = IpvsConnectionParser.Parse(Fixture.Read("ipvsadm/lnc-fullnat.txt"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(2, result.Value!.Entries.Count);
        var first = result.Value.Entries[0];
        Assert.Equal("TCP", first.Protocol);
        Assert.Equal(TimeSpan.FromSeconds(1), first.Expires);
        Assert.Equal("C0A8C86D", first.State);
        Assert.Equal("192.168.0.109:36519", first.Source.Text);
        Assert.Equal(8080, first.Virtual.Port);
        Assert.Equal("192.168.200.108", first.Destination.Host);
        Assert.Equal(23542, result.Value.Entries[1].Destination.Port);
        Assert.Equal(2, result.Value.ConnectionsByDestination.Values.Sum());
    }

    [Fact]
    public void Dr_connection_table_with_states_templates_ipv6_and_long_expiry()
    {
        var table = IpvsConnectionParser.Parse(Fixture.Read("ipvsadm/constructed-lnc-dr.txt")).Value!;
        Assert.Equal(6, table.Entries.Count);
        Assert.Equal(TimeSpan.FromSeconds((14 * 60) + 59), table.Entries[0].Expires);
        Assert.Equal("FIN_WAIT", table.Entries[2].State);
        Assert.True(table.Entries[3].Destination.IsIPv6);
        Assert.Equal(5432, table.Entries[3].Virtual.Port);
        Assert.True(table.Entries[4].IsTemplate);
        Assert.Equal("IP", table.Entries[4].Protocol);
        Assert.Equal(TimeSpan.FromHours(2), table.Entries[5].Expires);

        // Templates are not connections: pg1 has two live ones and one template, pg2 two.
        Assert.Equal(2, table.ConnectionsByDestination["198.18.4.247:5432"]);
        Assert.Equal(2, table.ConnectionsByDestination["198.18.4.248:5432"]);
        Assert.False(table.ConnectionsByDestination.ContainsKey("198.18.4.247:0"));
    }

    [Fact]
    public void An_empty_table_is_a_table()
    {
        var result = IpvsConnectionParser.Parse("IPVS connection entries\npro expire state       source             virtual            destination\n");
        Assert.True(result.Succeeded);
        Assert.Empty(result.Value!.Entries);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\nTCP  10.0.0.1:80 rr\n")]
    [InlineData("Can't initialize ipvs: Protocol not available\n")]
    public void A_listing_or_nothing_is_not_a_connection_table(string? text)
    {
        var result = IpvsConnectionParser.Parse(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Bad_rows_are_skipped_with_warnings()
    {
        var result = IpvsConnectionParser.Parse(
            "IPVS connection entries\npro expire state source virtual destination\nTCP 1:5 ESTABLISHED 10.0.0.1:1 10.0.0.2:2 10.0.0.3:3\nTCP 00:61 NONE 10.0.0.1:1 10.0.0.2:2 10.0.0.3:3\nTCP 00:10 NONE 10.0.0.1:1 10.0.0.2:2 10.0.0.3:3\n");
        Assert.True(result.Succeeded);
        Assert.Single(result.Value!.Entries);
        Assert.Equal(2, result.Warnings.Count);
    }
}
