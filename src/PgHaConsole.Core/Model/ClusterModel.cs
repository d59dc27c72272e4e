namespace PgHaConsole.Core.Model;

/// <summary>How the read VIP is balanced over both nodes.</summary>
public enum BalancerMode
{
    /// <summary>keepalived virtual_server with LVS direct routing, as in the runbook (needs IPVS in the kernel).</summary>
    LvsDr,

    /// <summary>HAProxy on both hosts, bound to the read VIP (works where IPVS is absent).</summary>
    Haproxy,
}

/// <summary>How PostgreSQL (and the other daemons) are started and stopped on a host.</summary>
public enum ServiceControl
{
    /// <summary><c>pg_ctl -D … start|stop</c> as the OS user; daemons started directly with pid files.</summary>
    PgCtl,

    /// <summary><c>systemctl start|stop UNIT</c>.</summary>
    Systemd,
}

public enum SshAuthKind
{
    PrivateKey,
    Password,
}

/// <summary>Whether the SSH user is root or must go through <c>sudo -n</c>.</summary>
public enum PrivilegeMode
{
    Root,
    Sudo,
}

/// <summary>One host of the pair. Secrets (key, passphrase, password) are not part of the model.</summary>
public sealed record NodeSpec
{
    public Guid Id { get; init; } = Guid.NewGuid();

    /// <summary>Short host name, e.g. <c>pg1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>IPv4 address of the host on the cluster network.</summary>
    public required string Address { get; init; }

    public int SshPort { get; init; } = 22;

    public string SshUser { get; init; } = "root";

    public SshAuthKind AuthKind { get; init; } = SshAuthKind.PrivateKey;

    public PrivilegeMode Privilege { get; init; } = PrivilegeMode.Root;

    /// <summary>Pinned SHA-256 host key fingerprint (unpadded base64 as ssh-keygen prints after <c>SHA256:</c>); null until confirmed.</summary>
    public string? HostKeySha256 { get; init; }
}

/// <summary>PostgreSQL settings shared by both nodes.</summary>
public sealed record PostgresSettings
{
    /// <summary>Major version, 11 to 17.</summary>
    public int MajorVersion { get; init; } = 15;

    public string BinDir { get; init; } = "/usr/lib/postgresql/15/bin";

    public string DataDir { get; init; } = "/data10/pgdata";

    public int Port { get; init; } = 5432;

    public string OsUser { get; init; } = "postgres";

    public ServiceControl ServiceControl { get; init; } = ServiceControl.PgCtl;

    /// <summary>systemd unit name when <see cref="ServiceControl"/> is <see cref="ServiceControl.Systemd"/>.</summary>
    public string? SystemdUnit { get; init; }

    /// <summary>Name of the replication role (the runbook's <c>repli</c>).</summary>
    public string ReplicationUser { get; init; } = "repli";

    /// <summary>Name of the console's monitoring role (granted <c>pg_monitor</c>).</summary>
    public string MonitorUser { get; init; } = "pghaconsole_monitor";
}

/// <summary>keepalived VRRP settings (the runbook's <c>vrrp_instance VI_1</c>).</summary>
public sealed record VrrpSettings
{
    public string Interface { get; init; } = "mgt";

    public int VirtualRouterId { get; init; } = 50;

    /// <summary>Priority of the first node (the initial primary).</summary>
    public int Node1Priority { get; init; } = 100;

    /// <summary>Priority of the second node.</summary>
    public int Node2Priority { get; init; } = 90;

    /// <summary>Advertisement interval in seconds (VRRPv3 allows fractions, e.g. 0.5).</summary>
    public decimal AdvertIntSeconds { get; init; } = 1m;
}

/// <summary>A managed primary/standby pair behind a write VIP and a read VIP.</summary>
public sealed record ClusterSpec
{
    public Guid Id { get; init; } = Guid.NewGuid();

    public required string Name { get; init; }

    /// <summary>The node that is primary when the cluster is first set up.</summary>
    public required NodeSpec Node1 { get; init; }

    public required NodeSpec Node2 { get; init; }

    public required string WriteVip { get; init; }

    public required string ReadVip { get; init; }

    /// <summary>Prefix length of the VIPs on the interface (the runbook uses the host's subnet).</summary>
    public int VipPrefixLength { get; init; } = 24;

    public VrrpSettings Vrrp { get; init; } = new();

    public BalancerMode Balancer { get; init; } = BalancerMode.Haproxy;

    public PostgresSettings Postgres { get; init; } = new();

    /// <summary>
    /// The application's client networks (CIDR, canonical form), asked by the setup wizard and stored with the
    /// cluster; pg_hba.conf lets them in (see <c>Postgres.ClientAccess</c>). Not part of the cluster form: the store
    /// sets it only through the wizard (<c>IClusterRepository.SetClientCidrsAsync</c>).
    /// </summary>
    public IReadOnlyList<string> ClientCidrs { get; init; } = [];

    public IReadOnlyList<NodeSpec> Nodes => [Node1, Node2];

    public NodeSpec Peer(NodeSpec node) => node.Id == Node1.Id ? Node2 : Node1;

    public NodeSpec? FindNode(Guid nodeId) => Node1.Id == nodeId ? Node1 : Node2.Id == nodeId ? Node2 : null;
}

/// <summary>Secrets of a node, in clear only in memory; the store keeps them encrypted.</summary>
public sealed record NodeSecrets
{
    public string? PrivateKey { get; init; }

    public string? PrivateKeyPassphrase { get; init; }

    public string? Password { get; init; }
}

/// <summary>Secrets of a cluster, in clear only in memory; the store keeps them encrypted.</summary>
public sealed record ClusterSecrets
{
    public string? ReplicationPassword { get; init; }

    public string? MonitorPassword { get; init; }

    /// <summary>VRRP PASS authentication: keepalived uses at most 8 characters.</summary>
    public string? VrrpPassword { get; init; }

    /// <summary>
    /// A rotation's new replication password while it runs (and after it failed, until it is finished): stored before
    /// any host gets it, so the console always knows every value a place may hold.
    /// </summary>
    public string? PendingReplicationPassword { get; init; }

    /// <summary>A rotation's new monitoring password while it runs (see <see cref="PendingReplicationPassword"/>).</summary>
    public string? PendingMonitorPassword { get; init; }

    /// <summary>A rotation's new VRRP auth_pass while it runs (see <see cref="PendingReplicationPassword"/>).</summary>
    public string? PendingVrrpPassword { get; init; }
}
