using PgHaConsole.Core.History;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Api;

/// <summary>History API and the Prometheus /metrics endpoint.</summary>
public static class HistoryApi
{
    public static void MapHistoryApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").RequireAuthorization(AuthPolicies.Viewer).DisableAntiforgery();
        var clusters = api.MapGroup("/clusters").WithTags("History");

        clusters.MapGet("/{id:guid}/history", async (Guid id, DateTimeOffset? from, DateTimeOffset? to, IServiceProvider sp, CancellationToken ct) =>
        {
            var svc = Service(sp);
            var (f, t) = Range(svc, from, to);
            if (HistoryService.ValidateRange(f, t) is { } error)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["from"] = [error] });
            }

            var view = await svc.GetAsync(id, f, t, ct);
            return Results.Ok(new
            {
                clusterId = view.ClusterId,
                from = view.From,
                to = view.To,
                resolutionSeconds = view.ResolutionSeconds,
                series = view.Nodes.Select(n => new
                {
                    node = n.Key,
                    points = n.Value.Select(p => new
                    {
                        at = DateTimeOffset.FromUnixTimeMilliseconds(p.AtMs),
                        lagBytes = p.LagBytes,
                        lagSeconds = p.LagSeconds,
                        connections = p.Connections,
                        availability = p.Availability,
                    }),
                }),
                events = view.Events.Select(ToJson),
            });
        });

        clusters.MapGet("/{id:guid}/events", async (Guid id, DateTimeOffset? from, DateTimeOffset? to, int? limit, IServiceProvider sp, CancellationToken ct) =>
        {
            var svc = Service(sp);
            var (f, t) = Range(svc, from, to);
            if (HistoryService.ValidateRange(f, t) is { } error)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["from"] = [error] });
            }

            return Results.Ok((await svc.GetEventsAsync(id, f, t, limit ?? 500, ct)).Select(ToJson));
        });

        // For Prometheus and Grafana users: the latest pictures, authenticated like the API (a Viewer token as Bearer).
        app.MapGet("/metrics", (IServiceProvider sp) =>
            {
                var monitor = sp.GetService<ITopologyMonitor>();
                var firing = sp.GetService<AlertDispatcher>()?.FiringCount ?? 0;
                var text = PrometheusRenderer.Render(monitor?.GetAll() ?? [], firing);
                return Results.Text(text, PrometheusRenderer.ContentType);
            })
            .RequireAuthorization(AuthPolicies.Viewer)
            .ExcludeFromDescription();
    }

    // Registered by the host when it chooses to; created per request otherwise (it is stateless).
    private static HistoryService Service(IServiceProvider sp) => ActivatorUtilities.GetServiceOrCreateInstance<HistoryService>(sp);

    private static (DateTimeOffset From, DateTimeOffset To) Range(HistoryService svc, DateTimeOffset? from, DateTimeOffset? to)
    {
        var t = to ?? svc.Now;
        return (from ?? t.AddHours(-1), t);
    }

    private static object ToJson(HealthEvent e) => new
    {
        id = e.Id,
        at = e.At,
        kind = e.Kind,
        node = e.Node,
        severity = e.Severity.ToString().ToLowerInvariant(),
        message = e.Message,
        operationId = e.OperationId,
        alarmKey = e.AlarmKey,
    };
}
