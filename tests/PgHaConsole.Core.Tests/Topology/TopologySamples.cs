using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.Topology;

/// <summary>Realistic pictures of the lab pair: pg1 primary with the write VIP, pg2 streaming standby.</summary>
internal static class TopologySamples
{
    public static readonly ClusterSpec Cluster = new()
    {
        Name = "lab",
        Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.247", HostKeySha256 = "a" },
        Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.248", HostKeySha256 = "b" },
        WriteVip = "198.18.4.251",
        ReadVip = "198.18.4.252",
    };

    public static NodeState Primary(Action<ReplicationRowBuilder>? row = null)
    {
        var b = new ReplicationRowBuilder();
        row?.Invoke(b);
        return new NodeState
        {
            NodeId = Cluster.Node1.Id,
            Name = "pg1",
            Address = "198.18.4.247",
            SshReachable = true,
            PgReachable = true,
            Role = NodeRole.Primary,
            Version = "15.8",
            Timeline = 1,
            CurrentLsn = Lsn.Parse("0/3000148"),
            HoldsWriteVip = true,
            HoldsReadVip = true,
            Keepalived = new KeepalivedNodeState(true, VrrpState.Master, 100, null, null),
            Replication = b.Include ? [b.Row] : [],
        };
    }

    public static NodeState Standby(string receiver = "streaming", string received = "0/3000148", string replayed = "0/3000148", double? delay = 0) => new()
    {
        NodeId = Cluster.Node2.Id,
        Name = "pg2",
        Address = "198.18.4.248",
        SshReachable = true,
        PgReachable = true,
        Role = NodeRole.Standby,
        Version = "15.8",
        Timeline = 1,
        ReceivedLsn = Lsn.Parse(received),
        ReplayedLsn = Lsn.Parse(replayed),
        WalReceiver = new WalReceiverState
        {
            Status = receiver,
            ReceivedLsn = Lsn.Parse(received),
            ReplayedLsn = Lsn.Parse(replayed),
            ReplayDelaySeconds = delay,
        },
        Keepalived = new KeepalivedNodeState(true, VrrpState.Backup, 90, null, null),
    };

    public static ClusterTopology Assemble(params NodeState[] nodes) =>
        TopologyAssembler.Assemble(Cluster, nodes, DateTimeOffset.UnixEpoch, AlarmThresholds.Default);

    internal sealed class ReplicationRowBuilder
    {
        public bool Include { get; set; } = true;

        public ReplicationRow Row { get; set; } = new()
        {
            ApplicationName = "pg2",
            ClientAddress = "198.18.4.248",
            State = "streaming",
            SyncState = "async",
            SentLsn = Lsn.Parse("0/3000148"),
            WriteLsn = Lsn.Parse("0/3000148"),
            FlushLsn = Lsn.Parse("0/3000148"),
            ReplayLsn = Lsn.Parse("0/3000148"),
            LagBytes = 0,
        };
    }
}
