namespace PgHaConsole.Web.Api;

/// <summary>History API and the Prometheus /metrics endpoint.</summary>
public static class HistoryApi
{
    public static void MapHistoryApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
    }
}
