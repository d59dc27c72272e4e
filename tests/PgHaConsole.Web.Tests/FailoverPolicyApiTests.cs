using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>GET/PUT /api/clusters/{id}/failover-policy: default, roles, validation, audit.</summary>
public sealed class FailoverPolicyApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private async Task<Guid> CreateClusterAsync(HttpClient admin)
    {
        var name = $"fo-{Guid.NewGuid():N}"[..16];
        var body = new
        {
            name,
            node1 = new { name = "pg1", address = "198.18.4.211", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "ssh-Password-f41l" },
            node2 = new { name = "pg2", address = "198.18.4.212", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "ssh-Password-f41l" },
            writeVip = "198.18.4.213",
            readVip = "198.18.4.214",
            vipPrefixLength = 24,
            vrrp = new { @interface = "mgt", virtualRouterId = 61, node1Priority = 100, node2Priority = 90, advertIntSeconds = 1, password = "vr9Pw2x" },
            balancer = "Haproxy",
            postgres = new { majorVersion = 15, binDir = "/usr/lib/postgresql/15/bin", dataDir = "/data10/pgdata", port = 5432, osUser = "postgres", serviceControl = "PgCtl" },
            replicationPassword = "repl-Secret-f41l",
        };
        using var created = await admin.PostAsJsonAsync("/api/clusters", body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task Default_then_admin_changes_it_audited_and_bad_input_is_400()
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var id = await CreateClusterAsync(admin);

        var initial = await admin.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}/failover-policy");
        Assert.False(initial.GetProperty("automatic").GetBoolean());
        Assert.False(initial.GetProperty("synchronous").GetBoolean());
        Assert.Equal(3, initial.GetProperty("afterSeconds").GetInt32());

        using var put = await admin.PutAsJsonAsync($"/api/clusters/{id}/failover-policy", new { automatic = true, synchronous = true, afterSeconds = 4 });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var after = await admin.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}/failover-policy");
        Assert.True(after.GetProperty("automatic").GetBoolean());
        Assert.True(after.GetProperty("synchronous").GetBoolean());
        Assert.Equal(4, after.GetProperty("afterSeconds").GetInt32());
        Assert.False(string.IsNullOrEmpty(after.GetProperty("updatedBy").GetString()));

        using var bad = await admin.PutAsJsonAsync($"/api/clusters/{id}/failover-policy", new { automatic = true, afterSeconds = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("afterSeconds", out _));
        Assert.Equal(4, (await admin.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}/failover-policy")).GetProperty("afterSeconds").GetInt32());

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={id}&action=failover-policy.update");
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("result").GetString() == "updated" && e.GetProperty("detail").GetString()!.Contains("automatic off → on", StringComparison.Ordinal));
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("result").GetString() == "refused");

        using var missing = await admin.GetAsync($"/api/clusters/{Guid.NewGuid()}/failover-policy");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("Viewer")]
    [InlineData("Operator")]
    public async Task Only_an_admin_changes_it_everyone_reads_it(string role)
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var id = await CreateClusterAsync(admin);
        using var user = factory.CreateClientWithToken(await factory.CreateTokenAsync(role));
        using var get = await user.GetAsync($"/api/clusters/{id}/failover-policy");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        using var put = await user.PutAsJsonAsync($"/api/clusters/{id}/failover-policy", new { automatic = true });
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
    }

    [Fact]
    public async Task The_failover_endpoint_wants_the_name_an_operator_and_a_lost_primary_with_a_standby()
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var id = await CreateClusterAsync(admin);
        var name = (await admin.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}")).GetProperty("name").GetString();

        using var viewer = factory.CreateClientWithToken(await factory.CreateTokenAsync("Viewer"));
        using var forbidden = await viewer.PostAsJsonAsync($"/api/clusters/{id}/failover", new { confirm = name });
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        using var wrongName = await admin.PostAsJsonAsync($"/api/clusters/{id}/failover", new { confirm = "not-" + name });
        Assert.Equal(HttpStatusCode.BadRequest, wrongName.StatusCode);

        // Nothing answers at these addresses: no standby that could take over, so nothing starts (409 with the reason).
        using var refused = await admin.PostAsJsonAsync($"/api/clusters/{id}/failover", new { confirm = name });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("standby", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={id}&action=operation.failover");
        Assert.Equal(2, audit.EnumerateArray().Count(e => e.GetProperty("result").GetString() == "refused"));
        Assert.Empty(await admin.GetFromJsonAsync<JsonElement[]>($"/api/clusters/{id}/operations") ?? []);
    }
}
