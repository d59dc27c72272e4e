using PgHaConsole.Core.Model;

namespace PgHaConsole.Web.ViewModels;

/// <summary>
/// What a user (form or REST client) sends to create or edit a cluster. Secrets are write-only: they are never
/// sent back; on edit an empty secret keeps the stored one.
/// </summary>
public sealed class ClusterInput
{
    public string Name { get; set; } = "";

    public NodeInput Node1 { get; set; } = new() { Name = "pg1" };

    public NodeInput Node2 { get; set; } = new() { Name = "pg2" };

    public string WriteVip { get; set; } = "";

    public string ReadVip { get; set; } = "";

    public int VipPrefixLength { get; set; } = 24;

    public VrrpInput Vrrp { get; set; } = new();

    public BalancerMode Balancer { get; set; } = BalancerMode.Haproxy;

    public PostgresInput Postgres { get; set; } = new();

    /// <summary>Replication role password; generated when empty on create.</summary>
    public string? ReplicationPassword { get; set; }

    public sealed class NodeInput
    {
        public string Name { get; set; } = "";

        public string Address { get; set; } = "";

        public int SshPort { get; set; } = 22;

        public string SshUser { get; set; } = "root";

        public SshAuthKind AuthKind { get; set; } = SshAuthKind.PrivateKey;

        public PrivilegeMode Privilege { get; set; } = PrivilegeMode.Root;

        public string? PrivateKey { get; set; }

        public string? PrivateKeyPassphrase { get; set; }

        public string? Password { get; set; }
    }

    public sealed class VrrpInput
    {
        public string Interface { get; set; } = "mgt";

        public int VirtualRouterId { get; set; } = 50;

        public int Node1Priority { get; set; } = 100;

        public int Node2Priority { get; set; } = 90;

        public decimal AdvertIntSeconds { get; set; } = 1m;

        /// <summary>VRRP PASS authentication, at most 8 characters; generated when empty on create.</summary>
        public string? Password { get; set; }
    }

    public sealed class PostgresInput
    {
        public int MajorVersion { get; set; } = 15;

        public string BinDir { get; set; } = "/usr/lib/postgresql/15/bin";

        public string DataDir { get; set; } = "/data10/pgdata";

        public int Port { get; set; } = 5432;

        public string OsUser { get; set; } = "postgres";

        public ServiceControl ServiceControl { get; set; } = ServiceControl.PgCtl;

        public string? SystemdUnit { get; set; }
    }

    public static ClusterInput From(ClusterSpec c) => new()
    {
        Name = c.Name,
        Node1 = FromNode(c.Node1),
        Node2 = FromNode(c.Node2),
        WriteVip = c.WriteVip,
        ReadVip = c.ReadVip,
        VipPrefixLength = c.VipPrefixLength,
        Vrrp = new VrrpInput
        {
            Interface = c.Vrrp.Interface,
            VirtualRouterId = c.Vrrp.VirtualRouterId,
            Node1Priority = c.Vrrp.Node1Priority,
            Node2Priority = c.Vrrp.Node2Priority,
            AdvertIntSeconds = c.Vrrp.AdvertIntSeconds,
        },
        Balancer = c.Balancer,
        Postgres = new PostgresInput
        {
            MajorVersion = c.Postgres.MajorVersion,
            BinDir = c.Postgres.BinDir,
            DataDir = c.Postgres.DataDir,
            Port = c.Postgres.Port,
            OsUser = c.Postgres.OsUser,
            ServiceControl = c.Postgres.ServiceControl,
            SystemdUnit = c.Postgres.SystemdUnit,
        },
    };

    private static NodeInput FromNode(NodeSpec n) => new()
    {
        Name = n.Name,
        Address = n.Address,
        SshPort = n.SshPort,
        SshUser = n.SshUser,
        AuthKind = n.AuthKind,
        Privilege = n.Privilege,
    };

    /// <summary>The model this input describes; ids and pinned host keys come from <paramref name="existing"/> on edit.</summary>
    public ClusterSpec ToSpec(ClusterSpec? existing) => new()
    {
        Id = existing?.Id ?? Guid.NewGuid(),
        Name = Name.Trim(),
        Node1 = ToNode(Node1, existing?.Node1),
        Node2 = ToNode(Node2, existing?.Node2),
        WriteVip = WriteVip.Trim(),
        ReadVip = ReadVip.Trim(),
        VipPrefixLength = VipPrefixLength,
        Vrrp = new VrrpSettings
        {
            Interface = Vrrp.Interface.Trim(),
            VirtualRouterId = Vrrp.VirtualRouterId,
            Node1Priority = Vrrp.Node1Priority,
            Node2Priority = Vrrp.Node2Priority,
            AdvertIntSeconds = Vrrp.AdvertIntSeconds,
        },
        Balancer = Balancer,
        Postgres = (existing?.Postgres ?? new PostgresSettings()) with
        {
            MajorVersion = Postgres.MajorVersion,
            BinDir = Postgres.BinDir.Trim(),
            DataDir = Postgres.DataDir.Trim(),
            Port = Postgres.Port,
            OsUser = Postgres.OsUser.Trim(),
            ServiceControl = Postgres.ServiceControl,
            SystemdUnit = string.IsNullOrWhiteSpace(Postgres.SystemdUnit) ? null : Postgres.SystemdUnit.Trim(),
        },
    };

    private static NodeSpec ToNode(NodeInput n, NodeSpec? existing)
    {
        var address = n.Address.Trim();
        // A changed address or port is another host: its pinned key no longer applies.
        var keepPin = existing is not null && existing.Address == address && existing.SshPort == n.SshPort;
        return new NodeSpec
        {
            Id = existing?.Id ?? Guid.NewGuid(),
            Name = n.Name.Trim(),
            Address = address,
            SshPort = n.SshPort,
            SshUser = n.SshUser.Trim(),
            AuthKind = n.AuthKind,
            Privilege = n.Privilege,
            HostKeySha256 = keepPin ? existing!.HostKeySha256 : null,
        };
    }

    /// <summary>Node secrets as entered; null when nothing was entered (keep what is stored).</summary>
    public static NodeSecrets? SecretsOf(NodeInput n) =>
        string.IsNullOrEmpty(n.PrivateKey) && string.IsNullOrEmpty(n.Password)
            ? null
            : new NodeSecrets
            {
                PrivateKey = NullIfEmpty(n.PrivateKey),
                PrivateKeyPassphrase = NullIfEmpty(n.PrivateKeyPassphrase),
                Password = NullIfEmpty(n.Password),
            };

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
