using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Tests.Topology;

namespace PgHaConsole.Core.Tests.Failover;

public sealed class SynchronousReplicationTests
{
    private static readonly TimeSpan Bound = SynchronousReplication.DefaultDegradeAfter;
    private static readonly string Names = SynchronousReplication.StandbyNames(TopologySamples.Cluster);

    [Fact]
    public void Names_both_nodes_so_a_copied_setting_is_never_wrong() =>
        Assert.Equal("FIRST 1 (\"pg1\", \"pg2\")", Names);

    [Theory]
    [InlineData(true, "", true, null, SynchronousAction.Enable)]
    [InlineData(true, "", false, 60.0, SynchronousAction.None)]
    [InlineData(true, "NAMES", true, null, SynchronousAction.None)]
    [InlineData(true, "NAMES", false, 1.0, SynchronousAction.None)]
    [InlineData(true, "NAMES", false, 5.0, SynchronousAction.Degrade)]
    [InlineData(true, "pg2", true, null, SynchronousAction.Enable)]
    [InlineData(false, "NAMES", true, null, SynchronousAction.Disable)]
    [InlineData(false, "", true, null, SynchronousAction.None)]
    [InlineData(false, null, false, 9.0, SynchronousAction.None)]
    public void Decides_enable_degrade_and_return(bool policy, string? current, bool streaming, double? lostFor, SynchronousAction expected)
    {
        var setting = current == "NAMES" ? Names : current;
        var d = SynchronousReplication.Decide(TopologySamples.Cluster, policy, setting, streaming, lostFor is { } s ? TimeSpan.FromSeconds(s) : null, Bound);
        Assert.Equal(expected, d.Action);
        Assert.NotEmpty(d.Reason);
    }
}
