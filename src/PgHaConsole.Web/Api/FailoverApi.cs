using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Api;

/// <summary>Failover over REST: the cluster's policy (and the failover itself).</summary>
public static class FailoverApi
{
    public static void MapFailoverApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/clusters/{id:guid}").RequireAuthorization(AuthPolicies.Viewer).DisableAntiforgery().WithTags("Failover");

        api.MapGet("/failover-policy", async (Guid id, FailoverService svc, CancellationToken ct) =>
            await svc.GetPolicyAsync(id, ct) is { } view ? Results.Ok(view) : Results.NotFound());
        api.MapPut("/failover-policy", async (Guid id, [FromBody] FailoverPolicyInput body, FailoverService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await svc.SetPolicyAsync(id, body, ConsoleApi.Actor(user), ct) switch
                {
                    { NotFound: true } => Results.NotFound(),
                    { Succeeded: false } r => Results.ValidationProblem(ConsoleApi.ToDictionary(r.Errors)),
                    var r => Results.Ok(r.Value),
                })
            .RequireAuthorization(AuthPolicies.Admin);

        // The on-call button: preflight report (Viewer), then the failover itself (Operator, typed cluster name).
        api.MapPost("/failover/preflight", async (Guid id, FailoverService svc, CancellationToken ct) =>
            await svc.PreflightAsync(id, ct) is { } r
                ? Results.Ok(new
                {
                    canFailOver = r.CanFailOver,
                    r.Primary,
                    r.Standby,
                    r.PrimaryHostReachable,
                    r.PrimaryHealthy,
                    standbyReceived = r.StandbyReceived?.ToString(),
                    standbyReplayed = r.StandbyReplayed?.ToString(),
                    primaryLastLsn = r.PrimaryLastLsn?.ToString(),
                    r.MissingBytes,
                    r.SynchronousInForce,
                    r.LossStatement,
                    r.Checks,
                })
                : Results.NotFound());
        api.MapPost("/failover", async (Guid id, [FromBody] OperationsApi.SwitchoverRequest? body, FailoverService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await OperationsApi.StartAsync(() => svc.StartAsync(id, body?.Confirm, ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Operator);
    }
}
