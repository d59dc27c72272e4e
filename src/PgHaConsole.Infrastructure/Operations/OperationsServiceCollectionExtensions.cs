using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Adopt;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Infrastructure.Operations;

public static class OperationsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the operation engine: the journal, the cluster lock, the log store and the runner (singletons; the log
    /// store must be one per process so every page, hub and API call sees the same stream), the planner, the executor,
    /// the launcher and the Hangfire job. Needs <c>AddPgHaConsoleStore</c> (and the SSH layer to run anything).
    /// Also this process's <see cref="ConsoleInstance"/> and its <see cref="InstanceOptions"/>. At start, after the
    /// migrations, call <see cref="OperationSweeper.SweepAsync"/> once; the web host also runs the sweeper as a hosted
    /// service (<see cref="AddOperationSweeper"/>).
    /// </summary>
    public static IServiceCollection AddPgHaConsoleOperations(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddConsoleInstance();
        services.AddSingleton<IOperationJournal, OperationJournal>();
        services.AddSingleton<IClusterLock, ClusterLock>();
        services.AddSingleton<OperationLogStore>();
        services.AddSingleton<OperationRunner>();
        services.TryAddSingleton<ClusterEnvironmentFactory>();
        services.TryAddSingleton<OperationPlanner>();
        services.TryAddSingleton<OperationExecutor>();
        services.TryAddScoped<OperationLauncher>();
        services.TryAddTransient<OperationJob>();
        services.TryAddSingleton<OperationSweeper>();
        return services;
    }

    /// <summary>Runs the sweeper that marks the operations of dead instances interrupted (the web host; not tests that drive it).</summary>
    public static IServiceCollection AddOperationSweeper(this IServiceCollection services)
    {
        services.AddHostedService(sp => sp.GetRequiredService<OperationSweeper>());
        return services;
    }

    /// <summary>
    /// Every operation kind the console can launch. Each capability is one folder with its steps, its parameters and
    /// its own registration: adding a kind is a folder and a line here.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleOperationKinds(this IServiceCollection services) => services
        .AddSetupOperation()
        .AddSwitchoverOperation()
        .AddRejoinOperations()
        .AddFailoverOperation()
        .AddAdoptOperation()
        .AddRotateSecretOperation();
}
