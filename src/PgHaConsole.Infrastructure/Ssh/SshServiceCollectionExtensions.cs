using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using PgHaConsole.Infrastructure.Hosts;

namespace PgHaConsole.Infrastructure.Ssh;

public static class SshServiceCollectionExtensions
{
    /// <summary>Registers the SSH session pool (singleton, disposed with the container) and the host inspector.</summary>
    public static IServiceCollection AddSshLayer(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SshSessionPool>(sp => new SshSessionPool(sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton<ISshSessionPool>(sp => sp.GetRequiredService<SshSessionPool>());
        services.TryAddSingleton<HostInspector>();
        services.TryAddSingleton<HostConnectionTester>();
        return services;
    }
}
