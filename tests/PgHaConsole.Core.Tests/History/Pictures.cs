using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.History;

/// <summary>Builds cluster pictures for the history tests: pg1 primary, pg2 streaming standby, write VIP on pg1.</summary>
internal static class Pictures
{
    public static readonly Guid ClusterId = Guid.Parse("6f1c1f43-5d2a-4a51-9a3e-0d4c7f1b2a10");
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static NodeState Primary(string name = "pg1") => new()
    {
        NodeId = Guid.NewGuid(),
        Name = name,
        Address = name == "pg1" ? "198.18.4.247" : "198.18.4.248",
        SshReachable = true,
        PgReachable = true,
        Role = NodeRole.Primary,
        Timeline = 1,
        Connections = 7,
        MaxConnections = 100,
        HoldsWriteVip = true,
        HoldsReadVip = true,
        Slots = [new SlotState("pg2", "physical", true, 1000), new SlotState("old", "physical", false, 500)],
    };

    public static NodeState Standby(string name = "pg2", long lagBytes = 0, double lagSeconds = 0, string? receiver = "streaming") => new()
    {
        NodeId = Guid.NewGuid(),
        Name = name,
        Address = name == "pg2" ? "198.18.4.248" : "198.18.4.247",
        SshReachable = true,
        PgReachable = true,
        Role = NodeRole.Standby,
        Timeline = 1,
        Connections = 3,
        MaxConnections = 100,
        LagBytes = lagBytes,
        LagSeconds = lagSeconds,
        WalReceiver = new WalReceiverState { Status = receiver },
    };

    public static ClusterTopology Cluster(DateTimeOffset at, params NodeState[] nodes) => new()
    {
        ClusterId = ClusterId,
        ClusterName = "pg-main",
        ObservedAt = at,
        Nodes = nodes.Length == 0 ? [Primary(), Standby()] : nodes,
        WriteVipHolder = (nodes.Length == 0 ? [Primary()] : nodes).FirstOrDefault(n => n.HoldsWriteVip)?.Name,
        ReadVipHolder = (nodes.Length == 0 ? [Primary()] : nodes).FirstOrDefault(n => n.HoldsReadVip)?.Name,
    };

    public static Alarm Alarm(string code, string? node, AlarmSeverity severity = AlarmSeverity.Critical) =>
        new(code, severity, node, "Title of " + code, "Explanation", "Action");
}
