namespace PgHaConsole.Lab;

/// <summary>
/// The lab's fixed names and addresses. They are fixed (not derived from the state dir), so only one lab
/// can exist on a machine at a time; the bridge's alias records which state dir owns it.
/// </summary>
public static class LabTopology
{
    public const string Bridge = "pghalab0";
    public const string BridgeAddress = "198.18.4.1";
    public const int PrefixLength = 24;
    public const string Network = "198.18.4.0/24";
    public const string Interface = "mgt";
    public const string WriteVip = "198.18.4.251";
    public const string ReadVip = "198.18.4.252";
    public const int PgVersion = 15;
    public const string PgBinDir = "/usr/lib/postgresql/15/bin";
    public const string PgDataDir = "/data10/pgdata";
    public const string PgLogFile = "/data10/postgresql.log";
    public const int PgPort = 5432;
    public const int SshPort = 22;
    public const string OsUser = "postgres";
    public const string SshUser = "root";
    public const string SampleDatabase = "appdb";
    public const string SampleUser = "app";
    public const string NamePrefix = "pghalab";

    /// <summary>Directories each host gets its own copy of (bind-mounted from the state dir).</summary>
    internal static readonly IReadOnlyList<(string MountPoint, string HostDirName)> HostMounts =
    [
        ("/data10", "data10"),
        ("/etc/keepalived", "etc-keepalived"),
        ("/etc/haproxy", "etc-haproxy"),

        // The console writes net.ipv4.ip_nonlocal_bind here; each host keeps its own, the machine's stays untouched.
        ("/etc/sysctl.d", "etc-sysctl.d"),

        // What the host enables at boot (boot.d/, written by the console's setup wizard): the lab's hosts have no systemd.
        ("/etc/pghaconsole", "etc-pghaconsole"),

        // root's home: a host of its own, not this machine's (whose shell start-up files would run in every SSH command).
        ("/root", "root-home"),

        // Where the console installs its per-node programs (the LVS-DR real-server script, which marks by the peer's MAC;
        // the firewall restore): the hosts share this machine's /usr (and the UML guest's), so each gets its own.
        ("/usr/local/sbin", "usr-local-sbin"),
    ];

    public static IReadOnlyList<LabHostDefinition> Hosts { get; } =
    [
        new("pg1", "198.18.4.247", "pghalab-pg1", "pghalab-v1"),
        new("pg2", "198.18.4.248", "pghalab-pg2", "pghalab-v2"),
    ];

    /// <summary>
    /// A third, bare host for the benchmarks' distributed configuration store (etcd for Patroni, so that losing pg1 or
    /// pg2 does not take the store with it): a network namespace on the bridge with <c>mgt</c> 198.18.4.249, no sshd,
    /// no mounts, nothing started by the lab. Made on demand by <see cref="LabController.AddWitnessAsync"/>; `down`
    /// stops its processes by PID and removes it with the rest.
    /// </summary>
    public static LabHostDefinition Witness { get; } = new("dcs", "198.18.4.249", "pghalab-dcs", "pghalab-v3");

    /// <summary>Every network namespace the lab may have made: the hosts' and the witness's.</summary>
    internal static IEnumerable<string> AllNamespaces => Hosts.Select(h => h.Namespace).Append(Witness.Namespace);

    public static LabHostDefinition Host(string name) =>
        Hosts.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.Ordinal))
        ?? throw new ArgumentException($"Unknown lab host '{name}'; the lab has pg1 and pg2.", nameof(name));
}

/// <summary>One lab host: its hostname, address on <c>mgt</c>, network namespace and the root-side veth end.</summary>
public sealed record LabHostDefinition(string Name, string Address, string Namespace, string RootVeth);
