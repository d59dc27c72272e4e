using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The application's client networks through the API (issue 13, item 5): validated before anything is planned, run
/// or stored (400 naming the entry), any address only with the explicit consent, stored with the cluster when setup
/// starts, shown in the plan as endpoints and pg_hba.conf lines.
/// </summary>
public sealed class SetupClientNetworksApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private HttpClient Admin() => factory.CreateClientWithToken(ConsoleFactory.AdminToken);

    private IOperationJournal Journal => factory.Services.GetRequiredService<IOperationJournal>();

    private async Task<Guid> CreateClusterAsync()
    {
        using var client = Admin();
        using var created = await client.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster($"net-{Guid.NewGuid():N}"[..16]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> ErrorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
    }

    private async Task<string[]> StoredAsync(HttpClient client, Guid id) =>
        [.. (await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}")).GetProperty("clientCidrs").EnumerateArray().Select(e => e.GetString()!)];

    [Theory]
    [InlineData("10.20.0.0/33", "clientCidrs[1]", "0-32")]
    [InlineData("10.20.1.0/16", "clientCidrs[1]", "10.20.0.0/16")]
    [InlineData("10.20.0.0", "clientCidrs[1]", "no prefix length")]
    [InlineData("2001:db8::/200", "clientCidrs[1]", "0-128")]
    [InlineData("0.0.0.0/0", "clientCidrs[1]", "allowAnyClientAddress")]
    [InlineData("::/0", "clientCidrs[1]", "allowAnyClientAddress")]
    public async Task A_bad_network_is_400_naming_the_entry_and_nothing_starts_or_is_stored(string bad, string field, string said)
    {
        var id = await CreateClusterAsync();
        using var client = Admin();
        var body = new { clientCidrs = new[] { "192.168.10.0/24", bad } };

        foreach (var path in new[] { $"/api/clusters/{id}/setup/plan", $"/api/clusters/{id}/setup" })
        {
            using var response = await client.PostAsJsonAsync(path, body);
            var errors = await ErrorsAsync(response);
            Assert.True(errors.TryGetProperty(field, out var messages), $"{path}: 400 did not name {field}: {errors}");
            Assert.Contains(said, messages[0].GetString(), StringComparison.Ordinal);
            Assert.False(errors.TryGetProperty("clientCidrs[0]", out _), "the valid entry was blamed");
        }

        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Empty(await StoredAsync(client, id));
        var audit = await client.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={id}&action=operation.setup");
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("result").GetString() == "refused"
            && e.GetProperty("detail").GetString()!.Contains(field, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_plan_shows_the_endpoints_and_the_lines_for_the_networks_given_and_stores_nothing()
    {
        var id = await CreateClusterAsync(); // LVS-DR: the client's address reaches PostgreSQL through both VIPs
        using var client = Admin();
        using var response = await client.PostAsJsonAsync($"/api/clusters/{id}/setup/plan",
            new { clientCidrs = new[] { "192.168.10.0/24", "2001:DB8::/32", "0.0.0.0/0" }, allowAnyClientAddress = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var access = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("clientAccess");

        Assert.Equal(["192.168.10.0/24", "2001:db8::/32", "0.0.0.0/0"], access.GetProperty("clientCidrs").EnumerateArray().Select(e => e.GetString()));
        var endpoints = access.GetProperty("endpoints").EnumerateArray().ToList();
        Assert.Equal(["writes", "reads", "direct", "direct"], endpoints.Select(e => e.GetProperty("purpose").GetString()));
        Assert.Equal(["10.91.4.251:5432", "10.91.4.252:5432", "10.91.4.247:5432", "10.91.4.248:5432"], endpoints.Select(e => e.GetProperty("hostPort").GetString()));
        var lines = access.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("line")).ToList();
        Assert.Equal(["192.168.10.0/24", "2001:db8::/32", "0.0.0.0/0"], lines.Select(l => l.GetProperty("address").GetString()));
        Assert.All(lines, l => Assert.Equal("scram-sha-256", l.GetProperty("method").GetString()));
        Assert.Contains(access.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.StartsWith("0.0.0.0/0: every IPv4 address", StringComparison.Ordinal));

        // Planning is read-only (a Viewer may do it): nothing is stored.
        Assert.Empty(await StoredAsync(client, id));
    }

    [Fact]
    public async Task Starting_setup_stores_the_networks_with_the_cluster_audited_and_the_cluster_form_keeps_them()
    {
        var id = await CreateClusterAsync();
        using var client = Admin();
        using var started = await client.PostAsJsonAsync($"/api/clusters/{id}/setup", new { clientCidrs = new[] { " 192.168.10.0/24", "2001:DB8::/32" } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var operationId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("operationId").GetGuid();

        Assert.Equal(["192.168.10.0/24", "2001:db8::/32"], await StoredAsync(client, id));
        var audit = await client.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={id}&action=cluster.client-networks");
        var entry = Assert.Single(audit.EnumerateArray());
        Assert.Equal("[] -> [192.168.10.0/24, 2001:db8::/32] (setup operation " + operationId + ")", entry.GetProperty("detail").GetString());

        // The run carries them in its parameters (a resume uses the same ones).
        var op = await Journal.GetAsync(operationId, CancellationToken.None);
        Assert.Contains("2001:db8::/32", op!.ParametersJson, StringComparison.Ordinal);

        // A plan without networks uses the stored ones.
        await WaitUntilFinishedAsync(operationId);
        using var plan = await client.PostAsJsonAsync($"/api/clusters/{id}/setup/plan", new { });
        var rules = (await plan.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("clientAccess").GetProperty("rules");
        Assert.Equal(["192.168.10.0/24", "2001:db8::/32"], rules.EnumerateArray().Select(r => r.GetProperty("line").GetProperty("address").GetString()));

        // Editing the cluster through its form does not drop them.
        using var put = await client.PutAsJsonAsync($"/api/clusters/{id}", InventoryApiTests.ValidCluster((await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}")).GetProperty("name").GetString()!));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Assert.Equal(["192.168.10.0/24", "2001:db8::/32"], await StoredAsync(client, id));
    }

    /// <summary>The started setup fails at once (no host key is pinned, nothing is contacted); the cluster is then free.</summary>
    private async Task WaitUntilFinishedAsync(Guid operationId)
    {
        for (var i = 0; i < 200; i++)
        {
            var op = await Journal.GetAsync(operationId, CancellationToken.None);
            if (op!.Status is not (Core.Operations.OperationStatus.Pending or Core.Operations.OperationStatus.Running))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail("the setup without pinned host keys did not end within 20 s");
    }
}
