using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class KeepalivedStateParserTests
{
    [Theory]
    [InlineData("state-master.txt", VrrpState.Master, 1795701212L)]
    [InlineData("state-fault.txt", VrrpState.Fault, 1795701224L)]
    [InlineData("state-stop.txt", VrrpState.Stop, 1795701229L)]
    public void State_files_written_by_the_notify_script(string name, VrrpState state, long at)
    {
        var result = KeepalivedStateParser.ParseStateFile(Fixture.Read($"keepalived/{name}"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        var file = result.Value!;
        Assert.Equal(state, file.State);
        Assert.Equal("VI_PG", file.Instance);
        Assert.Equal(101, file.Priority);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(at), file.At);
        Assert.Equal(TimeSpan.FromSeconds(10), file.Age(DateTimeOffset.FromUnixTimeSeconds(at + 10)));
    }

    [Fact]
    public void Format_and_parse_agree_and_key_order_does_not_matter()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var line = KeepalivedStateParser.FormatStateLine(VrrpState.Backup, "VI_1", 100, at);
        Assert.Equal("STATE=BACKUP INSTANCE=VI_1 PRIORITY=100 AT=1700000000", line);
        var reordered = KeepalivedStateParser.ParseStateFile("AT=1700000000 EXTRA=x PRIORITY=100 INSTANCE=VI_1 STATE=BACKUP\n").Value!;
        Assert.Equal(VrrpState.Backup, reordered.State);
        Assert.Equal(at, reordered.At);
    }

    [Fact]
    public void The_last_line_of_an_appended_file_wins()
    {
        var file = KeepalivedStateParser.ParseStateFile("STATE=BACKUP INSTANCE=VI_1 PRIORITY=100 AT=1\nSTATE=MASTER INSTANCE=VI_1 PRIORITY=100 AT=2\n\n").Value!;
        Assert.Equal(VrrpState.Master, file.State);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(2), file.At);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("INSTANCE=VI_1 PRIORITY=100")]
    [InlineData("garbage")]
    public void State_file_without_state_fails(string? text)
    {
        var result = KeepalivedStateParser.ParseStateFile(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Bad_numbers_in_a_state_file_are_warnings()
    {
        var result = KeepalivedStateParser.ParseStateFile("STATE=WEIRD INSTANCE= PRIORITY=high AT=yesterday");
        Assert.True(result.Succeeded);
        Assert.Equal(4, result.Warnings.Count);
        Assert.Equal(VrrpState.Unknown, result.Value!.State);
        Assert.Null(result.Value.Priority);
        Assert.Null(result.Value.At);
    }

    [Fact]
    public void Data_dump_of_a_master()
    {
        var result = KeepalivedStateParser.ParseDataDump(Fixture.Read("keepalived/data-master.txt"));
        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var instance = Assert.Single(result.Value!);
        Assert.Equal("VI_PG", instance.Name);
        Assert.Equal(VrrpState.Master, instance.State);
        Assert.Equal(VrrpState.Master, instance.WantState);
        Assert.Equal(51, instance.VirtualRouterId);
        Assert.Equal("d0", instance.Interface);
        Assert.Equal(101, instance.Priority);
        Assert.Equal(101, instance.EffectivePriority);
        Assert.False(instance.Preempt);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795701212826), instance.LastTransition);
        Assert.Equal(2, instance.VirtualIps.Count);
        var wvip = instance.VirtualIps[0];
        Assert.Equal("198.18.4.10", wvip.Address);
        Assert.Equal(24, wvip.PrefixLength);
        Assert.Equal("d0", wvip.Device);
        Assert.Equal("d0:wvip", wvip.Label);
        Assert.True(wvip.IsSet);
        Assert.Equal("d0:rvip", instance.VirtualIps[1].Label);
        // The unicast peer list follows the VIPs at the same depth and must not be read as a VIP.
        Assert.DoesNotContain(instance.VirtualIps, v => v.Address.StartsWith("198.18.4.252", StringComparison.Ordinal));
        Assert.Equal("198.18.4.250 (from configuration)", instance.Fields["Using src_ip"]);
    }

    [Fact]
    public void Data_dump_of_a_fault_lists_vips_as_not_set()
    {
        var instance = Assert.Single(KeepalivedStateParser.ParseDataDump(Fixture.Read("keepalived/data-fault.txt")).Value!);
        Assert.Equal(VrrpState.Fault, instance.State);
        Assert.Equal(2, instance.VirtualIps.Count);
        Assert.All(instance.VirtualIps, v => Assert.False(v.IsSet));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("------< Global definitions >------\n Router ID = x\n")]
    public void Data_dump_without_topology_fails(string? text)
    {
        var result = KeepalivedStateParser.ParseDataDump(text);
        Assert.False(result.Succeeded);
        Assert.NotEmpty(result.Errors);
    }
}
