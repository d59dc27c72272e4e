using System.Threading.RateLimiting;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// Brute-force limits (issue #15 item 5), per client address: sign-in and first-admin posts through ASP.NET Core
/// rate limiting (429 beyond the budget), and failed API-token authentications through <see cref="FailedTokenThrottle"/>.
/// Each user is also locked out by Identity after <c>Security:MaxFailedSignIns</c> failures in a row.
/// </summary>
public static class AuthThrottle
{
    public const string SignInPolicy = "sign-in";

    /// <summary>The client's address (the proxy's client when forwarded headers are trusted), the partition key.</summary>
    public static string ClientKey(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public static IServiceCollection AddConsoleRateLimiting(this IServiceCollection services, ConsoleOptions.SecuritySection security)
    {
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (ctx, _) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "60";
                return ValueTask.CompletedTask;
            };
            o.AddPolicy(SignInPolicy, ctx => RateLimitPartition.GetFixedWindowLimiter(ClientKey(ctx), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = security.SignInPermitsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
        });
        services.AddSingleton(new FailedTokenThrottle(security.FailedTokenPermitsPerMinute));
        return services;
    }
}

/// <summary>
/// Counts failed API-token authentications per client address; once a client spent its budget for the minute, every
/// token it presents is refused (429) without being looked up, so guessing cannot go on at request speed.
/// </summary>
public sealed class FailedTokenThrottle(int permitsPerMinute) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permitsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    /// <summary>True while <paramref name="client"/> has no failure left this minute.</summary>
    public bool IsBlocked(string client) => _limiter.GetStatistics(client) is { CurrentAvailablePermits: <= 0 };

    /// <summary>Counts one failure; false when it was one too many.</summary>
    public bool RecordFailure(string client)
    {
        using var lease = _limiter.AttemptAcquire(client);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
