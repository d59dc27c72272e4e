using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Infrastructure.Identity;

namespace PgHaConsole.Infrastructure.Store;

public static class StoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the store: <see cref="StoreOptions"/>, <see cref="IStoreConnectionFactory"/>, <see cref="StoreMigrator"/>,
    /// <see cref="IClusterRepository"/>, <see cref="IApiTokenRepository"/>, <see cref="IAuditLog"/>, <see cref="IUserRepository"/>
    /// (all singletons) and the Dapper type handlers. <see cref="IClusterRepository"/> also needs
    /// <c>AddPgHaConsoleDataProtection</c>. Run <see cref="StoreMigrator.MigrateAsync"/> once at start, before serving.
    /// </summary>
    public static IServiceCollection AddPgHaConsoleStore(this IServiceCollection services, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        StoreTypeHandlers.Register();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(_ => StoreConnectionFactory.Create(options));
        services.AddSingleton<StoreMigrator>();
        services.AddSingleton<StoreStatus>();
        services.AddSingleton<IClusterRepository, ClusterRepository>();
        services.AddSingleton<IApiTokenRepository, ApiTokenRepository>();
        services.AddSingleton<IAuditLog, AuditLog>();
        services.AddSingleton<IUserRepository, UserRepository>();
        services.AddSingleton<IFirstAdminClaim, FirstAdminClaim>();
        return services;
    }
}
