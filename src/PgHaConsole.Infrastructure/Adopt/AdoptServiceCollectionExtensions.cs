using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Adopt;

public static class AdoptServiceCollectionExtensions
{
    /// <summary>The adopt operation kind: take over a running pair without rotating its secrets.</summary>
    public static IServiceCollection AddAdoptOperation(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, AdoptOperationKind>());
        return services;
    }
}
