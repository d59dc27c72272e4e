using PgHaConsole.Core.Model;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>The rows the repository reads (Dapper maps the columns by name).</summary>
public sealed partial class ClusterRepository
{
    private sealed class SecretRow
    {
        public string Kind { get; init; } = "";

        public string Value { get; init; } = "";
    }

    private sealed class SecretKindRow
    {
        public Guid OwnerId { get; init; }

        public string Kind { get; init; } = "";
    }

    private sealed class ClusterRow
    {
        public Guid Id { get; init; }

        public string Name { get; init; } = "";

        public string WriteVip { get; init; } = "";

        public string ReadVip { get; init; } = "";

        public int VipPrefixLength { get; init; }

        public string Balancer { get; init; } = "";

        public string VrrpInterface { get; init; } = "";

        public int VrrpRouterId { get; init; }

        public int VrrpNode1Priority { get; init; }

        public int VrrpNode2Priority { get; init; }

        public long VrrpAdvertIntMs { get; init; }

        public int PgMajorVersion { get; init; }

        public string PgBinDir { get; init; } = "";

        public string PgDataDir { get; init; } = "";

        public int PgPort { get; init; }

        public string PgOsUser { get; init; } = "";

        public string PgServiceControl { get; init; } = "";

        public string? PgSystemdUnit { get; init; }

        public string PgReplicationUser { get; init; } = "";

        public string PgMonitorUser { get; init; } = "";

        public string ClientCidrs { get; init; } = "";

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset UpdatedAt { get; init; }

        public long RowVersion { get; init; }

        public ClusterSpec ToSpec(NodeSpec node1, NodeSpec node2) => new()
        {
            Id = Id,
            Name = Name,
            Node1 = node1,
            Node2 = node2,
            WriteVip = WriteVip,
            ReadVip = ReadVip,
            VipPrefixLength = VipPrefixLength,
            Balancer = Enum.Parse<BalancerMode>(Balancer),
            Vrrp = new VrrpSettings
            {
                Interface = VrrpInterface,
                VirtualRouterId = VrrpRouterId,
                Node1Priority = VrrpNode1Priority,
                Node2Priority = VrrpNode2Priority,
                AdvertIntSeconds = VrrpAdvertIntMs / 1000m,
            },
            Postgres = new PostgresSettings
            {
                MajorVersion = PgMajorVersion,
                BinDir = PgBinDir,
                DataDir = PgDataDir,
                Port = PgPort,
                OsUser = PgOsUser,
                ServiceControl = Enum.Parse<ServiceControl>(PgServiceControl),
                SystemdUnit = PgSystemdUnit,
                ReplicationUser = PgReplicationUser,
                MonitorUser = PgMonitorUser,
            },
            // The empty list is the spec's own default instance, so a spec without networks compares equal after a round trip.
            ClientCidrs = ClientCidrs.Length == 0 ? [] : ClientCidrs.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }

    private sealed class NodeRow
    {
        public Guid Id { get; init; }

        public Guid ClusterId { get; init; }

        public int Ordinal { get; init; }

        public string Name { get; init; } = "";

        public string Address { get; init; } = "";

        public int SshPort { get; init; }

        public string SshUser { get; init; } = "";

        public string AuthKind { get; init; } = "";

        public string Privilege { get; init; } = "";

        public string? HostKeySha256 { get; init; }

        public string? PendingHostKeySha256 { get; init; }

        public NodeSpec ToSpec() => new()
        {
            Id = Id,
            Name = Name,
            Address = Address,
            SshPort = SshPort,
            SshUser = SshUser,
            AuthKind = Enum.Parse<SshAuthKind>(AuthKind),
            Privilege = Enum.Parse<PrivilegeMode>(Privilege),
            HostKeySha256 = HostKeySha256,
        };
    }
}
