using Microsoft.Extensions.DependencyInjection;

namespace PgHaConsole.Infrastructure.Setup;

public static class SetupServiceCollectionExtensions
{
    /// <summary>Registers the setup wizard's operation (its steps and helpers).</summary>
    public static IServiceCollection AddPgHaConsoleSetup(this IServiceCollection services)
    {
        return services;
    }
}
