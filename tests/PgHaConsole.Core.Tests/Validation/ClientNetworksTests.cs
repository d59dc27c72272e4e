using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Tests.Validation;

/// <summary>The application's client networks as the wizard and the API take them.</summary>
public sealed class ClientNetworksTests
{
    [Theory]
    [InlineData("10.20.0.0/16", "10.20.0.0/16")]
    [InlineData(" 198.18.4.1/32 ", "198.18.4.1/32")]
    [InlineData("2001:DB8:42::/48", "2001:db8:42::/48")]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001/128", "2001:db8::1/128")]
    [InlineData("fe80::/10", "fe80::/10")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("::/0", "::/0")]
    public void Valid_networks_in_canonical_form(string text, string expected)
    {
        Assert.True(ClientNetworks.TryParse(text, out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("10.20.0.0", "no prefix length")]
    [InlineData("10.20.0.0/33", "0-32")]
    [InlineData("2001:db8::/129", "0-128")]
    [InlineData("10.20.0.0/016", "prefix length")]
    [InlineData("10.20.0.0/-1", "prefix length")]
    [InlineData("10.20.0.0/", "prefix length")]
    [InlineData("10.20.1.0/16", "the network is 10.20.0.0/16")]
    [InlineData("2001:db8::1/64", "the network is 2001:db8::/64")]
    [InlineData("10.020.0.0/16", "not an IPv4 address")]
    [InlineData("10.20/16", "not an IPv4 address")]
    [InlineData("256.1.1.0/24", "not an IPv4 address")]
    [InlineData("fe80::1%eth0/128", "not an IPv4 address")]
    [InlineData("example.com/24", "not an IPv4 address")]
    [InlineData("0.0.0.0/0 trust\nhost", "prefix length")]
    [InlineData("", "empty")]
    public void Invalid_networks_say_why(string text, string reason)
    {
        Assert.False(ClientNetworks.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_are_keyed_by_entry()
    {
        var errors = ClientNetworks.Validate(["10.0.0.0/8", "10.0.0.0/33", "10.0.0.0/8"], allowAnyAddress: false);
        Assert.Equal(["clientCidrs[1]", "clientCidrs[2]"], errors.Select(e => e.Field));
        Assert.Contains("listed twice", errors[1].Message, StringComparison.Ordinal);
        Assert.Empty(ClientNetworks.Validate(null, false));
        Assert.Empty(ClientNetworks.Validate([], false));
        Assert.Equal("clientCidrs", Assert.Single(ClientNetworks.Validate([.. Enumerable.Range(0, 65).Select(i => $"10.{i}.0.0/16")], false)).Field);
    }

    [Theory]
    [InlineData("0.0.0.0/0", "IPv4")]
    [InlineData("::/0", "IPv6")]
    public void Any_address_needs_the_explicit_confirmation(string any, string family)
    {
        var refused = Assert.Single(ClientNetworks.Validate(["10.0.0.0/8", any], allowAnyAddress: false));
        Assert.Equal("clientCidrs[1]", refused.Field);
        Assert.Contains($"every {family} address", refused.Message, StringComparison.Ordinal);
        Assert.Contains(ClientNetworks.AllowAnyField, refused.Message, StringComparison.Ordinal);
        Assert.Empty(ClientNetworks.Validate(["10.0.0.0/8", any], allowAnyAddress: true));
        Assert.True(ClientNetworks.IsAnyAddress(any));
        Assert.False(ClientNetworks.IsAnyAddress("10.0.0.0/8"));
    }

    [Fact]
    public void The_wizard_field_splits_on_lines_commas_and_spaces()
    {
        Assert.Equal(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"], ClientNetworks.Split(" 10.0.0.0/8,192.168.1.0/24\r\n\n 2001:db8::/32 "));
        Assert.Empty(ClientNetworks.Split("  \n "));
        Assert.Equal(["10.0.0.0/8"], ClientNetworks.Normalize(["10.0.0.0/8", " 10.0.0.0/8"]));
        Assert.Throws<ArgumentException>(() => ClientNetworks.Normalize(["10.0.0.1/8"]));
    }
}
