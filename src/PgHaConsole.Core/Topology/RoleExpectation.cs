namespace PgHaConsole.Core.Topology;

/// <summary>
/// What an operation that ends with a node in a role (setup, switchover, failover, rejoin, rebuild) expects the
/// console's own probe to see of that node, and what differs. Empty means the probe agrees.
/// </summary>
public static class RoleExpectation
{
    /// <param name="observed">The probe's picture of the node.</param>
    /// <param name="expected"><see cref="NodeRole.Primary"/> or <see cref="NodeRole.Standby"/>.</param>
    /// <param name="upstreamAddress">For a standby: the address of the primary it must stream from (null: any).</param>
    public static IReadOnlyList<string> Disagreements(NodeState observed, NodeRole expected, string? upstreamAddress = null)
    {
        ArgumentNullException.ThrowIfNull(observed);
        if (expected is not (NodeRole.Primary or NodeRole.Standby))
        {
            throw new ArgumentOutOfRangeException(nameof(expected), expected, "a node is expected as primary or standby");
        }

        var found = new List<string>();
        if (!observed.SshReachable)
        {
            // The probe's own reason (masked) says which: a timeout, a refused connection, a host key, the script.
            found.Add(observed.Errors.Count > 0
                ? $"its host does not answer the probe over SSH ({observed.Errors[0]})"
                : "its host does not answer the probe over SSH");
        }

        if (!observed.PgReachable)
        {
            found.Add($"PostgreSQL does not answer the probe on {observed.Address}");
        }
        else if (observed.Role != expected)
        {
            found.Add($"the probe sees it as {Describe(observed.Role)}, not {Describe(expected)}");
        }
        else if (expected == NodeRole.Standby)
        {
            var receiver = observed.WalReceiver;
            if (receiver?.Status != "streaming")
            {
                found.Add($"its WAL receiver is {receiver?.Status ?? "not running"}, not streaming");
            }
            else if (upstreamAddress is not null && receiver.SenderHost is { } sender && !string.Equals(sender, upstreamAddress, StringComparison.OrdinalIgnoreCase))
            {
                found.Add($"it streams from {sender}, not from {upstreamAddress}");
            }
        }

        if (observed.PostmasterRunning == false)
        {
            found.Add("no live postmaster owns its data directory");
        }

        if (observed.Fenced is { } fence)
        {
            found.Add($"it is still marked fenced ({fence})");
        }

        return found;
    }

    private static string Describe(NodeRole role) => role switch
    {
        NodeRole.Primary => "a primary",
        NodeRole.Standby => "a standby",
        NodeRole.Down => "down",
        _ => "in an unknown role",
    };
}
