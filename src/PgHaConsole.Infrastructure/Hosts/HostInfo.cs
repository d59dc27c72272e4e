using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.Infrastructure.Hosts;

/// <summary>What Test connection shows about a host.</summary>
public sealed record HostInfo
{
    public required string Node { get; init; }

    /// <summary><c>PRETTY_NAME</c> from <c>/etc/os-release</c>.</summary>
    public string? OsPrettyName { get; init; }

    public string? Kernel { get; init; }

    public string? Hostname { get; init; }

    public required string LoginUser { get; init; }

    public bool IsRoot { get; init; }

    /// <summary><c>sudo -n true</c> succeeded (only tried when not root).</summary>
    public bool PasswordlessSudo { get; init; }

    /// <summary>The console can act as root on this host (root login or passwordless sudo).</summary>
    public bool CanElevate => IsRoot || PasswordlessSudo;

    /// <summary>PostgreSQL installations found in <c>/usr/lib/postgresql/*/bin</c> and <c>/usr/pgsql-*/bin</c>.</summary>
    public IReadOnlyList<PostgresInstall> PostgresInstalls { get; init; } = [];

    /// <summary><c>postgres --version</c> of the one on PATH, if any.</summary>
    public string? PostgresOnPath { get; init; }

    /// <summary>Postmasters running on this host, with the data directory each serves.</summary>
    public IReadOnlyList<RunningPostmaster> Postmasters { get; init; } = [];

    public required ToolInfo Keepalived { get; init; }

    public required ToolInfo Haproxy { get; init; }

    public required ToolInfo Ipvsadm { get; init; }

    /// <summary><c>ipvsadm -Ln</c> worked (the kernel has IPVS and we may use it).</summary>
    public bool IpvsUsable { get; init; }

    /// <summary>What <c>ipvsadm -Ln</c> said when it failed (e.g. "Protocol not available").</summary>
    public string? IpvsDetail { get; init; }

    public IReadOnlyList<HostInterface> Interfaces { get; init; } = [];

    public required HostKeyInfo HostKey { get; init; }
}

/// <summary>One PostgreSQL installation (a bin directory holding <c>postgres</c>).</summary>
public sealed record PostgresInstall(string BinDir, int? MajorVersion, string VersionText);

/// <summary>A running postmaster and the data directory it serves (confirmed by its <c>postmaster.pid</c>).</summary>
public sealed record RunningPostmaster(int Pid, string DataDir, string? Executable);

/// <summary>Whether a program is installed, where, and its version line.</summary>
public sealed record ToolInfo(bool Present, string? Path, string? Version);

/// <summary>An address on an interface, from <c>ip -o addr</c>.</summary>
public sealed record HostInterface(string Name, string Family, string Address, int PrefixLength);
