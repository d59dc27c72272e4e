using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Tests;

public sealed class SwitchoverModelTests
{
    private static SwitchoverPreflightReport Report(bool ok) =>
        new("pg1", "pg2", [new("streaming", "pg2", true, "streams"), new("lag", "pg2", ok, "lag")]);

    [Theory]
    [InlineData(true, true, "lab", true)]
    [InlineData(false, true, "lab", false)] // a Viewer
    [InlineData(true, false, "lab", false)] // a failed preflight check
    [InlineData(true, true, "Lab", false)] // the name typed exactly, case included
    [InlineData(true, true, "", false)]
    [InlineData(true, true, null, false)]
    public void The_switchover_button_needs_an_operator_a_passing_preflight_and_the_typed_name(bool isOperator, bool preflightOk, string? typed, bool expected) =>
        Assert.Equal(expected, SwitchoverModel.CanSwitch(isOperator, Report(preflightOk), "lab", typed, busy: false));

    [Fact]
    public void Nothing_is_enabled_without_a_report_or_while_busy()
    {
        Assert.False(SwitchoverModel.CanSwitch(true, null, "lab", "lab", busy: false));
        Assert.False(SwitchoverModel.CanSwitch(true, Report(true), "lab", "lab", busy: true));
    }

    [Fact]
    public void A_preflight_without_a_primary_cannot_switch()
    {
        var report = new SwitchoverPreflightReport(null, null, [new("roles", null, true, "")]);
        Assert.False(report.CanSwitch);
    }

    [Theory]
    [InlineData(false, null, true)] // rejoin: no typed name needed
    [InlineData(true, null, false)] // rebuild: the node's name must be typed
    [InlineData(true, "pg1", false)]
    [InlineData(true, "pg2", true)]
    public void A_rebuild_needs_the_node_name_typed(bool rebuild, string? typed, bool expected) =>
        Assert.Equal(expected, SwitchoverModel.CanRunNodeAction(true, rebuild, "pg2", typed, busy: false));

    [Fact]
    public void Node_actions_need_an_operator() =>
        Assert.False(SwitchoverModel.CanRunNodeAction(false, false, "pg2", null, busy: false));

    [Theory]
    [InlineData(true, true, "lab", true)]
    [InlineData(false, true, "lab", false)] // a Viewer
    [InlineData(true, false, "lab", false)] // the primary answers (or the standby still sees it)
    [InlineData(true, true, "Lab", false)]
    [InlineData(true, true, null, false)]
    public void The_failover_button_needs_an_operator_a_lost_primary_and_the_typed_name(bool isOperator, bool lost, string? typed, bool expected)
    {
        var report = new PgHaConsole.Infrastructure.Failover.FailoverPreflightReport("pg1", "pg2",
            [new("console-view", "pg1", lost, "pg1: SSH answers, no postmaster runs"), new("standby-view", "pg2", true, "receiver: waiting")]);
        Assert.Equal(expected, SwitchoverModel.CanFailOver(isOperator, report, "lab", typed, busy: false));
        Assert.False(SwitchoverModel.CanFailOver(isOperator, report, "lab", typed, busy: true));
        Assert.False(SwitchoverModel.CanFailOver(isOperator, null, "lab", typed, busy: false));
    }

    [Fact]
    public void The_page_checks_a_failover_again_by_itself_only_while_it_is_not_possible_and_the_primary_is_not_healthy()
    {
        var notYet = new PgHaConsole.Infrastructure.Failover.FailoverPreflightReport("pg1", "pg2",
            [new("console-view", "pg1", true, "pg1: SSH answers, no postmaster runs"), new("standby-view", "pg2", false, "pg2's WAL receiver still streams from pg1")]);
        var possible = new PgHaConsole.Infrastructure.Failover.FailoverPreflightReport("pg1", "pg2",
            [new("console-view", "pg1", true, "pg1: SSH answers, no postmaster runs"), new("standby-view", "pg2", true, "receiver: waiting")]);
        var healthy = notYet with { PrimaryHealthy = true };

        Assert.True(SwitchoverModel.ShouldRecheckFailover(notYet, 0));
        Assert.True(SwitchoverModel.ShouldRecheckFailover(notYet, SwitchoverModel.FailoverRecheckLimit - 1));
        Assert.False(SwitchoverModel.ShouldRecheckFailover(notYet, SwitchoverModel.FailoverRecheckLimit));
        Assert.False(SwitchoverModel.ShouldRecheckFailover(possible, 0)); // the engineer decides
        Assert.False(SwitchoverModel.ShouldRecheckFailover(healthy, 0)); // a switchover, not a failover
        Assert.False(SwitchoverModel.ShouldRecheckFailover(null, 0));
    }
}
