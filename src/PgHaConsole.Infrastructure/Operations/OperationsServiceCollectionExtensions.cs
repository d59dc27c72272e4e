using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PgHaConsole.Infrastructure.Operations;

public static class OperationsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the operations journal, the cluster lock, the log store and the runner (singletons; the log store must
    /// be one per process so every page, hub and API call sees the same stream). Needs <c>AddPgHaConsoleStore</c>.
    /// At start, after the migrations and before any job runs, call <see cref="IOperationJournal.MarkInterruptedAsync"/>.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleOperations(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IOperationJournal, OperationJournal>();
        services.AddSingleton<IClusterLock, ClusterLock>();
        services.AddSingleton<OperationLogStore>();
        services.AddSingleton<OperationRunner>();
        return services;
    }
}
