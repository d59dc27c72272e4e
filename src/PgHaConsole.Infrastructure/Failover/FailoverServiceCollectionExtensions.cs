using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Failover;

public static class FailoverServiceCollectionExtensions
{
    /// <summary>The failover operation kind and the per-cluster failover policy store.</summary>
    public static IServiceCollection AddFailoverOperation(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFailoverPolicyStore, FailoverPolicyStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, FailoverOperationKind>());
        return services;
    }

    /// <summary>
    /// The witness: a hosted service fed by the topology monitor (synchronous degrade/return and the automatic
    /// failover). Needs the topology monitor, the operation kinds and the launcher.
    /// </summary>
    public static IServiceCollection AddFailoverWitness(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddFailoverOperation();
        services.TryAddSingleton<FailoverWitness>();
        services.AddHostedService(sp => sp.GetRequiredService<FailoverWitness>());
        return services;
    }
}
