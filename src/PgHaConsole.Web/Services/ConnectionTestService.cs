using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

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

/// <summary>
/// "Test connection": connects to both nodes over SSH, shows what each host has, and the host key fingerprints.
/// Commands run only on hosts whose key is pinned and matches; an unpinned host is only asked for its key.
/// </summary>
public sealed class ConnectionTestService(
    IClusterRepository clusters,
    ISshSessionPool ssh,
    HostInspector inspector,
    AuditService audit,
    ILogger<ConnectionTestService> logger)
{
    public async Task<ConnectionReport?> TestAsync(Guid clusterId, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct);
        if (stored is null)
        {
            return null;
        }

        var cluster = stored.Spec;
        var results = await Task.WhenAll(cluster.Nodes.Select(n => TestNodeAsync(n, ct)));
        var summary = string.Join(", ", results.Select(r => $"{r.Name}: {r.Status}"));
        await audit.WriteAsync(actor, "cluster.test-connection", clusterId, cluster.Name,
            results.All(r => r.Status == NodeConnectionStatus.Ok) ? "succeeded" : "failed", summary, ct);
        return new ConnectionReport(clusterId, cluster.Name, results);
    }

    private async Task<NodeConnectionResult> TestNodeAsync(NodeSpec node, CancellationToken ct)
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
            logger.LogError("Host key of {Node} ({Address}) does not match the pinned key: possible interception", node.Name, node.Address);
            await clusters.SetPendingHostKeyAsync(node.Id, ex.Actual, ct);
            return new(node.Id, node.Name, node.Address, NodeConnectionStatus.HostKeyMismatch, ex.Actual, node.HostKeySha256, ex.Message, null);
        }
        catch (SshLayerException ex)
        {
            return new(node.Id, node.Name, node.Address, NodeConnectionStatus.Error, target.NormalizedPin, node.HostKeySha256, ex.Message, null);
        }
    }

    /// <summary>
    /// Pins the key a host presents now, if it is the one the user saw. Returns null when the cluster or node does
    /// not exist, "" on success, else the reason.
    /// </summary>
    public async Task<string?> ConfirmHostKeyAsync(Guid clusterId, Guid nodeId, string fingerprint, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct);
        var node = stored?.Spec.FindNode(nodeId);
        if (stored is null || node is null)
        {
            return null;
        }

        var wanted = HostKeyFingerprint.Normalize(fingerprint);
        if (string.IsNullOrEmpty(wanted))
        {
            return "Give the SHA-256 fingerprint you confirm.";
        }

        HostKeyInfo presented;
        try
        {
            presented = await ssh.ProbeHostKeyAsync(SshTarget.FromNode(node with { HostKeySha256 = null }, null), ct);
        }
        catch (SshLayerException ex)
        {
            return $"Cannot reach {node.Name} to check its key: {ex.Message}";
        }

        if (!HostKeyFingerprint.Matches(wanted, presented.Sha256))
        {
            await audit.WriteAsync(actor, "node.confirm-host-key", clusterId, node.Name, "refused", "the host now presents another key", ct);
            return $"{node.Name} now presents SHA256:{presented.Sha256}, not the key you confirmed. Nothing was pinned.";
        }

        await clusters.PinHostKeyAsync(nodeId, presented.Sha256, ct);
        await audit.WriteAsync(actor, "node.confirm-host-key", clusterId, node.Name, "succeeded", $"SHA256:{presented.Sha256}", ct);
        return "";
    }
}
