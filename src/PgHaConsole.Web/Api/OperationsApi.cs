using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using PgHaConsole.Infrastructure.Adopt;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Api;

/// <summary>Setup, switchover, rejoin, rebuild and the operations journal over REST.</summary>
public static class OperationsApi
{
    public static void MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(AuthPolicies.Viewer).DisableAntiforgery().WithTags("Operations");

        // The wizard: plan (read-only, Viewer) and run (Admin: it changes hosts, and step 6 may wipe a data directory).
        api.MapPost("/clusters/{id:guid}/setup/plan", async (Guid id, [FromBody] SetupParameters? body, OperationService svc, CancellationToken ct) =>
        {
            try
            {
                return await svc.PlanSetupAsync(id, body ?? new SetupParameters(), ct) is { } plan ? Results.Ok(plan) : Results.NotFound();
            }
            catch (InvalidParametersException ex)
            {
                return Results.ValidationProblem(ConsoleApi.ToDictionary(ex.Errors));
            }
        });
        api.MapPost("/clusters/{id:guid}/setup", async (Guid id, [FromBody] SetupParameters? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartSetupAsync(id, body ?? new SetupParameters(), ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Admin);

        // The on-call button: preflight report (Viewer), then the switchover itself (Operator, typed cluster name).
        api.MapPost("/clusters/{id:guid}/switchover/preflight", async (Guid id, OperationService svc, CancellationToken ct) =>
            await svc.SwitchoverPreflightAsync(id, ct) is { } report ? Results.Ok(new { canSwitch = report.CanSwitch, report.Primary, report.Standby, report.Checks }) : Results.NotFound());
        api.MapPost("/clusters/{id:guid}/switchover", async (Guid id, [FromBody] SwitchoverRequest? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartSwitchoverAsync(id, body?.Confirm, ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Operator);

        // A pair that already runs: adopt it (Admin: it stores secrets and may add a role and a pg_hba line).
        api.MapPost("/clusters/{id:guid}/adopt/plan", async (Guid id, [FromBody] AdoptParameters? body, OperationService svc, CancellationToken ct) =>
            {
                try
                {
                    return await svc.PlanAdoptAsync(id, body ?? new AdoptParameters(), ct) is { } plan ? Results.Ok(plan) : Results.NotFound();
                }
                catch (OperationRefusedException ex)
                {
                    return Results.Problem(ex.Message, statusCode: ex.StatusCode);
                }
            })
            .RequireAuthorization(AuthPolicies.Admin);
        api.MapPost("/clusters/{id:guid}/adopt", async (Guid id, [FromBody] AdoptParameters? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartAdoptAsync(id, body ?? new AdoptParameters(), ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Admin);

        // Rotate one secret of a running pair (Admin, typed cluster name, audited): 400 naming the field, 409 the preflight's reasons.
        api.MapPost("/clusters/{id:guid}/rotate-secret", async (Guid id, [FromBody] RotateSecretRequest? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartRotateSecretAsync(id, body ?? new RotateSecretRequest(null, null), ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Admin);

        // A node back as the standby: rejoin (rewind when needed) or rebuild (re-clone; the node's name typed).
        api.MapPost("/clusters/{id:guid}/nodes/{node}/rejoin", async (Guid id, string node, [FromBody] NodeRequest? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartRejoinAsync(id, node, body?.ConfirmHost, rebuild: false, ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Operator);
        api.MapPost("/clusters/{id:guid}/nodes/{node}/rebuild", async (Guid id, string node, [FromBody] NodeRequest? body, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await StartAsync(() => svc.StartRejoinAsync(id, node, body?.ConfirmHost, rebuild: true, ConsoleApi.Actor(user), ct)))
            .RequireAuthorization(AuthPolicies.Operator);

        api.MapGet("/clusters/{id:guid}/operations", async (Guid id, int? limit, OperationService svc, CancellationToken ct) =>
            Results.Ok(await svc.ListAsync(id, limit ?? 50, ct)));
        api.MapGet("/operations", async (int? limit, OperationService svc, CancellationToken ct) =>
            Results.Ok(await svc.ListAllAsync(limit ?? 50, ct)));
        api.MapGet("/operations/{id:guid}", async (Guid id, OperationService svc, CancellationToken ct) =>
            await svc.GetAsync(id, ct) is { } op ? Results.Ok(op) : Results.NotFound());
        api.MapGet("/operations/{id:guid}/log", async (Guid id, long? after, int? limit, OperationService svc, CancellationToken ct) =>
            await svc.GetAsync(id, ct) is null ? Results.NotFound() : Results.Ok(await svc.ReadLogAsync(id, after ?? 0, limit ?? 5000, ct)));
        api.MapPost("/operations/{id:guid}/resume", async (Guid id, HttpRequest request, OperationService svc, ClaimsPrincipal user, CancellationToken ct) =>
            {
                var parameters = await ReadParametersAsync(request, ct);
                try
                {
                    await svc.ResumeAsync(id, parameters, user, ct);
                    return Results.Accepted($"/api/operations/{id}", new { operationId = id });
                }
                catch (OperationRefusedException ex)
                {
                    return Results.Problem(ex.Message, statusCode: ex.StatusCode);
                }
            })
            .Accepts<object>("application/json")
            .RequireAuthorization(AuthPolicies.Operator);
        api.MapPost("/operations/{id:guid}/rollback", RollBackAsync).RequireAuthorization(AuthPolicies.Operator);
    }

    public sealed record SwitchoverRequest(string? Confirm);

    internal static async Task<IResult> RollBackAsync(Guid id, OperationService svc, ClaimsPrincipal user, CancellationToken ct)
    {
        try
        {
            return Results.Ok(new { message = await svc.RollBackAsync(id, ConsoleApi.Actor(user), ct) });
        }
        catch (OperationRefusedException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }
        catch (StepFailedException ex)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    public sealed record NodeRequest(string? ConfirmHost);

    internal static async Task<IResult> StartAsync(Func<Task<Guid>> start)
    {
        try
        {
            var id = await start();
            return Results.Accepted($"/api/operations/{id}", new { operationId = id });
        }
        catch (OperationRefusedException ex)
        {
            return Results.Problem(ex.Message, statusCode: ex.StatusCode);
        }
        catch (InvalidParametersException ex)
        {
            return Results.ValidationProblem(ConsoleApi.ToDictionary(ex.Errors));
        }
    }

    internal static async Task<JsonElement> ReadParametersAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength is 0 or null && !request.Headers.ContainsKey("Transfer-Encoding"))
        {
            return JsonSerializer.SerializeToElement(new { });
        }

        using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
        return doc.RootElement.Clone();
    }
}
