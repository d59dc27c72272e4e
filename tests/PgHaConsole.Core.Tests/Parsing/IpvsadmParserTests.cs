using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class IpvsadmParserTests
{
    private static IpvsTable ParseFixture(string name, IpvsListingKind hint = IpvsListingKind.Unknown)
    {
        var result = IpvsadmParser.Parse(Fixture.Read($"ipvsadm/{name}"), hint);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        return result.Value!;
    }

    [Fact]
    public void Ipvs_missing_in_kernel_is_reported_as_a_state_not_an_error()
    {
        var table = ParseFixture("not-available.txt");
        Assert.False(table.IsAvailable);
        Assert.Equal(IpvsAvailability.KernelModuleMissing, table.Availability);
        Assert.Equal("Can't initialize ipvs: Protocol not available", table.UnavailableReason);
        Assert.Empty(table.Services);
    }

    [Fact]
    public void Only_the_second_sentence_still_means_ipvs_missing()
    {
        var result = IpvsadmParser.Parse("Are you sure that IP Virtual Server is built in the kernel or as module?\n");
        Assert.Equal(IpvsAvailability.KernelModuleMissing, result.Value!.Availability);
    }

    [Fact]
    public void Permission_denied_is_an_error_not_a_missing_ipvs()
    {
        var result = IpvsadmParser.Parse("Can't initialize ipvs: Permission denied (you must be root)\n");
        Assert.False(result.Succeeded);
        Assert.Null(result.Value);
        Assert.Contains("Permission denied", result.Errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_command_is_reported()
    {
        var result = IpvsadmParser.Parse("bash: line 1: ipvsadm: command not found\n");
        Assert.Equal(IpvsAvailability.CommandMissing, result.Value!.Availability);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("hello world\nthis is not ipvsadm\n")]
    public void Empty_or_foreign_text_reports_an_error_without_throwing(string? text)
    {
        var result = IpvsadmParser.Parse(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Empty_table_is_a_valid_listing_with_no_services()
    {
        var result = IpvsadmParser.Parse(
            "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
        Assert.True(result.Succeeded);
        Assert.True(result.Value!.IsAvailable);
        Assert.Empty(result.Value.Services);
        Assert.Equal(4096, result.Value.ConnectionTableSize);
    }

    [Fact]
    public void Fwm_services_with_local_and_route_servers()
    {
        var table = ParseFixture("fwm-local-route.txt");
        Assert.Equal(IpvsListingKind.Connections, table.Kind);
        Assert.Equal("1.2.1", table.Version);
        Assert.Equal(2, table.Services.Count);
        var fwm3 = table.Services[0];
        Assert.Equal(IpvsProtocol.FirewallMark, fwm3.Protocol);
        Assert.Equal(3u, fwm3.FirewallMark);
        Assert.Null(fwm3.Endpoint);
        Assert.False(fwm3.IsIPv6);
        Assert.Equal("wrr", fwm3.Scheduler);
        Assert.Equal("FWM 3", fwm3.Key);
        Assert.Equal(2, fwm3.RealServers.Count);
        Assert.Equal("10.0.88.214", fwm3.RealServers[0].Endpoint.Host);
        Assert.Equal(0, fwm3.RealServers[0].Endpoint.Port);
        Assert.Equal(IpvsForwarding.Local, fwm3.RealServers[0].Forwarding);
        Assert.Equal(IpvsForwarding.DirectRouting, fwm3.RealServers[1].Forwarding);
        Assert.Equal(1, fwm3.RealServers[1].Weight);
        Assert.Equal(0UL, fwm3.RealServers[1].ActiveConnections);
        Assert.Equal(7u, table.Services[1].FirewallMark);
    }

    [Fact]
    public void Persistent_nat_services_with_collapsed_spacing()
    {
        var table = ParseFixture("persistent-masq.txt");
        Assert.Equal(14, table.Services.Count);
        Assert.All(table.Services, s =>
        {
            Assert.Equal("wlc", s.Scheduler);
            Assert.Equal(1800, s.PersistenceTimeoutSeconds);
            Assert.True(s.IsPersistent);
            Assert.Equal(["persistent 1800"], s.Flags);
            Assert.Single(s.RealServers);
            Assert.Equal(IpvsForwarding.Nat, s.RealServers[0].Forwarding);
        });
        Assert.Equal("TCP 10.10.40.42:8066", table.Services[0].Key);
        Assert.Equal("10.244.2.6:8066", table.Services[0].RealServers[0].Endpoint.Text);
        Assert.Equal(9104, table.Services[^1].Endpoint!.Port);
        Assert.Equal("10.244.1.3", table.Services[^1].RealServers[0].Endpoint.Host);
    }

    [Fact]
    public void Tunnel_servers()
    {
        var table = ParseFixture("tunnel.txt");
        var service = Assert.Single(table.Services);
        Assert.Equal(IpvsProtocol.Tcp, service.Protocol);
        Assert.Equal("192.168.1.184", service.Endpoint!.Host);
        Assert.Equal(3, service.RealServers.Count);
        Assert.All(service.RealServers, r => Assert.Equal(IpvsForwarding.Tunnel, r.Forwarding));
        Assert.Equal("192.168.56.184:80", service.RealServers[2].Endpoint.Text);
    }

    [Fact]
    public void Persistent_dr_with_active_connections()
    {
        var service = Assert.Single(ParseFixture("persistent-dr-active.txt").Services);
        Assert.Equal("rr", service.Scheduler);
        Assert.Equal(50, service.PersistenceTimeoutSeconds);
        Assert.Equal(2UL, service.RealServers[0].ActiveConnections);
        Assert.Equal(0UL, service.RealServers[0].InactiveConnections);
        Assert.Equal(0UL, service.RealServers[1].ActiveConnections);
    }

    [Fact]
    public void Dr_listing_with_unindented_arrows()
    {
        var table = ParseFixture("dr-list.txt");
        Assert.Equal(1048576, table.ConnectionTableSize);
        var service = Assert.Single(table.Services);
        Assert.Equal(6030, service.Endpoint!.Port);
        Assert.Equal(3, service.RealServers.Count);
        Assert.All(service.RealServers, r => Assert.Equal(5, r.Weight));
        Assert.Equal(5UL, service.RealServers[0].ActiveConnections);
        Assert.Equal(17UL, service.RealServers[1].ActiveConnections);
        Assert.Equal(0UL, service.RealServers[2].InactiveConnections);
    }

    [Fact]
    public void Stats_with_zero_and_plain_counters()
    {
        var table = ParseFixture("stats-zero-and-plain.txt");
        Assert.Equal(IpvsListingKind.Stats, table.Kind);
        Assert.Equal(3, table.Services.Count);
        var zero = table.Services[0].Stats!;
        Assert.Equal(0UL, zero.Connections.Value);
        Assert.Equal(0UL, zero.OutBytes.Value);
        Assert.False(zero.InBytes.IsApproximate);
        var web = table.Services[2];
        Assert.Equal(14209UL, web.Stats!.Connections.Value);
        Assert.Equal(111769UL, web.Stats.InPackets.Value);
        Assert.Equal(74613UL, web.Stats.OutPackets.Value);
        Assert.Equal(7207174UL, web.Stats.InBytes.Value);
        Assert.Equal(8334358UL, web.Stats.OutBytes.Value);
        Assert.Equal(8, web.RealServers.Count);
        var rs = web.RealServers[3];
        Assert.Equal("10.2.1.25:80", rs.Endpoint.Text);
        Assert.Equal(3UL, rs.Stats!.Connections.Value);
        Assert.Equal(1341UL, rs.Stats.OutBytes.Value);
        Assert.Null(rs.Forwarding);
        Assert.Null(web.Scheduler);
    }

    [Fact]
    public void Stats_with_k_and_m_suffixes_are_approximate_lower_bounds()
    {
        var service = Assert.Single(ParseFixture("dr-stats-suffix.txt").Services);
        Assert.Equal(113786UL, service.Stats!.Connections.Value);
        Assert.False(service.Stats.Connections.IsApproximate);
        Assert.Equal(19495479UL, service.Stats.InPackets.Value);
        Assert.Equal(2_110_000_000UL, service.Stats.InBytes.Value);
        Assert.True(service.Stats.InBytes.IsApproximate);
        Assert.Equal(181_747_000UL, service.RealServers[0].Stats!.InBytes.Value);
        Assert.Equal(1_105_000_000UL, service.RealServers[1].Stats!.InBytes.Value);
        Assert.Equal(804_275_000UL, service.RealServers[2].Stats!.InBytes.Value);
    }

    [Fact]
    public void Rows_without_title_use_the_hint_or_are_read_as_stats_with_a_warning()
    {
        var text = Fixture.Read("ipvsadm/stats-suffix-rows-only.txt");
        var guessed = IpvsadmParser.Parse(text);
        Assert.True(guessed.Succeeded);
        Assert.NotEmpty(guessed.Warnings);
        Assert.Equal(2, guessed.Value!.Services.Count);
        var first = guessed.Value.Services[0];
        Assert.Equal("VIP", first.Endpoint!.Host);
        Assert.Null(first.Endpoint.Port);
        Assert.Equal("https", first.Endpoint.PortName);
        Assert.Equal(2515932UL, first.Stats!.Connections.Value);
        Assert.Equal(125_426_000UL, first.Stats.InPackets.Value);
        Assert.Equal(13_034_000_000UL, first.Stats.InBytes.Value);
        Assert.Equal(13_036_000_000UL, guessed.Value.Services[1].Stats!.InBytes.Value);

        var asRate = IpvsadmParser.Parse(text, IpvsListingKind.Rate);
        Assert.Equal(IpvsListingKind.Rate, asRate.Value!.Kind);
        Assert.Equal(2515932UL, asRate.Value.Services[0].Rates!.ConnectionsPerSecond.Value);
    }

    [Fact]
    public void Rate_listing()
    {
        var table = ParseFixture("dr-rate.txt");
        Assert.Equal(IpvsListingKind.Rate, table.Kind);
        var service = Assert.Single(table.Services);
        Assert.Equal(0UL, service.Rates!.ConnectionsPerSecond.Value);
        Assert.Equal(2UL, service.Rates.InPacketsPerSecond.Value);
        Assert.Equal(193UL, service.Rates.InBytesPerSecond.Value);
        Assert.Equal(54UL, service.RealServers[0].Rates!.InBytesPerSecond.Value);
        Assert.Equal(73UL, service.RealServers[2].Rates!.InBytesPerSecond.Value);
        Assert.Equal(1UL, service.RealServers[2].Rates!.InPacketsPerSecond.Value);
    }

    [Fact]
    public void Rate_listing_with_k_m_g_t_suffixes_and_wide_values()
    {
        var service = Assert.Single(ParseFixture("constructed-rate-suffixes.txt").Services);
        Assert.Equal(1520UL, service.Rates!.ConnectionsPerSecond.Value);
        Assert.Equal(250_000_000UL, service.Rates.InPacketsPerSecond.Value);
        Assert.True(service.Rates.InPacketsPerSecond.IsApproximate);
        Assert.Equal(1_500_000_000UL, service.Rates.InBytesPerSecond.Value);
        Assert.Equal(12_000_000_000UL, service.Rates.OutBytesPerSecond.Value);
        var rs = Assert.Single(service.RealServers).Rates!;
        Assert.Equal(4_294_967_295UL, rs.InPacketsPerSecond.Value);
        Assert.False(rs.InPacketsPerSecond.IsApproximate);
        Assert.Equal(3_000_000_000_000UL, rs.OutBytesPerSecond.Value);
    }

    [Fact]
    public void Exact_stats_with_very_large_counters()
    {
        var table = ParseFixture("constructed-stats-exact-large.txt");
        var service = table.Services[0];
        Assert.Equal(123_456_789_012UL, service.Stats!.Connections.Value);
        Assert.Equal(98_765_432_109_876UL, service.Stats.InPackets.Value);
        Assert.Equal(ulong.MaxValue, service.Stats.InBytes.Value);
        Assert.False(service.Stats.InBytes.IsApproximate);
        Assert.Equal(2, service.RealServers.Count);
        Assert.Equal(0UL, service.RealServers[1].Stats!.InBytes.Value);
        var v6 = table.Services[1];
        Assert.True(v6.IsIPv6);
        Assert.Equal("TCP [2001:db8::11]:5432", v6.Key);
        Assert.Equal(4470UL, v6.RealServers[0].Stats!.OutBytes.Value);
    }

    [Fact]
    public void Ipv6_udp_sctp_fwm_and_persistence_flags()
    {
        var table = ParseFixture("constructed-ipv6-flags.txt");
        Assert.Equal(6, table.Services.Count);

        var pg = table.Services[0];
        Assert.Equal(300, pg.PersistenceTimeoutSeconds);
        Assert.Equal("255.255.255.0", pg.PersistenceMask);
        Assert.Equal(["persistent 300", "mask 255.255.255.0"], pg.Flags);
        Assert.Equal(100, pg.RealServers[0].Weight);
        Assert.Equal(340UL, pg.RealServers[0].InactiveConnections);
        Assert.True(pg.RealServers[1].IsQuiesced);

        var sip = table.Services[1];
        Assert.Equal(IpvsProtocol.Udp, sip.Protocol);
        Assert.Equal("sip", sip.PersistenceEngine);
        Assert.Equal(360, sip.PersistenceTimeoutSeconds);

        var sctp = table.Services[2];
        Assert.Equal(IpvsProtocol.Sctp, sctp.Protocol);
        Assert.True(sctp.OnePacketScheduling);
        Assert.False(sctp.IsPersistent);
        Assert.Equal(IpvsForwarding.Tunnel, sctp.RealServers[0].Forwarding);

        var v6 = table.Services[3];
        Assert.True(v6.IsIPv6);
        Assert.Equal("2001:db8::11", v6.Endpoint!.Host);
        Assert.Equal(5432, v6.Endpoint.Port);
        Assert.Equal("64", v6.PersistenceMask);
        Assert.Equal(4_294_967_295UL, v6.RealServers[0].ActiveConnections);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::22"), v6.RealServers[1].Endpoint.Ip);
        Assert.Equal(IpvsForwarding.Local, v6.RealServers[1].Forwarding);

        var fwm6 = table.Services[4];
        Assert.Equal(IpvsProtocol.FirewallMark, fwm6.Protocol);
        Assert.True(fwm6.IsIPv6);
        Assert.Equal("FWM 1 IPv6", fwm6.Key);
        Assert.Equal("wrr", fwm6.Scheduler);
        Assert.True(fwm6.RealServers[0].Endpoint.IsIPv6);

        Assert.Equal(uint.MaxValue, table.Services[5].FirewallMark);
        Assert.Equal("lc", table.Services[5].Scheduler);
    }

    [Fact]
    public void Merge_attaches_stats_and_rates_to_the_connection_listing()
    {
        var merged = IpvsadmParser.Merge(ParseFixture("dr-list.txt"), ParseFixture("dr-stats-suffix.txt"), ParseFixture("dr-rate.txt"));
        var service = Assert.Single(merged.Services);
        Assert.Equal("wrr", service.Scheduler);
        Assert.Equal(113786UL, service.Stats!.Connections.Value);
        Assert.Equal(193UL, service.Rates!.InBytesPerSecond.Value);
        var rs = service.RealServers[1];
        Assert.Equal(17UL, rs.ActiveConnections);
        Assert.Equal(40269UL, rs.Stats!.Connections.Value);
        Assert.Equal(65UL, rs.Rates!.InBytesPerSecond.Value);
    }

    [Fact]
    public void Garbled_lines_are_skipped_with_warnings()
    {
        var text = "Prot LocalAddress:Port Scheduler Flags\n  -> 10.0.0.9:80 Route 1 0 0\nTCP  10.0.0.1:80 rr\n  -> 10.0.0.2:80 Route x 0 0\n  -> 10.0.0.3:80 Route 1 0 0\nTCP\n";
        var result = IpvsadmParser.Parse(text);
        Assert.True(result.Succeeded);
        Assert.Equal(3, result.Warnings.Count);
        Assert.Equal(2, result.Value!.Services.Count);
        var service = result.Value.Services[0];
        Assert.False(service.IsUnreadable);
        Assert.Equal("10.0.0.3:80", Assert.Single(service.RealServers).Endpoint.Text);

        // The bare "TCP" is a service line that cannot be read: kept as such, with no servers of its own.
        var unreadable = result.Value.Services[1];
        Assert.True(unreadable.IsUnreadable);
        Assert.Equal("TCP", unreadable.UnreadableLine);
        Assert.Empty(unreadable.RealServers);
    }

    [Theory]
    [InlineData("0", 0UL, false)]
    [InlineData("99999999", 99_999_999UL, false)]
    [InlineData("100000K", 100_000_000UL, true)]
    [InlineData("18446744T", 18_446_744_000_000_000_000UL, true)]
    public void Counter_parses_suffixes(string text, ulong value, bool approximate)
    {
        Assert.True(IpvsCounter.TryParse(text, out var counter));
        Assert.Equal(value, counter.Value);
        Assert.Equal(approximate, counter.IsApproximate);
    }

    [Theory]
    [InlineData("18446745T")]
    [InlineData("18446744073709551616")]
    [InlineData("-1")]
    [InlineData("K")]
    [InlineData("12X")]
    public void Counter_rejects_overflow_and_garbage(string text) => Assert.False(IpvsCounter.TryParse(text, out _));

    [Fact]
    public void Service_lines_of_another_kind_start_their_own_unknown_service()
    {
        // DPVS's SNAT "MATCH" services: each must keep its own four servers (before: all twelve were lost).
        var table = ParseFixture("dpvs-match-snat.txt");
        Assert.Equal(3, table.Services.Count);
        Assert.All(table.Services, s =>
        {
            Assert.True(s.IsUnreadable);
            Assert.Equal(IpvsProtocol.Unknown, s.Protocol);
            Assert.Equal(4, s.RealServers.Count);
            Assert.All(s.RealServers, rs => Assert.Equal("SNAT", rs.ForwardingText));
        });
        Assert.StartsWith("MATCH tcp,", table.Services[1].UnreadableLine, StringComparison.Ordinal);
        Assert.Equal(3, table.Services.Select(s => s.Key).Distinct().Count());
    }

    [Fact]
    public void Truncated_service_names_keep_their_own_real_servers()
    {
        var result = IpvsadmParser.Parse(Fixture.Read("ipvsadm/truncated-names.txt"));
        Assert.True(result.Succeeded);
        var services = result.Value!.Services;
        Assert.Equal(8, services.Count);
        Assert.All(services, s => Assert.True(s.IsUnreadable));
        Assert.All(services, s => Assert.Equal(IpvsProtocol.Tcp, s.Protocol));
        Assert.Equal([1, 1, 1, 2, 4, 2, 1, 2], services.Select(s => s.RealServers.Count));
        Assert.Equal(14UL, services[3].RealServers[0].InactiveConnections);
        Assert.Equal(8, result.Warnings.Count(w => w.Contains("Unreadable virtual service", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_trailing_word_after_the_counters_keeps_the_real_server()
    {
        var service = Assert.Single(ParseFixture("dpvs-fullnat-inhibited.txt").Services);
        Assert.Equal(2, service.RealServers.Count);
        var inhibited = service.RealServers[0];
        Assert.Equal(IpvsForwarding.FullNat, inhibited.Forwarding);
        Assert.Equal(100, inhibited.Weight);
        Assert.Equal(["inhibited"], inhibited.TrailingFlags);
        Assert.Empty(service.RealServers[1].TrailingFlags);
        Assert.Equal(3UL, service.RealServers[1].ActiveConnections);
    }

    [Theory]
    [InlineData("lnc-fullnat.txt")]
    [InlineData("constructed-lnc-dr.txt")]
    public void The_connection_table_is_not_accepted_as_a_listing(string fixture)
    {
        var text = Fixture.Read($"ipvsadm/{fixture}");
        foreach (var kind in new[] { IpvsListingKind.Unknown, IpvsListingKind.Connections, IpvsListingKind.Stats })
        {
            var result = IpvsadmParser.Parse(text, kind);
            Assert.False(result.Succeeded);
            Assert.Null(result.Value);
            Assert.Contains("-Lnc", result.Errors[0], StringComparison.Ordinal);
        }

        // Its rows alone (no title lines) are recognised too.
        var rowsOnly = string.Join('\n', text.Split('\n').Skip(2));
        Assert.False(IpvsadmParser.Parse(rowsOnly).Succeeded);
    }
}
