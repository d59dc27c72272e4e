using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Rejoin;

public static class RejoinServiceCollectionExtensions
{
    /// <summary>The rejoin and rebuild operation kinds (one set of steps; rebuild always re-clones).</summary>
    public static IServiceCollection AddRejoinOperations(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, RejoinOperationKind>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, RebuildOperationKind>());
        return services;
    }
}
