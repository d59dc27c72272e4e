using System.Text.Json;
using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Model;

/// <summary>
/// Turns the lab's <c>lab.json</c> into a cluster: the two lab hosts, the reserved VIPs, PostgreSQL settings and
/// the pinned host keys the lab recorded. The private key is read by the caller (it is a file on the console's
/// machine) and handed over as a secret.
/// </summary>
public static class LabImport
{
    /// <summary>Parses lab.json; errors name the missing or bad field.</summary>
    public static (LabInfo? Lab, IReadOnlyList<ValidationError> Errors) Parse(string json)
    {
        LabInfo? lab;
        try
        {
            lab = LabInfo.FromJson(json);
        }
        catch (JsonException ex)
        {
            return (null, [new ValidationError("labJson", $"Not a valid lab.json: {ex.Message}")]);
        }

        var errors = new List<ValidationError>();
        if (lab is null)
        {
            return (null, [new ValidationError("labJson", "lab.json is empty.")]);
        }

        if (lab.Nodes is not { Count: 2 })
        {
            errors.Add(new ValidationError("nodes", "lab.json must describe exactly two nodes."));
        }
        else
        {
            for (var i = 0; i < 2; i++)
            {
                var n = lab.Nodes[i];
                var prefix = $"nodes[{i}]";
                if (string.IsNullOrWhiteSpace(n.Name)) errors.Add(new($"{prefix}.name", "missing"));
                if (string.IsNullOrWhiteSpace(n.Address)) errors.Add(new($"{prefix}.address", "missing"));
                if (string.IsNullOrWhiteSpace(n.SshKeyPath)) errors.Add(new($"{prefix}.sshKeyPath", "missing"));
                if (string.IsNullOrWhiteSpace(n.HostKeySha256)) errors.Add(new($"{prefix}.hostKeySha256", "missing"));
                if (string.IsNullOrWhiteSpace(n.PgDataDir)) errors.Add(new($"{prefix}.pgDataDir", "missing"));
                if (string.IsNullOrWhiteSpace(n.PgBinDir)) errors.Add(new($"{prefix}.pgBinDir", "missing"));
            }
        }

        if (string.IsNullOrWhiteSpace(lab.WriteVip)) errors.Add(new("writeVip", "missing"));
        if (string.IsNullOrWhiteSpace(lab.ReadVip)) errors.Add(new("readVip", "missing"));
        if (string.IsNullOrWhiteSpace(lab.Interface)) errors.Add(new("interface", "missing"));
        return errors.Count == 0 ? (lab, errors) : (null, errors);
    }

    /// <summary>The cluster a lab describes. HAProxy balances the read VIP unless the lab's kernel has IPVS.</summary>
    public static ClusterSpec ToCluster(LabInfo lab, string name)
    {
        var a = lab.Nodes[0];
        var b = lab.Nodes[1];
        return new ClusterSpec
        {
            Name = name,
            Node1 = ToNode(a),
            Node2 = ToNode(b),
            WriteVip = lab.WriteVip,
            ReadVip = lab.ReadVip,
            Vrrp = new VrrpSettings { Interface = lab.Interface, AdvertIntSeconds = lab.AdvertIntSeconds is > 0m and <= 255m ? lab.AdvertIntSeconds : 1m },
            Balancer = lab.IpvsAvailable ? BalancerMode.LvsDr : BalancerMode.Haproxy,
            Postgres = new PostgresSettings
            {
                MajorVersion = lab.PgVersion,
                BinDir = a.PgBinDir,
                DataDir = a.PgDataDir,
                Port = a.PgPort,
                OsUser = a.OsUser,
                ServiceControl = ServiceControl.PgCtl,
            },
        };
    }

    private static NodeSpec ToNode(LabNode n) => new()
    {
        Name = n.Name,
        Address = n.Address,
        SshPort = n.SshPort,
        SshUser = n.SshUser,
        AuthKind = SshAuthKind.PrivateKey,
        Privilege = n.SshUser == "root" ? PrivilegeMode.Root : PrivilegeMode.Sudo,
        HostKeySha256 = n.HostKeySha256.StartsWith("SHA256:", StringComparison.Ordinal) ? n.HostKeySha256[7..] : n.HostKeySha256,
    };
}
