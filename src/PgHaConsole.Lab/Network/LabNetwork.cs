using System.Globalization;

namespace PgHaConsole.Lab;

/// <summary>
/// The lab's network: the bridge with 198.18.4.1/24 and one namespace + veth per host. On this machine for the
/// namespace lab; the UML lab runs the same commands inside its guest kernel (<see cref="UmlGuestScript"/>).
/// </summary>
internal static class LabNetwork
{
    public static async Task CreateNetworkAsync(string stateDir, TextWriter log, CancellationToken ct)
    {
        log.WriteLine($"lab: creating bridge {LabTopology.Bridge} and namespaces");
        foreach (var argv in BridgeCommands(stateDir))
        {
            await CommandRunner.RunCheckedAsync("Creating the bridge", argv, ct).ConfigureAwait(false);
        }

        await Task.WhenAll(LabTopology.Hosts.Select(h => CreateHostNetworkAsync(h, ct))).ConfigureAwait(false);
    }

    /// <summary>The bridge, with the owning state dir recorded in its alias.</summary>
    public static string[][] BridgeCommands(string stateDir)
    {
        var bridgeCidr = $"{LabTopology.BridgeAddress}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        return
        [
            ["ip", "link", "add", "name", LabTopology.Bridge, "type", "bridge"],
            // No IPv6 link-local addresses: the lab only ever sends to 198.18.4.0/24.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "addrgenmode", "none"],
            // The alias records which state dir owns the lab, so another --state cannot tear it down by mistake.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "alias", stateDir],
            ["ip", "addr", "add", bridgeCidr, "dev", LabTopology.Bridge],
            ["ip", "link", "set", "dev", LabTopology.Bridge, "up"],
        ];
    }

    /// <summary>
    /// One host's namespace, its <c>mgt</c> end of a veth pair and the bridge end; <paramref name="mac"/> gives <c>mgt</c>
    /// the MAC it had before a restart (a NIC keeps its address across a reboot).
    /// </summary>
    public static string[][] HostCommands(LabHostDefinition host, string? mac = null)
    {
        var cidr = $"{host.Address}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        string[][] keepMac = mac is null ? [] : [["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "address", mac]];
        return
        [
            ["ip", "netns", "add", host.Namespace],
            ["ip", "link", "add", "name", host.RootVeth, "type", "veth", "peer", "name", LabTopology.Interface, "netns", host.Namespace],
            ["ip", "link", "set", "dev", host.RootVeth, "addrgenmode", "none"],
            ["ip", "link", "set", "dev", host.RootVeth, "master", LabTopology.Bridge],
            ["ip", "link", "set", "dev", host.RootVeth, "up"],
            .. keepMac,
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "addrgenmode", "none"],
            ["ip", "-n", host.Namespace, "addr", "add", cidr, "dev", LabTopology.Interface],
            ["ip", "-n", host.Namespace, "link", "set", "dev", "lo", "up"],
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "up"],
        ];
    }

    private static async Task CreateHostNetworkAsync(LabHostDefinition host, CancellationToken ct)
    {
        foreach (var argv in HostCommands(host))
        {
            await CommandRunner.RunCheckedAsync($"Creating host {host.Name}'s network", argv, ct).ConfigureAwait(false);
        }
    }
}
