using System.Net;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class LiveSignalParserTests
{
    private static LiveSignal[] Captured() =>
        Fixture.Read("live/pg1-monitor.txt").Split('\n').Where(l => l.Length > 0).Select(LiveSignalParser.Parse).ToArray();

    [Fact]
    public void The_captured_channel_reads_as_the_changes_made_on_the_host()
    {
        var signals = Captured();

        Assert.DoesNotContain(signals, s => s.Kind == LiveSignalKind.Unknown);
        // The first round reports the whole state: every (re)connection triggers a probe.
        Assert.Equal([LiveSignalKind.Postmaster, LiveSignalKind.Keepalived, LiveSignalKind.Keepalived, LiveSignalKind.Fence],
            signals.Take(4).Select(s => s.Kind));

        var addresses = signals.Where(s => s.Kind == LiveSignalKind.Address).ToArray();
        Assert.Equal(2, addresses.Length);
        Assert.All(addresses, a => Assert.Equal(("mgt", IPAddress.Parse("198.18.4.251")), (a.Interface, a.Address)));
        Assert.Equal([false, true], addresses.Select(a => a.Deleted));

        var postmaster = signals.Where(s => s.Kind == LiveSignalKind.Postmaster).Select(s => $"{s.PostmasterState} {s.PostmasterStatus}").ToArray();
        // Running, fast shutdown, pid file gone, restarted (status not written yet, then ready), kill -9 (file left, process gone).
        Assert.Equal(["up ready", "up stopping", "none ", "up unknown", "up ready", "dead ready"], postmaster);

        Assert.Contains(signals, s => s.Kind == LiveSignalKind.Keepalived && s.Detail.Contains("STATE=MASTER", StringComparison.Ordinal));
        Assert.Equal(["no", "yes", "no"], signals.Where(s => s.Kind == LiveSignalKind.Fence).Select(s => s.Detail));
        Assert.All(signals.Where(s => s.Kind == LiveSignalKind.Heartbeat), s => Assert.False(s.IsChange));
        Assert.All(signals.Where(s => s.Kind != LiveSignalKind.Heartbeat), s => Assert.True(s.IsChange));
    }

    [Theory]
    [InlineData("Deleted 3: eth0@if12    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever", true, "eth0", "fe80::1")]
    [InlineData("2: mgt    inet 198.18.4.252/24 scope global secondary mgt\\       valid_lft forever preferred_lft forever", false, "mgt", "198.18.4.252")]
    public void Address_lines(string line, bool deleted, string name, string address)
    {
        var signal = LiveSignalParser.ParseAddress(line);
        Assert.Equal((LiveSignalKind.Address, deleted, name, IPAddress.Parse(address)), (signal.Kind, signal.Deleted, signal.Interface, signal.Address));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bash: ip: command not found")]
    [InlineData("addr Deleted")]
    [InlineData("addr 2: mgt")]
    public void Lines_nobody_understands_still_count_as_changes(string line)
    {
        var signal = LiveSignalParser.Parse(line);
        Assert.True(signal.IsChange);
        Assert.Null(signal.Address);
    }
}
