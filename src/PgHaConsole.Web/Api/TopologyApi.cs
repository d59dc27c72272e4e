using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Web.Auth;

namespace PgHaConsole.Web.Api;

/// <summary>GET /api/clusters/{id}/topology: the picture the topology page shows, as JSON.</summary>
public static class TopologyApi
{
    public static void MapTopologyApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").RequireAuthorization(AuthPolicies.Viewer).DisableAntiforgery();
        api.MapGet("/clusters/{id:guid}/topology", async (Guid id, IClusterRepository clusters, ITopologyMonitor monitor, CancellationToken ct) =>
            {
                // The monitor may still hold the last picture of a cluster removed a moment ago: the store decides.
                if (await clusters.GetAsync(id, ct) is null)
                {
                    return Results.NotFound();
                }

                var topology = monitor.GetLatest(id) ?? await monitor.ProbeNowAsync(id, ct);
                return topology is null ? Results.NotFound() : Results.Ok(topology);
            })
            .WithTags("Topology");
    }
}
