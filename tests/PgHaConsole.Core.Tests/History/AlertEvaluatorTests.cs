using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.History;

public sealed class AlertEvaluatorTests
{
    private static readonly AlertThresholds Thresholds = new() { LagBytes = 1000, LagSeconds = 10, For = TimeSpan.FromSeconds(30) };

    private static ClusterTopology Lagging(DateTimeOffset at, long bytes) =>
        Pictures.Cluster(at, Pictures.Primary(), Pictures.Standby(lagBytes: bytes, lagSeconds: 0));

    [Fact]
    public void Lag_fires_once_after_its_duration_and_resolves_once()
    {
        var evaluator = new AlertEvaluator(Thresholds);
        var t = Pictures.T0;

        Assert.Empty(evaluator.Evaluate(Lagging(t, 5000), t));                               // pending
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(15), 5000), t.AddSeconds(15)));  // still pending (15 s < 30 s)
        var fired = Assert.Single(evaluator.Evaluate(Lagging(t.AddSeconds(30), 5000), t.AddSeconds(30)));
        Assert.Equal((AlertRuleNames.Lag, AlertStatus.Firing, "pg2"), (fired.Rule, fired.Status, fired.Node));
        Assert.Equal(t, fired.Since);
        Assert.Contains("5000 bytes", fired.Message, StringComparison.Ordinal);

        // Still lagging: deduplicated, nothing more.
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(45), 9000), t.AddSeconds(45)));
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(60), 9000), t.AddSeconds(60)));
        Assert.Single(evaluator.Firing);

        var resolved = Assert.Single(evaluator.Evaluate(Lagging(t.AddSeconds(75), 10), t.AddSeconds(75)));
        Assert.Equal((AlertRuleNames.Lag, AlertStatus.Resolved, "pg2"), (resolved.Rule, resolved.Status, resolved.Node));
        Assert.Equal(t.AddSeconds(75), resolved.At);
        Assert.Empty(evaluator.Firing);
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(90), 10), t.AddSeconds(90)));
    }

    [Fact]
    public void A_blip_shorter_than_the_duration_sends_nothing()
    {
        var evaluator = new AlertEvaluator(Thresholds);
        var t = Pictures.T0;
        Assert.Empty(evaluator.Evaluate(Lagging(t, 5000), t));
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(15), 0), t.AddSeconds(15)));
        // A new episode starts its own clock.
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(30), 5000), t.AddSeconds(30)));
        Assert.Empty(evaluator.Evaluate(Lagging(t.AddSeconds(45), 5000), t.AddSeconds(45)));
        Assert.Single(evaluator.Evaluate(Lagging(t.AddSeconds(60), 5000), t.AddSeconds(60)));
    }

    [Fact]
    public void Lag_in_seconds_alone_fires()
    {
        var evaluator = new AlertEvaluator(Thresholds with { For = TimeSpan.Zero });
        var picture = Pictures.Cluster(Pictures.T0, Pictures.Primary(), Pictures.Standby(lagBytes: 0, lagSeconds: 11));
        Assert.Equal(AlertRuleNames.Lag, Assert.Single(evaluator.Evaluate(picture, Pictures.T0)).Rule);
    }

    [Fact]
    public void Split_brain_fires_at_once_and_write_vip_rule_waits()
    {
        var evaluator = new AlertEvaluator(Thresholds);
        var both = Pictures.Cluster(Pictures.T0, Pictures.Primary("pg1"), Pictures.Primary("pg2") with { HoldsWriteVip = false, HoldsReadVip = false });

        var first = evaluator.Evaluate(both, Pictures.T0);

        var split = Assert.Single(first);
        Assert.Equal(AlertRuleNames.SplitBrain, split.Rule);
        Assert.Null(split.Node);
        Assert.Equal("Split brain in pg-main: pg1 and pg2 are both primary.", split.Message);
    }

    [Fact]
    public void Write_vip_off_the_primary_standby_not_streaming_and_host_down()
    {
        var evaluator = new AlertEvaluator(Thresholds with { For = TimeSpan.Zero });
        var picture = Pictures.Cluster(Pictures.T0,
            Pictures.Primary("pg1") with { HoldsWriteVip = false },
            Pictures.Standby("pg2", receiver: "waiting") with { HoldsWriteVip = true });
        var rules = evaluator.Evaluate(picture, Pictures.T0).Select(n => n.Rule).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([AlertRuleNames.StandbyNotStreaming, AlertRuleNames.WriteVipNotOnPrimary], rules);

        var down = Pictures.Cluster(Pictures.T0.AddSeconds(15), Pictures.Primary(),
            Pictures.Standby() with { SshReachable = false, PgReachable = false, Role = NodeRole.Down, WalReceiver = null });
        var changes = evaluator.Evaluate(down, Pictures.T0.AddSeconds(15));
        Assert.Contains(changes, n => n.Rule == AlertRuleNames.HostDown && n.Status == AlertStatus.Firing && n.Node == "pg2");
        Assert.Contains(changes, n => n.Rule == AlertRuleNames.StandbyNotStreaming && n.Status == AlertStatus.Resolved);
        Assert.Contains(changes, n => n.Rule == AlertRuleNames.WriteVipNotOnPrimary && n.Status == AlertStatus.Resolved);
    }
}
