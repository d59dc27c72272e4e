using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup;

public static class SetupServiceCollectionExtensions
{
    /// <summary>The setup wizard's operation kind.</summary>
    public static IServiceCollection AddSetupOperation(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, SetupOperationKind>());
        return services;
    }
}
