using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Tests.Topology;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Failover;

public sealed class FailoverRulesTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T06:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private static readonly FailoverPolicy Auto = new() { Automatic = true, AfterSeconds = 3 };

    private static NodeState PgDown() => TopologySamples.Primary() with
    {
        PgReachable = false, Role = NodeRole.Down, CurrentLsn = null, Replication = [], PostmasterRunning = false,
    };

    private static NodeState HostLost() => PgDown() with { SshReachable = false, PostmasterRunning = null };

    private static NodeState StandbyLostPrimary() => TopologySamples.Standby(receiver: "waiting") with { PeerPortOpen = false };

    private static WitnessMemory Healthy(bool sync = false)
    {
        var primary = sync ? TopologySamples.Primary(b => b.Row = b.Row with { SyncState = "sync" }) with { SynchronousStandbyNames = "FIRST 1 (\"pg1\", \"pg2\")" } : TopologySamples.Primary();
        var picture = TopologySamples.Assemble(primary, TopologySamples.Standby() with { LagBytes = 0, LagSeconds = 0 });
        return PrimaryLoss.Observe(new WitnessMemory(), picture, T0);
    }

    [Fact]
    public void Self_fence_happens_before_the_console_may_promote_over_an_unreachable_primary()
    {
        // The order that keeps a partition from having two writable primaries.
        for (var after = FailoverPolicy.MinAfterSeconds; after <= 30; after++)
        {
            var delay = SelfFence.UnreachableFailoverDelay(after, Poll);
            Assert.True(delay.TotalSeconds >= SelfFence.WorstCaseSeconds() + Poll.TotalSeconds + 1, $"afterSeconds {after}: {delay}");
            Assert.True(delay.TotalSeconds >= after);
        }

        Assert.True(SelfFence.WorstCaseSeconds() > SelfFence.DelaySeconds + SelfFence.ReplicationTimeoutSeconds);
    }

    /// <summary>
    /// The self-fence delay follows a slow pair's pace: the write check sees the standby only when it runs, so at a 10 s
    /// pace a fixed 10 s let one late check run fence a primary with a healthy standby. The console's wait over an
    /// unreachable primary grows with it, so the order above holds at every pace.
    /// </summary>
    [Theory]
    [InlineData("1", 10)]
    [InlineData("5", 10)]
    [InlineData("8", 16)]
    [InlineData("10", 20)]
    public void The_self_fence_delay_follows_the_pace_and_still_comes_before_a_promotion(string advertInt, int expected)
    {
        var vrrp = new PgHaConsole.Core.Model.VrrpSettings { AdvertIntSeconds = decimal.Parse(advertInt, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Equal(expected, SelfFence.DelaySecondsFor(vrrp));
        Assert.True(SelfFence.WorstCaseSeconds(vrrp) > SelfFence.DelaySecondsFor(vrrp) + SelfFence.ReplicationTimeoutSeconds);
        Assert.True(SelfFence.UnreachableFailoverDelay(FailoverPolicy.MinAfterSeconds, Poll, vrrp).TotalSeconds >= SelfFence.WorstCaseSeconds(vrrp) + Poll.TotalSeconds + 1);
        var cluster = PgHaConsole.Core.Tests.Rendering.Sample.Cluster(advertInt: vrrp.AdvertIntSeconds);
        Assert.Contains($"SELF_FENCE_AFTER={expected}\n", PgHaConsole.Core.Keepalived.KeepalivedScriptRenderer.RenderCheckScript(cluster), StringComparison.Ordinal);
    }

    [Fact]
    public void Healthy_picture_is_remembered_with_position_and_catch_up()
    {
        var m = Healthy();
        Assert.Equal("pg1", m.Primary);
        Assert.Equal(T0, m.PrimaryLastSeen);
        Assert.Equal(Lsn.Parse("0/3000148"), m.PrimaryLastLsn);
        Assert.True(m.StandbyCaughtUp);
        Assert.False(m.SynchronousInForce);
        Assert.True(Healthy(sync: true).SynchronousInForce);
    }

    [Fact]
    public void Kill_9_of_the_primary_fails_over_after_the_delay_seen_by_both()
    {
        var m = Healthy();
        var lost = TopologySamples.Assemble(PgDown(), StandbyLostPrimary());
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(1));
        var early = PrimaryLoss.Evaluate(Auto, m, lost, T0.AddSeconds(2), Poll);
        Assert.False(early.Failover);
        Assert.Contains("waiting for 3 s", early.Reason, StringComparison.Ordinal);

        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(4));
        var verdict = PrimaryLoss.Evaluate(Auto, m, lost, T0.AddSeconds(4), Poll);
        Assert.True(verdict.Failover, verdict.Reason);
        Assert.Equal("pg1", verdict.Assessment!.Primary);
        Assert.Equal("pg2", verdict.Assessment.Standby);
        Assert.Equal(ConsoleView.PostgresDown, verdict.Assessment.Console);
        Assert.Equal(0, verdict.Assessment.MissingBytes);
        Assert.Contains("asynchronous", verdict.Assessment.LossStatement, StringComparison.Ordinal);
    }

    [Fact]
    public void Never_on_a_probe_error_a_hung_server_or_when_the_standby_disagrees()
    {
        var m = Healthy();
        var hung = TopologySamples.Assemble(PgDown() with { PostmasterRunning = true }, StandbyLostPrimary());
        var unsure = TopologySamples.Assemble(PgDown() with { PostmasterRunning = null }, StandbyLostPrimary());
        var standbyStillStreams = TopologySamples.Assemble(PgDown(), TopologySamples.Standby() with { PeerPortOpen = false });
        var portOpens = TopologySamples.Assemble(PgDown(), StandbyLostPrimary() with { PeerPortOpen = true });
        var standbyUnreachable = TopologySamples.Assemble(PgDown(), StandbyLostPrimary() with { SshReachable = false });
        foreach (var picture in new[] { hung, unsure, standbyStillStreams, portOpens, standbyUnreachable })
        {
            var mm = m;
            for (var s = 1; s <= 60; s += 2)
            {
                mm = PrimaryLoss.Observe(mm, picture, T0.AddSeconds(s));
                Assert.False(PrimaryLoss.Evaluate(Auto, mm, picture, T0.AddSeconds(s), Poll).Failover);
            }
        }
    }

    [Fact]
    public void Off_by_default_and_not_before_a_primary_was_ever_seen()
    {
        var lost = TopologySamples.Assemble(PgDown(), StandbyLostPrimary());
        var m = PrimaryLoss.Observe(Healthy(), lost, T0.AddSeconds(1));
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(30));
        Assert.False(PrimaryLoss.Evaluate(FailoverPolicy.Default, m, lost, T0.AddSeconds(30), Poll).Failover);

        var fresh = PrimaryLoss.Observe(new WitnessMemory(), lost, T0);
        fresh = PrimaryLoss.Observe(fresh, lost, T0.AddSeconds(30));
        var verdict = PrimaryLoss.Evaluate(Auto, fresh, lost, T0.AddSeconds(30), Poll);
        Assert.False(verdict.Failover);
    }

    [Fact]
    public void A_standby_that_was_behind_is_not_promoted_automatically()
    {
        var behind = TopologySamples.Assemble(TopologySamples.Primary(b => b.Row = b.Row with { LagBytes = PrimaryLoss.MaxLagBytes + 1 }), TopologySamples.Standby());
        var m = PrimaryLoss.Observe(new WitnessMemory(), behind, T0);
        Assert.False(m.StandbyCaughtUp);
        var lost = TopologySamples.Assemble(PgDown(), StandbyLostPrimary());
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(1));
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(20));
        var verdict = PrimaryLoss.Evaluate(Auto, m, lost, T0.AddSeconds(20), Poll);
        Assert.False(verdict.Failover);
        Assert.Contains("not caught up", verdict.Reason, StringComparison.Ordinal);

        // The manual button still may: the operator decides, the report says what may be lost.
        Assert.True(PrimaryLoss.Assess(lost, m).FailoverAllowed);
    }

    [Fact]
    public void An_unreachable_primary_is_waited_for_until_it_has_surely_fenced_itself()
    {
        var m = Healthy();
        var lost = TopologySamples.Assemble(HostLost(), StandbyLostPrimary());
        var wait = SelfFence.UnreachableFailoverDelay(Auto.AfterSeconds, Poll);
        for (var s = 1; s < wait.TotalSeconds; s++)
        {
            m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(s));
            var v = PrimaryLoss.Evaluate(Auto, m, lost, T0.AddSeconds(s), Poll);
            Assert.False(v.Failover, $"at {s} s: {v.Reason}");
        }

        m = PrimaryLoss.Observe(m, lost, T0 + wait);
        Assert.True(PrimaryLoss.Evaluate(Auto, m, lost, T0 + wait, Poll).Failover);
    }

    [Fact]
    public void A_primary_seen_again_resets_the_clocks()
    {
        var m = Healthy();
        var lost = TopologySamples.Assemble(PgDown(), StandbyLostPrimary());
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(1));
        m = PrimaryLoss.Observe(m, TopologySamples.Assemble(TopologySamples.Primary(), TopologySamples.Standby() with { LagBytes = 0 }), T0.AddSeconds(3));
        Assert.Null(m.ConsoleLostSince);
        m = PrimaryLoss.Observe(m, lost, T0.AddSeconds(5));
        Assert.False(PrimaryLoss.Evaluate(Auto, m, lost, T0.AddSeconds(6), Poll).Failover);
    }

    [Fact]
    public void Loss_statement_says_nothing_is_lost_only_under_synchronous_replication()
    {
        var lost = TopologySamples.Assemble(PgDown(), StandbyLostPrimary());
        Assert.StartsWith("nothing acknowledged is lost", PrimaryLoss.Assess(lost, Healthy(sync: true)).LossStatement, StringComparison.Ordinal);
        var behind = TopologySamples.Assemble(PgDown(), StandbyLostPrimary() with { ReceivedLsn = Lsn.Parse("0/3000000") });
        var a = PrimaryLoss.Assess(behind, Healthy());
        Assert.Equal(0x148, a.MissingBytes);
        Assert.Contains("up to 328 bytes", a.LossStatement, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_validation_names_the_field()
    {
        Assert.Empty(FailoverPolicy.Validate(FailoverPolicy.Default));
        Assert.False(FailoverPolicy.Default.Automatic);
        Assert.False(FailoverPolicy.Default.Synchronous);
        var errors = FailoverPolicy.Validate(new FailoverPolicy { AfterSeconds = 0 });
        Assert.Equal("afterSeconds", Assert.Single(errors).Field);
        Assert.Single(FailoverPolicy.Validate(new FailoverPolicy { AfterSeconds = FailoverPolicy.MaxAfterSeconds + 1 }));
    }
}
