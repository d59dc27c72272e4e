using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Api;

/// <summary>The REST API: JSON, cookie or Bearer token, described at /openapi/v1.json.</summary>
public static class ConsoleApi
{
    public static void MapConsoleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(AuthPolicies.Viewer).DisableAntiforgery();

        var clusters = api.MapGroup("/clusters").WithTags("Clusters");
        clusters.MapGet("/", async (ClusterService svc, CancellationToken ct) => Results.Ok(await svc.ListAsync(ct)));
        clusters.MapGet("/{id:guid}", async (Guid id, ClusterService svc, CancellationToken ct) =>
            await svc.GetAsync(id, ct) is { } c ? Results.Ok(c) : Results.NotFound());
        clusters.MapPost("/", async (ClusterInput input, ClusterService svc, ClaimsPrincipal user, CancellationToken ct) =>
                ToResult(await svc.CreateAsync(input, Actor(user), ct), created: true))
            .RequireAuthorization(AuthPolicies.Admin);
        clusters.MapPut("/{id:guid}", async (Guid id, ClusterInput input, ClusterService svc, ClaimsPrincipal user, CancellationToken ct) =>
                ToResult(await svc.UpdateAsync(id, input, Actor(user), ct), created: false))
            .RequireAuthorization(AuthPolicies.Admin);
        clusters.MapDelete("/{id:guid}", async (Guid id, ClusterService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await svc.DeleteAsync(id, Actor(user), ct) ? Results.NoContent() : Results.NotFound())
            .RequireAuthorization(AuthPolicies.Admin);
        clusters.MapPost("/import-lab", async (HttpRequest request, [FromQuery] string? name, ClusterService svc, ClaimsPrincipal user, CancellationToken ct) =>
            {
                using var reader = new StreamReader(request.Body);
                var json = await reader.ReadToEndAsync(ct);
                return ToResult(await svc.ImportLabAsync(json, name, Actor(user), ct), created: true);
            })
            .Accepts<object>("application/json")
            .RequireAuthorization(AuthPolicies.Admin);
        clusters.MapPost("/{id:guid}/test-connection", async (Guid id, ConnectionTestService svc, ClaimsPrincipal user, CancellationToken ct) =>
                await svc.TestAsync(id, Actor(user), ct) is { } report ? Results.Ok(report) : Results.NotFound())
            .RequireAuthorization(AuthPolicies.Admin);
        clusters.MapPost("/{id:guid}/nodes/{nodeId:guid}/confirm-host-key",
                async (Guid id, Guid nodeId, HostKeyConfirmation body, ConnectionTestService svc, ClaimsPrincipal user, CancellationToken ct) =>
                    await svc.ConfirmHostKeyAsync(id, nodeId, body.Fingerprint, Actor(user), ct) switch
                    {
                        null => Results.NotFound(),
                        { Length: 0 } => Results.NoContent(),
                        var error => Results.ValidationProblem(new Dictionary<string, string[]> { ["fingerprint"] = [error] }),
                    })
            .RequireAuthorization(AuthPolicies.Admin);

        api.MapGet("/audit", async ([AsParameters] AuditFilter filter, AuditService audit, CancellationToken ct) =>
                Results.Ok(await audit.QueryAsync(filter.ToQuery(), ct)))
            .WithTags("Audit");

        var tokens = api.MapGroup("/tokens").WithTags("Tokens").RequireAuthorization(AuthPolicies.Admin);
        tokens.MapGet("/", async (IApiTokenRepository repo, CancellationToken ct) => Results.Ok(await repo.ListAsync(ct)));
        tokens.MapPost("/", async (TokenRequest body, TokenService svc, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var result = await svc.CreateAsync(body.Name, body.Role, body.ExpiresInDays, Actor(user), ct);
            return result.Succeeded
                ? Results.Created($"/api/tokens/{result.Value!.Id}", result.Value)
                : Results.ValidationProblem(ToDictionary(result.Errors));
        });
        tokens.MapDelete("/{id:guid}", async (Guid id, TokenService svc, ClaimsPrincipal user, CancellationToken ct) =>
            await svc.RevokeAsync(id, Actor(user), ct) ? Results.NoContent() : Results.NotFound());
    }

    public sealed record HostKeyConfirmation(string Fingerprint);

    /// <summary>A new token; <c>expiresInDays</c> optional (never expires without it).</summary>
    public sealed record TokenRequest(string Name, string Role, int? ExpiresInDays = null);

    public sealed class AuditFilter
    {
        public DateTimeOffset? From { get; init; }

        public DateTimeOffset? To { get; init; }

        public string? Actor { get; init; }

        public Guid? ClusterId { get; init; }

        public string? Action { get; init; }

        public string? Text { get; init; }

        public int? Limit { get; init; }

        public AuditQuery ToQuery() => new()
        {
            From = From,
            To = To,
            Actor = Actor,
            ClusterId = ClusterId,
            Action = Action,
            Text = Text,
            Limit = Math.Clamp(Limit ?? 200, 1, 5000),
        };
    }

    internal static string Actor(ClaimsPrincipal user) => user.Identity?.Name ?? "anonymous";

    private static IResult ToResult(ServiceResult<PgHaConsole.Core.Model.ClusterSpec> result, bool created) =>
        result switch
        {
            { NotFound: true } => Results.NotFound(),
            { Succeeded: false } => Results.ValidationProblem(ToDictionary(result.Errors)),
            _ when created => Results.Created($"/api/clusters/{result.Value!.Id}", new { id = result.Value!.Id, cluster = result.Value }),
            _ => Results.Ok(result.Value),
        };

    internal static Dictionary<string, string[]> ToDictionary(IEnumerable<ValidationError> errors) =>
        errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
}
