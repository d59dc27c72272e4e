using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The operations API on the real console: authentication, roles, 404s, an operation written through the journal read
/// back with its steps and log, and a busy cluster refused with 409. No setup really runs (there are no hosts).
/// </summary>
public sealed class OperationsApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private HttpClient Admin() => factory.CreateClientWithToken(ConsoleFactory.AdminToken);

    private IOperationJournal Journal => factory.Services.GetRequiredService<IOperationJournal>();

    private async Task<Guid> CreateClusterAsync()
    {
        using var client = Admin();
        using var created = await client.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster($"ops-{Guid.NewGuid():N}"[..16]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    /// <summary>A setup whose first step succeeded and second failed, with three log lines, as the runner journals it.</summary>
    private async Task<Guid> CreateFailedOperationAsync(Guid clusterId)
    {
        var ct = CancellationToken.None;
        var op = await Journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "api-test", null, ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Running, null, ct);
        await Journal.SetStepStatusAsync(op.Id, 1, StepStatus.Running, null, ct);
        await Journal.SetStepStatusAsync(op.Id, 1, StepStatus.Succeeded, "both hosts reachable", ct);
        await Journal.SetStepStatusAsync(op.Id, 2, StepStatus.Running, null, ct);
        await Journal.SetStepStatusAsync(op.Id, 2, StepStatus.Failed, "iptables: Permission denied", ct);
        var at = DateTimeOffset.UtcNow;
        await Journal.AppendLogAsync(op.Id,
        [
            new OperationLogLine(1, at, 1, null, LogStream.Info, "Step 1 (preflight): checks both hosts"),
            new OperationLogLine(2, at, 2, "pg1", LogStream.Stderr, "iptables: Permission denied"),
            new OperationLogLine(3, at, 2, null, LogStream.Stderr, "Failed: iptables: Permission denied"),
        ], ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Failed, "Step 2 (firewall) failed: iptables: Permission denied", ct);
        return op.Id;
    }

    [Theory]
    [InlineData("GET", "/api/operations")]
    [InlineData("GET", "/api/operations/00000000-0000-0000-0000-000000000001")]
    [InlineData("GET", "/api/operations/00000000-0000-0000-0000-000000000001/log")]
    [InlineData("POST", "/api/operations/00000000-0000-0000-0000-000000000001/resume")]
    [InlineData("POST", "/api/clusters/00000000-0000-0000-0000-000000000001/setup")]
    [InlineData("POST", "/api/clusters/00000000-0000-0000-0000-000000000001/setup/plan")]
    [InlineData("GET", "/api/clusters/00000000-0000-0000-0000-000000000001/operations")]
    public async Task Anonymous_calls_get_401(string method, string path)
    {
        using var client = factory.CreateClientWithToken(null);
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Unknown_operation_and_unknown_cluster_are_404()
    {
        using var client = Admin();
        var unknown = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/operations/{unknown}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/operations/{unknown}/log")).StatusCode);
        using var resume = await client.PostAsJsonAsync($"/api/operations/{unknown}/resume", new { });
        Assert.Equal(HttpStatusCode.NotFound, resume.StatusCode);

        using var setup = await client.PostAsJsonAsync($"/api/clusters/{unknown}/setup", new { installPackages = false });
        Assert.Equal(HttpStatusCode.NotFound, setup.StatusCode);
        Assert.Contains("No such cluster", await setup.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var plan = await client.PostAsJsonAsync($"/api/clusters/{unknown}/setup/plan", new { });
        Assert.Equal(HttpStatusCode.NotFound, plan.StatusCode);
    }

    [Theory]
    [InlineData("Viewer")]
    [InlineData("Operator")]
    public async Task Only_an_admin_starts_setup(string role)
    {
        var clusterId = await CreateClusterAsync();
        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync(role));
        using var response = await client.PostAsJsonAsync($"/api/clusters/{clusterId}/setup", new { });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await Journal.ListByClusterAsync(clusterId, 10, CancellationToken.None));
    }

    [Theory]
    [InlineData("{\"monitorUser\": \"Bad-Name\"}", "monitorUser")]
    [InlineData("{\"monitorPassword\": \"\"}", "monitorPassword")]
    public async Task Adopt_with_bad_parameters_is_400_naming_the_field_and_nothing_is_queued(string body, string field)
    {
        var clusterId = await CreateClusterAsync();
        using var client = Admin();
        foreach (var path in new[] { $"/api/clusters/{clusterId}/adopt", $"/api/clusters/{clusterId}/adopt/plan" })
        {
            using var response = await client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(field, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(await Journal.ListByClusterAsync(clusterId, 10, CancellationToken.None));
    }

    [Fact]
    public async Task A_viewer_cannot_resume()
    {
        var clusterId = await CreateClusterAsync();
        var id = await CreateFailedOperationAsync(clusterId);
        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync("Viewer"));
        using var response = await client.PostAsJsonAsync($"/api/operations/{id}/resume", new { });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(OperationStatus.Failed, (await Journal.GetAsync(id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_journaled_operation_reads_back_with_steps_and_log()
    {
        var clusterId = await CreateClusterAsync();
        var id = await CreateFailedOperationAsync(clusterId);
        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync("Viewer"));

        var op = await client.GetFromJsonAsync<JsonElement>($"/api/operations/{id}");
        Assert.Equal(id, op.GetProperty("id").GetGuid());
        Assert.Equal(clusterId, op.GetProperty("clusterId").GetGuid());
        Assert.Equal("setup", op.GetProperty("kind").GetString());
        Assert.Equal("failed", op.GetProperty("status").GetString());
        Assert.Equal("api-test", op.GetProperty("requestedBy").GetString());
        Assert.Contains("iptables: Permission denied", op.GetProperty("error").GetString(), StringComparison.Ordinal);
        var steps = op.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(SetupOperation.StepNames, steps.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal("succeeded", steps[0].GetProperty("status").GetString());
        Assert.Equal("failed", steps[1].GetProperty("status").GetString());
        Assert.Equal("pending", steps[2].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, steps[0].GetProperty("startedAt").ValueKind);
        Assert.Equal(JsonValueKind.String, steps[0].GetProperty("finishedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, steps[2].GetProperty("startedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, steps[2].GetProperty("finishedAt").ValueKind);
        Assert.Equal("iptables: Permission denied", steps[1].GetProperty("message").GetString());

        var log = (await client.GetFromJsonAsync<JsonElement>($"/api/operations/{id}/log")).EnumerateArray().ToList();
        Assert.Equal([1L, 2L, 3L], log.Select(l => l.GetProperty("seq").GetInt64()));
        Assert.Equal("Step 1 (preflight): checks both hosts", log[0].GetProperty("line").GetString());
        Assert.Equal("pg1", log[1].GetProperty("host").GetString());
        var after = (await client.GetFromJsonAsync<JsonElement>($"/api/operations/{id}/log?after=2")).EnumerateArray().ToList();
        Assert.Equal(3L, Assert.Single(after).GetProperty("seq").GetInt64());

        var listed = await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{clusterId}/operations");
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetGuid());
        var all = await client.GetFromJsonAsync<JsonElement>("/api/operations?limit=500");
        Assert.Contains(all.EnumerateArray(), o => o.GetProperty("id").GetGuid() == id);
    }

    [Fact]
    public async Task Setup_on_a_busy_cluster_is_409_with_a_message()
    {
        var clusterId = await CreateClusterAsync();
        var ct = CancellationToken.None;
        var holder = await Journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "someone-else", null, ct);
        await Journal.SetOperationStatusAsync(holder.Id, OperationStatus.Running, null, ct);
        var clusterLock = factory.Services.GetRequiredService<IClusterLock>();
        await clusterLock.AcquireAsync(clusterId, holder.Id, ct);
        try
        {
            using var client = Admin();
            using var response = await client.PostAsJsonAsync($"/api/clusters/{clusterId}/setup", new { installPackages = true });
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            var detail = problem.GetProperty("detail").GetString();
            Assert.Contains("busy", detail, StringComparison.Ordinal);
            Assert.Contains(holder.Id.ToString(), detail, StringComparison.Ordinal);
            // Nothing new was journaled for the cluster.
            Assert.Equal(holder.Id, Assert.Single(await Journal.ListByClusterAsync(clusterId, 10, ct)).Id);

            // A running operation cannot be resumed either.
            using var resume = await client.PostAsJsonAsync($"/api/operations/{holder.Id}/resume", new { });
            Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
        }
        finally
        {
            await clusterLock.ReleaseAsync(clusterId, holder.Id, ct);
        }
    }
}
