namespace PgHaConsole.Web.Api;

/// <summary>Setup, switchover, rejoin, rebuild and the operations journal over REST.</summary>
public static class OperationsApi
{
    public static void MapOperationsApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
    }
}
