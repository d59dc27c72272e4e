using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Validation;

/// <summary>
/// Renderers write model values into configuration files and scripts; a value with a newline or a quote could add
/// directives. They refuse a model that does not pass <see cref="ClusterValidator"/> (secrets are checked apart).
/// </summary>
internal static class RenderGuard
{
    public static void EnsureValid(ClusterSpec cluster, NodeSpec? node = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var errors = ClusterValidator.Validate(cluster);
        if (errors.Count > 0)
        {
            throw new ArgumentException(
                "The cluster is not valid; fix these fields first: " + string.Join(", ", errors.Select(e => e.Field).Distinct()),
                nameof(cluster));
        }

        if (node is not null && cluster.FindNode(node.Id) is null)
        {
            throw new ArgumentException($"Node {node.Name} is not part of cluster {cluster.Name}.", nameof(node));
        }
    }
}
