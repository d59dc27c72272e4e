using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Rotate;

public static class RotateServiceCollectionExtensions
{
    /// <summary>The rotate-secret operation kind and its gate (the preflight before anything starts).</summary>
    public static IServiceCollection AddRotateSecretOperation(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, RotateOperationKind>());
        services.TryAddSingleton<RotateGate>();
        return services;
    }
}
