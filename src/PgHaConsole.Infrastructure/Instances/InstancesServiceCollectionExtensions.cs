using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace PgHaConsole.Infrastructure.Instances;

public static class InstancesServiceCollectionExtensions
{
    /// <summary>This process's identity among the instances sharing the store, and the timings (<c>PgHaConsole:Instances</c>).</summary>
    public static IServiceCollection AddConsoleInstance(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<InstanceOptions>()
            .Configure<IServiceProvider>((o, sp) => sp.GetService<IConfiguration>()?.GetSection(InstanceOptions.SectionName).Bind(o))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InstanceOptions>, InstanceOptionsValidator>());
        services.TryAddSingleton<ConsoleInstance>();
        return services;
    }

    /// <summary>
    /// One decider per cluster: <see cref="ClusterLeaseStore"/>, and <see cref="ClusterLeaseManager"/> as
    /// <see cref="IClusterLeases"/> and the hosted service that takes and renews the leases. Without this registration
    /// the recorder and the witness act for every cluster and the topology monitor probes every cluster (one instance,
    /// tests); with it, the monitor probes only the clusters whose lease it holds and shares their pictures through
    /// <see cref="ClusterPictureStore"/>.
    /// </summary>
    public static IServiceCollection AddClusterLeases(this IServiceCollection services)
    {
        services.AddConsoleInstance();
        services.TryAddSingleton<ClusterLeaseStore>();
        services.TryAddSingleton<ClusterPictureStore>();
        services.TryAddSingleton<ClusterLeaseManager>();
        services.TryAddSingleton<IClusterLeases>(sp => sp.GetRequiredService<ClusterLeaseManager>());
        services.AddHostedService(sp => sp.GetRequiredService<ClusterLeaseManager>());
        return services;
    }
}
