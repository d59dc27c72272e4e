using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Switchover;

public static class SwitchoverServiceCollectionExtensions
{
    /// <summary>The switchover operation kind, its gate (typed name, preflight) and its rollback.</summary>
    public static IServiceCollection AddSwitchoverOperation(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOperationKind, SwitchoverOperationKind>());
        services.TryAddScoped<SwitchoverRollback>();
        services.TryAddSingleton<SwitchoverGate>();
        return services;
    }
}
