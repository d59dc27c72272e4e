using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>The history API and /metrics through the real console: authentication, JSON shape, range checks.</summary>
public sealed class HistoryApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    [Fact]
    public async Task Metrics_answers_401_anonymous_and_prometheus_text_with_a_token()
    {
        using var anonymous = factory.CreateClientWithToken(null);
        using var denied = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Null(denied.Headers.Location);

        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var ok = await admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("text/plain", ok.Content.Headers.ContentType?.MediaType);
        var text = await ok.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE pghaconsole_node_up gauge", text, StringComparison.Ordinal);
        Assert.Contains("pghaconsole_alerts_firing ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_accepts_a_viewer_token()
    {
        var viewer = await factory.CreateTokenAsync("Viewer");
        using var client = factory.CreateClientWithToken(viewer);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task History_and_events_return_series_and_timeline()
    {
        var cluster = Guid.NewGuid();
        var store = factory.Services.GetRequiredService<IHistoryStore>();
        var t0 = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await store.InsertSamplesAsync(Enumerable.Range(0, 8).SelectMany(i => new[]
        {
            new HealthSample { ClusterId = cluster, Node = "pg1", AtMs = t0.AddSeconds(i * 15).ToUnixTimeMilliseconds(), PgUp = true, Reachable = true, Role = NodeRole.Primary, Connections = 10 },
            new HealthSample { ClusterId = cluster, Node = "pg2", AtMs = t0.AddSeconds(i * 15).ToUnixTimeMilliseconds(), PgUp = i != 3, Reachable = true, Role = NodeRole.Standby, LagBytes = 100 * i, LagSeconds = i },
        }).ToList(), CancellationToken.None);
        var op = Guid.NewGuid();
        await store.InsertEventsAsync(
        [
            new HealthEvent { ClusterId = cluster, AtMs = t0.AddSeconds(20).ToUnixTimeMilliseconds(), Kind = HealthEventKinds.OperationFinished, Message = "Operation switchover succeeded", OperationId = op },
        ], CancellationToken.None);

        using var client = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var range = "from=2026-03-01T12:00:00Z&to=2026-03-01T13:00:00Z";
        var history = await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{cluster}/history?{range}");
        Assert.Equal(0, history.GetProperty("resolutionSeconds").GetInt32());
        var series = history.GetProperty("series").EnumerateArray().ToList();
        Assert.Equal(["pg1", "pg2"], series.Select(s => s.GetProperty("node").GetString()));
        var pg2 = series[1].GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(8, pg2.Count);
        Assert.Equal(700, pg2[7].GetProperty("lagBytes").GetDouble());
        Assert.Equal(0, pg2[3].GetProperty("availability").GetDouble());
        var ev = Assert.Single(history.GetProperty("events").EnumerateArray());
        Assert.Equal(op, ev.GetProperty("operationId").GetGuid());

        var events = await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{cluster}/events?{range}");
        Assert.Equal("operation-finished", Assert.Single(events.EnumerateArray()).GetProperty("kind").GetString());

        using var bad = await client.GetAsync($"/api/clusters/{cluster}/history?from=2026-03-01T13:00:00Z&to=2026-03-01T12:00:00Z");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        using var anonymous = factory.CreateClientWithToken(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/clusters/{cluster}/history")).StatusCode);
    }
}
