using Microsoft.Extensions.Diagnostics.HealthChecks;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>/healthz: the console is healthy when its own store answers.</summary>
public sealed class StoreHealthCheck(StoreStatus store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{store.Kind} store answers");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{store.Kind} store does not answer", ex);
        }
    }
}
