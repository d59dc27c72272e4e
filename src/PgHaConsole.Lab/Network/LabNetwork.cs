using System.Globalization;

namespace PgHaConsole.Lab;

/// <summary>The lab's network on this machine: the bridge with 198.18.4.1/24 and one namespace + veth per host.</summary>
internal static class LabNetwork
{
    public static async Task CreateNetworkAsync(string stateDir, TextWriter log, CancellationToken ct)
    {
        log.WriteLine($"lab: creating bridge {LabTopology.Bridge} and namespaces");
        var bridgeCidr = $"{LabTopology.BridgeAddress}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        string[][] bridge =
        [
            ["ip", "link", "add", "name", LabTopology.Bridge, "type", "bridge"],
            // No IPv6 link-local addresses: the lab only ever sends to 198.18.4.0/24.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "addrgenmode", "none"],
            // The alias records which state dir owns the lab, so another --state cannot tear it down by mistake.
            ["ip", "link", "set", "dev", LabTopology.Bridge, "alias", stateDir],
            ["ip", "addr", "add", bridgeCidr, "dev", LabTopology.Bridge],
            ["ip", "link", "set", "dev", LabTopology.Bridge, "up"],
        ];
        foreach (var argv in bridge)
        {
            await CommandRunner.RunCheckedAsync("Creating the bridge", argv, ct).ConfigureAwait(false);
        }

        await Task.WhenAll(LabTopology.Hosts.Select(h => CreateHostNetworkAsync(h, ct))).ConfigureAwait(false);
    }

    private static async Task CreateHostNetworkAsync(LabHostDefinition host, CancellationToken ct)
    {
        var cidr = $"{host.Address}/{LabTopology.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        string[][] steps =
        [
            ["ip", "netns", "add", host.Namespace],
            ["ip", "link", "add", "name", host.RootVeth, "type", "veth", "peer", "name", LabTopology.Interface, "netns", host.Namespace],
            ["ip", "link", "set", "dev", host.RootVeth, "addrgenmode", "none"],
            ["ip", "link", "set", "dev", host.RootVeth, "master", LabTopology.Bridge],
            ["ip", "link", "set", "dev", host.RootVeth, "up"],
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "addrgenmode", "none"],
            ["ip", "-n", host.Namespace, "addr", "add", cidr, "dev", LabTopology.Interface],
            ["ip", "-n", host.Namespace, "link", "set", "dev", "lo", "up"],
            ["ip", "-n", host.Namespace, "link", "set", "dev", LabTopology.Interface, "up"],
        ];
        foreach (var argv in steps)
        {
            await CommandRunner.RunCheckedAsync($"Creating host {host.Name}'s network", argv, ct).ConfigureAwait(false);
        }
    }
}
