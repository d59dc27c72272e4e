using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PgHaConsole.Infrastructure.Topology;

public static class TopologyServiceCollectionExtensions
{
    /// <summary>
    /// Registers the topology prober: <see cref="TopologyOptions"/> (section <c>PgHaConsole:Topology</c>),
    /// <see cref="INodeProber"/>, and <see cref="TopologyMonitor"/> as both <see cref="ITopologyMonitor"/> and the
    /// hosted service that polls. Needs the store and the SSH layer.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleTopology(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Bound from IConfiguration when the host has one (the web app); defaults otherwise (tests, tools):
        // BindConfiguration would make every resolution of the options fail in a container without IConfiguration.
        services.AddOptions<TopologyOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(TopologyOptions.SectionName).Bind(o));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<NodeProber>();
        services.TryAddSingleton<INodeProber>(sp => sp.GetRequiredService<NodeProber>());
        services.TryAddSingleton<LiveChannels>();
        services.TryAddSingleton(sp => new TopologyMonitor(
            sp.GetRequiredService<Store.IClusterRepository>(),
            sp.GetRequiredService<INodeProber>(),
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<TopologyOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<TopologyMonitor>>(),
            sp.GetRequiredService<LiveChannels>(),
            // Several instances on one store (leases registered): the lease holder probes, the others read its pictures.
            sp.GetService<Instances.IClusterLeases>() is { } leases && sp.GetService<Instances.ClusterPictureStore>() is { } pictures
                ? new SharedPictures(leases, pictures, sp.GetRequiredService<Instances.ConsoleInstance>())
                : null));
        services.TryAddSingleton<ITopologyMonitor>(sp => sp.GetRequiredService<TopologyMonitor>());
        services.AddHostedService(sp => sp.GetRequiredService<TopologyMonitor>());
        return services;
    }
}
