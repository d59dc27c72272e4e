using System.Globalization;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Validation;

/// <summary>
/// Checks a cluster before anything is saved or run: every problem is reported with the field it belongs to
/// (<c>node1.address</c>, <c>writeVip</c>, <c>vrrp.password</c>, <c>postgres.dataDir</c>, …) so a form can show it at
/// the field and the API can answer 400 naming it. Pure: no lookups, no network.
/// </summary>
public static class ClusterValidator
{
    /// <summary>Lowest and highest PostgreSQL major versions the renderers know.</summary>
    public const int MinMajorVersion = 11;

    public const int MaxMajorVersion = 17;

    /// <summary>keepalived's PASS authentication keeps only the first 8 characters (it truncates and warns).</summary>
    public const int MaxVrrpPasswordLength = 8;

    public static IReadOnlyList<ValidationError> Validate(
        ClusterSpec cluster,
        ClusterSecrets? secrets = null,
        IReadOnlyDictionary<Guid, NodeSecrets>? nodeSecrets = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var errors = new List<ValidationError>();

        if (string.IsNullOrWhiteSpace(cluster.Name))
        {
            errors.Add(new("name", "The cluster needs a name."));
        }
        else if (cluster.Name.Length > 100 || cluster.Name.Any(char.IsControl))
        {
            errors.Add(new("name", "The cluster name must be at most 100 characters, without control characters."));
        }

        ValidateNode(cluster.Node1, "node1", errors);
        ValidateNode(cluster.Node2, "node2", errors);
        ValidateNodePair(cluster, errors);
        ValidateVips(cluster, errors);
        ValidateVrrp(cluster.Vrrp, errors);
        ValidatePostgres(cluster.Postgres, errors);

        if (secrets is not null)
        {
            ValidateClusterSecrets(secrets, errors);
        }

        if (nodeSecrets is not null)
        {
            ValidateNodeSecrets(cluster.Node1, "node1", nodeSecrets, errors);
            ValidateNodeSecrets(cluster.Node2, "node2", nodeSecrets, errors);
        }

        return errors;
    }

    // ---- nodes -------------------------------------------------------------------------------------------------

    private static void ValidateNode(NodeSpec node, string prefix, List<ValidationError> errors)
    {
        if (!IsHostLabel(node.Name))
        {
            errors.Add(new($"{prefix}.name",
                $"'{Shown(node.Name)}' is not a valid host name: 1 to 63 letters, digits or '-', not starting or ending with '-' (RFC 1123)."));
        }

        if (!TryParseIpv4(node.Address, out var address))
        {
            errors.Add(new($"{prefix}.address", $"'{Shown(node.Address)}' is not an IPv4 address (four numbers 0-255 separated by dots, e.g. 10.91.4.247)."));
        }
        else if (UnusableReason(address) is { } reason)
        {
            errors.Add(new($"{prefix}.address", $"{node.Address} cannot be a node address: {reason}."));
        }

        if (node.SshPort is < 1 or > 65535)
        {
            errors.Add(new($"{prefix}.sshPort", $"SSH port {node.SshPort} is outside 1-65535."));
        }

        if (!IsLinuxUserName(node.SshUser))
        {
            errors.Add(new($"{prefix}.sshUser",
                $"'{Shown(node.SshUser)}' is not a valid user name: a lowercase letter or '_' first, then lowercase letters, digits, '_' or '-', at most 32 characters."));
        }
    }

    private static void ValidateNodePair(ClusterSpec cluster, List<ValidationError> errors)
    {
        if (string.Equals(cluster.Node1.Name, cluster.Node2.Name, StringComparison.OrdinalIgnoreCase) && IsHostLabel(cluster.Node1.Name))
        {
            errors.Add(new("node2.name", $"Both nodes are named '{cluster.Node1.Name}': each node needs its own name."));
        }

        if (TryParseIpv4(cluster.Node1.Address, out var a1) && TryParseIpv4(cluster.Node2.Address, out var a2))
        {
            if (a1 == a2)
            {
                errors.Add(new("node2.address", $"Both nodes have the address {cluster.Node1.Address}: each node needs its own address."));
            }
            else if (IsValidPrefix(cluster.VipPrefixLength) && !SameSubnet(a1, a2, cluster.VipPrefixLength))
            {
                // VRRP and LVS-DR need both hosts on one L2 segment (the runbook's interface `mgt`).
                errors.Add(new("node2.address",
                    $"{cluster.Node2.Address} is not in the same /{cluster.VipPrefixLength} subnet as {cluster.Node1.Address}: both nodes must share one network segment."));
            }
        }
    }

    private static void ValidateVips(ClusterSpec cluster, List<ValidationError> errors)
    {
        var prefixOk = IsValidPrefix(cluster.VipPrefixLength);
        if (!prefixOk)
        {
            errors.Add(new("vipPrefixLength", $"The VIP prefix length {cluster.VipPrefixLength} must be between 8 and 30."));
        }

        var nodes = new List<(string Label, uint Address)>();
        foreach (var (node, label) in new[] { (cluster.Node1, "node1"), (cluster.Node2, "node2") })
        {
            if (TryParseIpv4(node.Address, out var a))
            {
                nodes.Add(($"{label} ({node.Name})", a));
            }
        }

        uint? write = CheckVip(cluster.WriteVip, "writeVip", "write VIP", nodes, prefixOk ? cluster.VipPrefixLength : null, errors);
        uint? read = CheckVip(cluster.ReadVip, "readVip", "read VIP", nodes, prefixOk ? cluster.VipPrefixLength : null, errors);
        if (write is not null && write == read)
        {
            errors.Add(new("readVip", $"The read VIP equals the write VIP ({cluster.WriteVip}): they must be two different addresses."));
        }
    }

    private static uint? CheckVip(string value, string field, string label, List<(string Label, uint Address)> nodes, int? prefix, List<ValidationError> errors)
    {
        if (!TryParseIpv4(value, out var vip))
        {
            errors.Add(new(field, $"'{Shown(value)}' is not an IPv4 address (four numbers 0-255 separated by dots)."));
            return null;
        }

        if (UnusableReason(vip) is { } reason)
        {
            errors.Add(new(field, $"{value} cannot be a VIP: {reason}."));
            return null;
        }

        foreach (var (nodeLabel, address) in nodes)
        {
            if (address == vip)
            {
                errors.Add(new(field, $"The {label} {value} is the address of {nodeLabel}: a VIP must be an address no host owns."));
                return null;
            }
        }

        if (prefix is { } p)
        {
            foreach (var (nodeLabel, address) in nodes)
            {
                if (!SameSubnet(address, vip, p))
                {
                    errors.Add(new(field, $"The {label} {value} is not in the /{p} subnet of {nodeLabel}: keepalived can only announce it on the nodes' own segment."));
                    return vip;
                }
            }

            var mask = Mask(p);
            if ((vip & ~mask) == 0 || (vip | mask) == uint.MaxValue)
            {
                errors.Add(new(field, $"The {label} {value} is the network or broadcast address of its /{p} subnet."));
            }
        }

        return vip;
    }

    // ---- VRRP ----------------------------------------------------------------------------------------------------

    private static void ValidateVrrp(VrrpSettings vrrp, List<ValidationError> errors)
    {
        if (!IsInterfaceName(vrrp.Interface))
        {
            errors.Add(new("vrrp.interface", $"'{Shown(vrrp.Interface)}' is not a valid interface name: 1 to 15 letters, digits, '_', '.' or '-'."));
        }

        if (vrrp.VirtualRouterId is < 1 or > 255)
        {
            errors.Add(new("vrrp.virtualRouterId", $"virtual_router_id {vrrp.VirtualRouterId} is outside 1-255."));
        }

        if (vrrp.Node1Priority is < 1 or > 254)
        {
            errors.Add(new("vrrp.node1Priority", $"Priority {vrrp.Node1Priority} is outside 1-254 (255 is reserved for the address owner)."));
        }

        if (vrrp.Node2Priority is < 1 or > 254)
        {
            errors.Add(new("vrrp.node2Priority", $"Priority {vrrp.Node2Priority} is outside 1-254 (255 is reserved for the address owner)."));
        }
        else if (vrrp.Node1Priority == vrrp.Node2Priority)
        {
            errors.Add(new("vrrp.node2Priority", $"Both nodes have priority {vrrp.Node1Priority}: give them different priorities so the election is deterministic."));
        }

        if (vrrp.AdvertIntSeconds <= 0m || vrrp.AdvertIntSeconds > 255m)
        {
            errors.Add(new("vrrp.advertInt", $"advert_int {vrrp.AdvertIntSeconds.ToString(CultureInfo.InvariantCulture)} must be greater than 0 and at most 255 seconds."));
        }
        else if (decimal.Round(vrrp.AdvertIntSeconds, 2) != vrrp.AdvertIntSeconds)
        {
            errors.Add(new("vrrp.advertInt", "advert_int is counted in hundredths of a second (VRRPv3): use at most two decimals."));
        }
    }

    // ---- PostgreSQL ---------------------------------------------------------------------------------------------

    private static void ValidatePostgres(PostgresSettings pg, List<ValidationError> errors)
    {
        if (pg.MajorVersion is < MinMajorVersion or > MaxMajorVersion)
        {
            errors.Add(new("postgres.majorVersion", $"PostgreSQL {pg.MajorVersion} is not supported: the major version must be between {MinMajorVersion} and {MaxMajorVersion}."));
        }

        CheckPath(pg.DataDir, "postgres.dataDir", "data directory", errors);
        CheckPath(pg.BinDir, "postgres.binDir", "bin directory", errors);

        if (pg.Port is < 1 or > 65535)
        {
            errors.Add(new("postgres.port", $"Port {pg.Port} is outside 1-65535."));
        }

        CheckIdentifier(pg.OsUser, "postgres.osUser", "OS user", errors);
        CheckIdentifier(pg.ReplicationUser, "postgres.replicationUser", "replication role", errors);
        CheckIdentifier(pg.MonitorUser, "postgres.monitorUser", "monitoring role", errors);
        if (IsIdentifier(pg.ReplicationUser) && pg.ReplicationUser == pg.MonitorUser)
        {
            errors.Add(new("postgres.monitorUser", "The monitoring role must differ from the replication role."));
        }

        if (pg.ServiceControl == ServiceControl.Systemd)
        {
            if (string.IsNullOrWhiteSpace(pg.SystemdUnit))
            {
                errors.Add(new("postgres.systemdUnit", "A systemd unit name is required when PostgreSQL is controlled by systemd (e.g. postgresql@15-main)."));
            }
            else if (!IsSystemdUnit(pg.SystemdUnit))
            {
                errors.Add(new("postgres.systemdUnit", $"'{Shown(pg.SystemdUnit)}' is not a valid systemd unit name: letters, digits, ':', '_', '.', '@' and '-' only, at most 255 characters."));
            }
        }
    }

    private static void CheckPath(string path, string field, string label, List<ValidationError> errors)
    {
        if (string.IsNullOrEmpty(path))
        {
            errors.Add(new(field, $"The {label} is required."));
        }
        else if (path[0] != '/')
        {
            errors.Add(new(field, $"The {label} '{Shown(path)}' must be an absolute path (starting with '/')."));
        }
        else if (path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            errors.Add(new(field, $"The {label} must not contain spaces or control characters."));
        }
        else if (!path.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '/' or '-'))
        {
            errors.Add(new(field, $"The {label} '{Shown(path)}' may only contain letters, digits, '.', '_', '-' and '/'."));
        }
        else if (path.Split('/').Any(segment => segment is ".." or "."))
        {
            errors.Add(new(field, $"The {label} '{path}' must not contain '.' or '..' segments."));
        }
        else if (path == "/" || path.Contains("//", StringComparison.Ordinal))
        {
            errors.Add(new(field, $"The {label} '{path}' is not a usable directory."));
        }
    }

    private static void CheckIdentifier(string value, string field, string label, List<ValidationError> errors)
    {
        if (!IsIdentifier(value))
        {
            errors.Add(new(field, $"'{Shown(value)}' is not a valid {label} name: a lowercase letter or '_' first, then lowercase letters, digits or '_', at most 63 characters."));
        }
    }

    // ---- secrets ------------------------------------------------------------------------------------------------

    private static void ValidateClusterSecrets(ClusterSecrets secrets, List<ValidationError> errors)
    {
        var vrrp = secrets.VrrpPassword;
        if (string.IsNullOrEmpty(vrrp))
        {
            errors.Add(new("vrrp.password", "The VRRP password is required (keepalived PASS authentication, 1 to 8 characters)."));
        }
        else if (vrrp.Length > MaxVrrpPasswordLength)
        {
            // Never echo the secret itself.
            errors.Add(new("vrrp.password",
                $"The VRRP password has {vrrp.Length} characters: keepalived PASS authentication uses at most {MaxVrrpPasswordLength}, so a longer one would be silently truncated."));
        }
        else if (!IsVrrpPasswordText(vrrp))
        {
            errors.Add(new("vrrp.password",
                "The VRRP password may only contain printable ASCII characters other than space, quotes, '#', '!' and '\\' (keepalived.conf cannot carry them)."));
        }

        CheckPasswordText(secrets.ReplicationPassword, "postgres.replicationPassword", "replication password", errors);
        CheckPasswordText(secrets.MonitorPassword, "postgres.monitorPassword", "monitoring password", errors);
    }

    private static void CheckPasswordText(string? password, string field, string label, List<ValidationError> errors)
    {
        // Optional (the wizard can generate one), but a .pgpass line cannot hold a line break or NUL.
        if (password is not null && (password.Length == 0 || password.Any(c => c is '\n' or '\r' or '\0')))
        {
            errors.Add(new(field, $"The {label} must not be empty or contain line breaks."));
        }
    }

    private static void ValidateNodeSecrets(NodeSpec node, string prefix, IReadOnlyDictionary<Guid, NodeSecrets> all, List<ValidationError> errors)
    {
        all.TryGetValue(node.Id, out var s);
        var ok = node.AuthKind switch
        {
            SshAuthKind.PrivateKey => !string.IsNullOrWhiteSpace(s?.PrivateKey),
            SshAuthKind.Password => !string.IsNullOrEmpty(s?.Password),
            _ => false,
        };
        if (!ok)
        {
            errors.Add(new($"{prefix}.auth", node.AuthKind == SshAuthKind.PrivateKey
                ? $"Node {node.Name} authenticates with a private key, but no key was given."
                : $"Node {node.Name} authenticates with a password, but no password was given."));
        }
    }

    // ---- shared predicates (public: the renderers and the UI use the same rules) ---------------------------------

    /// <summary>Strict dotted-quad IPv4: four decimal numbers 0-255, no leading zeros (which some tools read as octal).</summary>
    public static bool TryParseIpv4(string? text, out uint address)
    {
        address = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            var octet = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
            if (octet > 255)
            {
                return false;
            }

            address = (address << 8) | (uint)octet;
        }

        return true;
    }

    public static bool IsIpv4(string? text) => TryParseIpv4(text, out _);

    /// <summary>RFC 1123 host label: 1-63 of [A-Za-z0-9-], not starting or ending with '-'.</summary>
    public static bool IsHostLabel(string? s) =>
        !string.IsNullOrEmpty(s) && s.Length <= 63 && s[0] != '-' && s[^1] != '-'
        && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    /// <summary>PostgreSQL role / OS user name the console accepts: [a-z_][a-z0-9_]*, at most 63 characters.</summary>
    public static bool IsIdentifier(string? s) =>
        !string.IsNullOrEmpty(s) && s.Length <= 63 && (char.IsAsciiLetterLower(s[0]) || s[0] == '_')
        && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    /// <summary>Linux interface name: 1-15 (IFNAMSIZ-1) of [A-Za-z0-9_.-].</summary>
    public static bool IsInterfaceName(string? s) =>
        !string.IsNullOrEmpty(s) && s.Length <= 15 && s is not ("." or "..")
        && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    public static bool IsLinuxUserName(string? s) =>
        !string.IsNullOrEmpty(s) && s.Length <= 32 && (char.IsAsciiLetterLower(s[0]) || s[0] == '_')
        && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-');

    public static bool IsSystemdUnit(string? s) =>
        !string.IsNullOrEmpty(s) && s.Length <= 255 && s[0] != '-'
        && s.All(c => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '.' or '@' or '-');

    /// <summary>What keepalived.conf can carry as a bare <c>auth_pass</c> token.</summary>
    public static bool IsVrrpPasswordText(string? s) =>
        !string.IsNullOrEmpty(s) && s.All(c => c is > ' ' and < (char)127 and not ('"' or '\'' or '#' or '!' or '\\'));

    /// <summary>Whether two IPv4 addresses (as parsed by <see cref="TryParseIpv4"/>) share a /prefix network.</summary>
    public static bool SameSubnet(uint a, uint b, int prefixLength) => (a & Mask(prefixLength)) == (b & Mask(prefixLength));

    private static uint Mask(int prefixLength) => prefixLength <= 0 ? 0u : uint.MaxValue << (32 - prefixLength);

    private static bool IsValidPrefix(int prefix) => prefix is >= 8 and <= 30;

    private static string? UnusableReason(uint a) => (a >> 24) switch
    {
        0 => "addresses in 0.0.0.0/8 are not host addresses",
        127 => "it is a loopback address",
        >= 224 and <= 239 => "it is a multicast address",
        >= 240 => "it is a reserved or broadcast address",
        _ => null,
    };

    /// <summary>Shows user input in a message without letting control characters garble it.</summary>
    private static string Shown(string? s)
    {
        if (s is null)
        {
            return "";
        }

        var clean = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > 80 ? string.Concat(clean.AsSpan(0, 77), "...") : clean;
    }
}
