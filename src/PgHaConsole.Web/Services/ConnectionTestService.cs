using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>
/// "Test connection" for the pages and the API: both nodes through <see cref="HostConnectionTester"/> (host-key trust
/// and inspection live there), audited.
/// </summary>
public sealed class ConnectionTestService(IClusterRepository clusters, HostConnectionTester tester, AuditService audit)
{
    public async Task<ConnectionReport?> TestAsync(Guid clusterId, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct);
        if (stored is null)
        {
            return null;
        }

        var cluster = stored.Spec;
        var results = await Task.WhenAll(cluster.Nodes.Select(n => tester.TestNodeAsync(n, ct)));
        var summary = string.Join(", ", results.Select(r => $"{r.Name}: {r.Status}"));
        await audit.WriteAsync(actor, "cluster.test-connection", clusterId, cluster.Name,
            results.All(r => r.Status == NodeConnectionStatus.Ok) ? "succeeded" : "failed", summary, ct);
        return new ConnectionReport(clusterId, cluster.Name, results);
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

        var result = await tester.ConfirmHostKeyAsync(node, fingerprint, ct);
        if (result.Refused)
        {
            await audit.WriteAsync(actor, "node.confirm-host-key", clusterId, node.Name, "refused", "the host now presents another key", ct);
        }
        else if (result.Pinned)
        {
            await audit.WriteAsync(actor, "node.confirm-host-key", clusterId, node.Name, "succeeded", $"SHA256:{result.PresentedSha256}", ct);
        }

        return result.Pinned ? "" : result.Reason;
    }
}
