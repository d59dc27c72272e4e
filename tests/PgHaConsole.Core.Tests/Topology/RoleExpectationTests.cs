using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Topology;

public sealed class RoleExpectationTests
{
    private static NodeState Node(NodeRole role, string? receiver = "streaming", string? sender = "198.18.4.247") => new()
    {
        NodeId = Guid.NewGuid(),
        Name = "pg2",
        Address = "198.18.4.248",
        SshReachable = true,
        PgReachable = role is not NodeRole.Down,
        Role = role,
        PostmasterRunning = role is not NodeRole.Down,
        WalReceiver = role == NodeRole.Standby && receiver is not null ? new WalReceiverState { Status = receiver, SenderHost = sender } : null,
    };

    [Fact]
    public void A_streaming_standby_from_the_expected_primary_agrees() =>
        Assert.Empty(RoleExpectation.Disagreements(Node(NodeRole.Standby), NodeRole.Standby, "198.18.4.247"));

    [Fact]
    public void A_primary_expected_as_primary_agrees() =>
        Assert.Empty(RoleExpectation.Disagreements(Node(NodeRole.Primary), NodeRole.Primary));

    [Fact]
    public void A_node_PostgreSQL_does_not_answer_on_its_own_address_is_named() =>
        // The #13 defect: pg_rewind copied the peer's listen_addresses, the node came back on the wrong address.
        Assert.Contains("PostgreSQL does not answer the probe on 198.18.4.248",
            Assert.Single(RoleExpectation.Disagreements(Node(NodeRole.Down) with { PostmasterRunning = true }, NodeRole.Standby)), StringComparison.Ordinal);

    [Fact]
    public void The_wrong_role_is_named() =>
        Assert.Equal("the probe sees it as a primary, not a standby", Assert.Single(RoleExpectation.Disagreements(Node(NodeRole.Primary), NodeRole.Standby)));

    [Theory]
    [InlineData("starting", "its WAL receiver is starting, not streaming")]
    [InlineData(null, "its WAL receiver is not running, not streaming")]
    public void A_standby_that_does_not_stream_is_named(string? status, string expected) =>
        Assert.Equal(expected, Assert.Single(RoleExpectation.Disagreements(Node(NodeRole.Standby, status), NodeRole.Standby, "198.18.4.247")));

    [Fact]
    public void A_standby_streaming_from_another_host_is_named() =>
        Assert.Equal("it streams from 198.18.4.249, not from 198.18.4.247",
            Assert.Single(RoleExpectation.Disagreements(Node(NodeRole.Standby, sender: "198.18.4.249"), NodeRole.Standby, "198.18.4.247")));

    [Fact]
    public void An_unreachable_host_a_fence_and_a_dead_postmaster_are_all_named()
    {
        var found = RoleExpectation.Disagreements(Node(NodeRole.Primary) with { SshReachable = false, PostmasterRunning = false, Fenced = "fenced by failover" }, NodeRole.Primary);
        Assert.Equal(3, found.Count);
        Assert.Contains("its host does not answer the probe over SSH", found);
        var withReason = RoleExpectation.Disagreements(Node(NodeRole.Primary) with { SshReachable = false, Errors = ["SSH to pg1 (198.18.4.247:22) did not answer within 5 s."] }, NodeRole.Primary);
        Assert.Contains("its host does not answer the probe over SSH (SSH to pg1 (198.18.4.247:22) did not answer within 5 s.)", withReason);
        Assert.Contains("no live postmaster owns its data directory", found);
        Assert.Contains("it is still marked fenced (fenced by failover)", found);
    }

    [Fact]
    public void Only_primary_or_standby_can_be_expected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RoleExpectation.Disagreements(Node(NodeRole.Primary), NodeRole.Down));
}
