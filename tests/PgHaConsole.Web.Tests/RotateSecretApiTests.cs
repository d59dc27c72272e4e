using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// <c>POST /api/clusters/{id}/rotate-secret</c> through the real console: Admin only, every bad field named in a 400,
/// the typed cluster name, the preflight's 409 when the hosts cannot be asked, each refusal audited, nothing queued
/// and no secret echoed or stored. The hosts of these clusters have no pinned host key: nothing is ever contacted.
/// </summary>
public sealed class RotateSecretApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private const string GivenSecret = "Given-Secret-0123456789";

    private IOperationJournal Journal => factory.Services.GetRequiredService<IOperationJournal>();

    private Task<(Guid Id, string Name)> CreateClusterAsync() => factory.CreateClusterAsync("rot");

    private async Task<List<JsonElement>> AuditAsync(Guid clusterId)
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        return [.. (await admin.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={clusterId}&action=operation.{RotateOperation.Kind}")).EnumerateArray()];
    }

    private long HangfireJobs() => factory.HangfireJobs();

    [Theory]
    [InlineData("Viewer")]
    [InlineData("Operator")]
    public async Task Only_an_admin_may_rotate(string role)
    {
        var (id, name) = await CreateClusterAsync();
        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync(role));
        using var response = await client.PostAsJsonAsync($"/api/clusters/{id}/rotate-secret", new { secret = "replication", confirm = name });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        using var anonymous = factory.CreateClient();
        using var unauthenticated = await anonymous.PostAsJsonAsync($"/api/clusters/{id}/rotate-secret", new { secret = "replication", confirm = name });
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Bad_values_are_refused_with_400_naming_the_field_audited_and_nothing_is_queued()
    {
        var (id, name) = await CreateClusterAsync();
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var jobsBefore = HangfireJobs();
        var attempts = new List<(object Body, string[] Fields)>
        {
            (new { }, ["secret", "confirm"]),
            (new { secret = "root", confirm = name }, ["secret"]),
            (new { secret = "Replication", confirm = name }, ["secret"]),
            (new { secret = "replication" }, ["confirm"]),
            (new { secret = "vrrp", confirm = name.ToUpperInvariant() }, ["confirm"]),
            (new { secret = "monitoring", confirm = name, newSecret = "short" }, ["newSecret"]),
            (new { secret = "vrrp", confirm = name, newSecret = "nine-char" }, ["newSecret"]),
            (new { secret = "replication", confirm = name, newSecret = "has a space in it, quite long" }, ["newSecret"]),
        };
        foreach (var (body, fields) in attempts)
        {
            using var response = await admin.PostAsJsonAsync($"/api/clusters/{id}/rotate-secret", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)}: {response.StatusCode} {text}");
            var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
            Assert.Equal(fields.Order(StringComparer.Ordinal), errors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            Assert.DoesNotContain("short", text, StringComparison.Ordinal);
            Assert.DoesNotContain("nine-char", text, StringComparison.Ordinal);
        }

        var audit = await AuditAsync(id);
        Assert.Equal(attempts.Count, audit.Count);
        Assert.All(audit, e => Assert.Equal("refused", e.GetProperty("result").GetString()));
        Assert.DoesNotContain(audit, e => e.GetProperty("detail").GetString()!.Contains("nine-char", StringComparison.Ordinal));
        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Equal(jobsBefore, HangfireJobs());

        using var missing = await admin.PostAsJsonAsync($"/api/clusters/{Guid.NewGuid()}/rotate-secret", new { secret = "replication", confirm = name });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("replication")]
    [InlineData("monitoring")]
    [InlineData("vrrp")]
    public async Task A_valid_request_reaches_the_preflight_which_refuses_with_409_when_the_hosts_cannot_be_asked(string secret)
    {
        var (id, name) = await CreateClusterAsync();
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var jobsBefore = HangfireJobs();
        using var response = await admin.PostAsJsonAsync($"/api/clusters/{id}/rotate-secret", new { secret, confirm = name, newSecret = secret == "vrrp" ? "Abc-1234" : GivenSecret });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{response.StatusCode}: {text}");
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.StartsWith("The rotation was refused before anything changed: ", detail, StringComparison.Ordinal);
        Assert.Contains("pg1 cannot be reached", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(GivenSecret, text, StringComparison.Ordinal);

        var audit = Assert.Single(await AuditAsync(id));
        Assert.Equal("refused", audit.GetProperty("result").GetString());
        Assert.StartsWith(secret + ": preflight: ", audit.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Refused before the given secret was staged: nothing pending, nothing journaled or queued.
        var secrets = await factory.Services.GetRequiredService<IClusterRepository>().GetClusterSecretsAsync(id, CancellationToken.None);
        Assert.NotNull(secrets);
        Assert.Null(secrets.PendingReplicationPassword);
        Assert.Null(secrets.PendingMonitorPassword);
        Assert.Null(secrets.PendingVrrpPassword);
        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Equal(jobsBefore, HangfireJobs());
    }

    [Fact]
    public async Task A_rotation_is_resumed_by_an_admin_only_and_takes_no_field()
    {
        var ct = CancellationToken.None;
        var (id, name) = await CreateClusterAsync();
        var op = await Journal.CreateAsync(id, RotateOperation.Kind, RotateOperation.StepNames, "someone", null, ct);
        await Journal.SetParametersAsync(op.Id, JsonSerializer.Serialize(new RotateSecretParameters { Secret = "replication", Confirm = name }, OperationJson.Options), ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Failed, "Step 3 failed", ct);

        using var operatorClient = factory.CreateClientWithToken(await factory.CreateTokenAsync("Operator"));
        using (var denied = await operatorClient.PostAsJsonAsync($"/api/operations/{op.Id}/resume", new { }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var withSecret = await admin.PostAsJsonAsync($"/api/operations/{op.Id}/resume", new { secret = "vrrp" });
        Assert.Equal(HttpStatusCode.BadRequest, withSecret.StatusCode);
        Assert.Equal(OperationStatus.Failed, (await Journal.GetAsync(op.Id, ct))!.Status);
    }
}
