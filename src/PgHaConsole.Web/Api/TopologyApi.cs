namespace PgHaConsole.Web.Api;

/// <summary>GET /api/clusters/{id}/topology.</summary>
public static class TopologyApi
{
    public static void MapTopologyApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
    }
}
