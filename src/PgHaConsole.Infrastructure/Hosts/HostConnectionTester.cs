using Microsoft.Extensions.Logging;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Hosts;

public enum NodeConnectionStatus
{
    /// <summary>Pinned key matched; the host was inspected.</summary>
    Ok,

    /// <summary>No key pinned yet: the fingerprint is shown for the user to confirm; nothing was run.</summary>
    Unpinned,

    /// <summary>The host presented another key than the pinned one: refused (possible interception).</summary>
    HostKeyMismatch,

    /// <summary>Unreachable, authentication refused, or inspection failed.</summary>
    Error,
}

public sealed record NodeConnectionResult(
    Guid NodeId,
    string Name,
    string Address,
    NodeConnectionStatus Status,
    string? Fingerprint,
    string? PinnedFingerprint,
    string? Error,
    HostInfo? Host);

public sealed record ConnectionReport(Guid ClusterId, string ClusterName, IReadOnlyList<NodeConnectionResult> Nodes);

/// <summary>The outcome of confirming a host key: pinned, or why not (<see cref="Refused"/>: the host presents another key now).</summary>
public sealed record HostKeyConfirmation(bool Pinned, string? Reason, bool Refused, string? PresentedSha256);

/// <summary>
/// Host-key trust on first use: a node whose key is not pinned is only asked for its key (kept as pending, shown to the
/// operator); commands run only on hosts whose key is pinned and matches; a confirmed key is pinned only when the host
/// still presents it.
/// </summary>
public sealed partial class HostConnectionTester(IClusterRepository clusters, ISshSessionPool ssh, HostInspector inspector, ILogger<HostConnectionTester> logger)
{
    public async Task<NodeConnectionResult> TestNodeAsync(NodeSpec node, CancellationToken ct)
    {
        var secrets = await clusters.GetNodeSecretsAsync(node.Id, ct);
        var target = SshTarget.FromNode(node, secrets);
        try
        {
            if (node.HostKeySha256 is null)
            {
                var probed = await ssh.ProbeHostKeyAsync(target, ct);
                await clusters.SetPendingHostKeyAsync(node.Id, probed.Sha256, ct);
                return new(node.Id, node.Name, node.Address, NodeConnectionStatus.Unpinned, probed.Sha256, null, null, null);
            }

            var info = await inspector.InspectAsync(ssh.GetSession(target), ct);
            return new(node.Id, node.Name, node.Address, NodeConnectionStatus.Ok, info.HostKey.Sha256, node.HostKeySha256, null, info);
        }
        catch (HostKeyMismatchException ex)
        {
            LogMismatch(logger, node.Name, node.Address);
            await clusters.SetPendingHostKeyAsync(node.Id, ex.Actual, ct);
            return new(node.Id, node.Name, node.Address, NodeConnectionStatus.HostKeyMismatch, ex.Actual, node.HostKeySha256, ex.Message, null);
        }
        catch (SshLayerException ex)
        {
            return new(node.Id, node.Name, node.Address, NodeConnectionStatus.Error, target.NormalizedPin, node.HostKeySha256, ex.Message, null);
        }
    }

    /// <summary>Pins the key <paramref name="node"/> presents now if it is <paramref name="fingerprint"/> (the one the operator saw).</summary>
    public async Task<HostKeyConfirmation> ConfirmHostKeyAsync(NodeSpec node, string fingerprint, CancellationToken ct)
    {
        var wanted = HostKeyFingerprint.Normalize(fingerprint);
        if (string.IsNullOrEmpty(wanted))
        {
            return new(false, "Give the SHA-256 fingerprint you confirm.", false, null);
        }

        HostKeyInfo presented;
        try
        {
            presented = await ssh.ProbeHostKeyAsync(SshTarget.FromNode(node with { HostKeySha256 = null }, null), ct);
        }
        catch (SshLayerException ex)
        {
            return new(false, $"Cannot reach {node.Name} to check its key: {ex.Message}", false, null);
        }

        if (!HostKeyFingerprint.Matches(wanted, presented.Sha256))
        {
            return new(false, $"{node.Name} now presents SHA256:{presented.Sha256}, not the key you confirmed. Nothing was pinned.", true, presented.Sha256);
        }

        await clusters.PinHostKeyAsync(node.Id, presented.Sha256, ct);
        return new(true, null, false, presented.Sha256);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Host key of {Node} ({Address}) does not match the pinned key: possible interception")]
    private static partial void LogMismatch(ILogger logger, string node, string address);
}
