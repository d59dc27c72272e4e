namespace PgHaConsole.Lab;

/// <summary>What must hold before the lab changes anything: Linux, root, the Debian packages, a free address range.</summary>
internal static class LabPrerequisites
{
    // Debian package for each program the lab needs.
    private static readonly (string Program, string Package)[] RequiredPrograms =
    [
        ("ip", "iproute2"),
        ("unshare", "util-linux"),
        ("nsenter", "util-linux"),
        ("setsid", "util-linux"),
        ("runuser", "util-linux"),
        ("sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
        ("keepalived", "keepalived"),
        ("haproxy", "haproxy"),
        ("ipvsadm", "ipvsadm"),
        ("iptables", "iptables"),
        (LabTopology.PgBinDir + "/initdb", "postgresql"),
    ];

    private static readonly string[] LabPackages =
        ["postgresql", "openssh-server", "keepalived", "haproxy", "ipvsadm", "iptables", "iproute2"];

    public static void EnsureRoot(string command)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new LabException("The lab needs Linux (network namespaces, bridges, mount namespaces).", "Run it on a Debian 12 machine.");
        }

        if (!Environment.IsPrivilegedProcess)
        {
            throw new LabException(
                $"The lab must run as root to create network namespaces, a bridge and mounts (`{command}` was run as {Environment.UserName}).",
                $"run as root: sudo dotnet run --project src/PgHaConsole.Lab -- {command}");
        }
    }

    public static async Task EnsurePackagesAsync(bool install, bool ipvs, TextWriter log, CancellationToken ct)
    {
        (string Program, string Package)[] required = ipvs ? [.. RequiredPrograms, .. UmlLab.RequiredPrograms] : RequiredPrograms;
        string[] packages = ipvs ? [.. LabPackages, .. UmlLab.RequiredPrograms.Select(p => p.Package).Distinct()] : LabPackages;
        var missing = MissingPrograms(required);
        if (missing.Count == 0)
        {
            return;
        }

        var aptLine = "apt-get update && apt-get install -y " + string.Join(' ', packages);
        if (!install)
        {
            throw new LabException(
                "Missing programs the lab needs: " + string.Join(", ", missing.Select(m => $"{m.Program} (package {m.Package})")) + ".",
                $"Install the lab's Debian packages ({string.Join(", ", packages)}): sudo sh -c '{aptLine}', or run `up --install-packages` to let the lab do it.");
        }

        log.WriteLine($"lab: installing Debian packages: {string.Join(' ', packages)}");
        await CommandRunner.RunCheckedAsync("apt-get update", ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"], ct, timeout: TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        await CommandRunner.RunCheckedAsync(
            "apt-get install",
            ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", .. packages],
            ct,
            timeout: TimeSpan.FromMinutes(20)).ConfigureAwait(false);
        missing = MissingPrograms(required);
        if (missing.Count > 0)
        {
            throw new LabException(
                "Still missing after apt-get install: " + string.Join(", ", missing.Select(m => m.Program)) + ".",
                "Check apt's sources (PostgreSQL must be version 15 at " + LabTopology.PgBinDir + ").");
        }
    }

    private static List<(string Program, string Package)> MissingPrograms((string Program, string Package)[] required) =>
        required.Where(r => LabSystem.FindProgram(r.Program) is null).ToList();

    public static async Task EnsureAddressRangeFreeAsync(CancellationToken ct)
    {
        var result = await CommandRunner.RunCheckedAsync("Listing addresses", ["ip", "-j", "-4", "addr", "show"], ct).ConfigureAwait(false);
        var clash = LabSystem.ParseIpAddrJson(result.StandardOutput)
            .Where(a => a.Interface != LabTopology.Bridge && LabSystem.InLabNetwork(a.Address))
            .ToList();
        if (clash.Count > 0)
        {
            throw new LabException(
                $"The lab's address range {LabTopology.Network} is already in use on this machine: "
                + string.Join(", ", clash.Select(c => $"{c.Address}/{c.Prefix} on {c.Interface}")) + ".",
                "Remove those addresses (ip addr del ADDRESS/PREFIX dev INTERFACE) or run the lab on another machine; its addresses are fixed.");
        }
    }
}
