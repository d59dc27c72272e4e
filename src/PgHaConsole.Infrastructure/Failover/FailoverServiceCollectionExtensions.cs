using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Failover;

public static class FailoverServiceCollectionExtensions
{
    /// <summary>
    /// The failover capability: the policy store, the failover operation kind, and the witness (a hosted service fed
    /// by the topology monitor: synchronous replication and the automatic failover). Needs the store, the topology
    /// monitor and the operations launcher.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleFailover(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFailoverPolicyStore, FailoverPolicyStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, FailoverOperationKind>());
        services.TryAddSingleton<FailoverWitness>();
        services.AddHostedService(sp => sp.GetRequiredService<FailoverWitness>());
        return services;
    }
}
