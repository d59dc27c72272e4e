using System.Net;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class IpAddrParserTests
{
    private static IReadOnlyList<IpInterface> ParseFixture(string name)
    {
        var result = IpAddrParser.Parse(Fixture.Read($"ip/{name}"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        return result.Value!;
    }

    [Fact]
    public void Root_namespace_interfaces()
    {
        var interfaces = ParseFixture("root-namespace.json.txt");
        Assert.Equal(["lo", "ifb0", "ifb1", "eth0"], interfaces.Select(i => i.Name));
        var lo = interfaces[0];
        Assert.Equal("UNKNOWN", lo.State);
        Assert.True(lo.IsUp);
        Assert.Equal("127.0.0.1", lo.Addresses[0].Local);
        Assert.Equal(8, lo.Addresses[0].PrefixLength);
        Assert.Equal("host", lo.Addresses[0].Scope);
        Assert.Null(lo.Addresses[1].Label);
        Assert.False(interfaces[1].IsUp);
        Assert.Empty(interfaces[1].Addresses);

        var eth0 = interfaces[3];
        Assert.Equal(4, eth0.Index);
        Assert.Equal("UP", eth0.State);
        Assert.Equal("02:fc:00:00:00:01", eth0.Mac);
        Assert.Equal(1400, eth0.Mtu);
        Assert.Equal("ether", eth0.LinkType);
        Assert.Equal(3, eth0.Addresses.Count);
        Assert.Equal(("inet", "192.0.2.2", 24, "eth0", "global"),
            (eth0.Addresses[0].Family, eth0.Addresses[0].Local, eth0.Addresses[0].PrefixLength, eth0.Addresses[0].Label, eth0.Addresses[0].Scope));
        Assert.Equal("inet6", eth0.Addresses[1].Family);
        Assert.Equal("link", eth0.Addresses[2].Scope);
    }

    [Fact]
    public void Holds_address_compares_addresses_not_strings()
    {
        var interfaces = ParseFixture("root-namespace.json.txt");
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "192.0.2.2"));
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "fd00:0:0:0:0:0:0:2"));
        Assert.True(IpAddrParser.HoldsAddress(interfaces, IPAddress.Parse("::ffff:192.0.2.2")));
        Assert.False(IpAddrParser.HoldsAddress(interfaces, "198.18.4.10"));
        Assert.False(IpAddrParser.HoldsAddress(interfaces, "not an address"));
        Assert.Equal("eth0", IpAddrParser.FindHolder(interfaces, IPAddress.Parse("fe80::fc:ff:fe00:1"))!.Name);
    }

    [Fact]
    public void Secondary_address_with_label()
    {
        var interfaces = ParseFixture("netns-secondary-label.json.txt");
        var d0 = interfaces.Single(i => i.Name == "d0");
        Assert.Equal(3, d0.Index);
        Assert.Equal("2e:ff:87:89:59:8e", d0.Mac);
        var primary = d0.Addresses.Single(a => a.Local == "198.18.4.250");
        Assert.False(primary.IsSecondary);
        Assert.Equal("d0", primary.Label);
        var secondary = d0.Addresses.Single(a => a.Local == "198.18.4.251");
        Assert.True(secondary.IsSecondary);
        Assert.Equal("d0:1", secondary.Label);
        Assert.Equal(24, secondary.PrefixLength);
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "198.18.4.251"));
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "fd00:198:18:4::250"));
    }

    [Fact]
    public void Keepalived_vips_are_found_on_their_holder()
    {
        var interfaces = ParseFixture("netns-keepalived-vips.json.txt");
        var holder = IpAddrParser.FindHolder(interfaces, IPAddress.Parse("198.18.4.10"));
        Assert.Equal("d0", holder!.Name);
        var vip = holder.Addresses.Single(a => a.Local == "198.18.4.10");
        Assert.Equal("d0:wvip", vip.Label);
        Assert.True(vip.IsSecondary);
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "198.18.4.11"));
        Assert.False(IpAddrParser.HoldsAddress(interfaces, "198.18.4.12"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Error: Unknown device type.")]
    [InlineData("{\"ifname\":\"lo\"}")]
    [InlineData("[{\"ifname\":\"lo\",")]
    public void Malformed_input_reports_an_error(string? text)
    {
        var result = IpAddrParser.Parse(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Entries_without_a_name_are_skipped_with_a_warning()
    {
        var result = IpAddrParser.Parse("[{},{\"ifindex\":7,\"ifname\":\"x\",\"addr_info\":[{\"family\":\"inet\"},{\"family\":\"inet\",\"local\":\"10.1.1.1\",\"prefixlen\":32}]}]");
        Assert.True(result.Succeeded);
        Assert.Single(result.Warnings);
        var x = Assert.Single(result.Value!);
        Assert.Equal(7, x.Index);
        Assert.Equal("10.1.1.1", Assert.Single(x.Addresses).Local);
    }

    [Fact]
    public void An_address_on_lo_is_not_held()
    {
        // An LVS-DR real server: both VIPs on lo (accepting what a director forwards), the node address on mgt.
        const string json = """
            [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"operstate":"UNKNOWN","link_type":"loopback","address":"00:00:00:00:00:00",
              "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"},
                           {"family":"inet","local":"198.18.4.252","prefixlen":32,"scope":"global","label":"lo:1"}]},
             {"ifindex":2,"ifname":"mgt","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","link_type":"ether","address":"0e:00:00:00:00:02",
              "addr_info":[{"family":"inet","local":"198.18.4.248","prefixlen":24,"scope":"global","label":"mgt"}]}]
            """;
        var interfaces = IpAddrParser.Parse(json).Value!;
        Assert.False(IpAddrParser.HoldsAddress(interfaces, "198.18.4.252"));
        Assert.Null(IpAddrParser.FindHolder(interfaces, IPAddress.Parse("198.18.4.252")));
        Assert.True(IpAddrParser.HoldsAddress(interfaces, "198.18.4.248"));
    }
}
