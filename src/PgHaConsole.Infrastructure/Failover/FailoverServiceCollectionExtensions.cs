using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace PgHaConsole.Infrastructure.Failover;

public static class FailoverServiceCollectionExtensions
{
    /// <summary>The failover capability: the policy store (and, with the operation engine, the failover and the witness).</summary>
    public static IServiceCollection AddPgHaConsoleFailover(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFailoverPolicyStore, FailoverPolicyStore>();
        return services;
    }
}
