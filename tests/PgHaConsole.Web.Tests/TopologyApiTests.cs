using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>GET /api/clusters/{id}/topology on the real console: auth, 404, and the honest picture of unreachable hosts.</summary>
public sealed class TopologyApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    [Fact]
    public async Task Anonymous_is_401()
    {
        using var client = factory.CreateClientWithToken(null);
        using var response = await client.GetAsync($"/api/clusters/{Guid.NewGuid()}/topology");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    /// <summary>
    /// The API's JSON carries the balancer's tables, whose endpoints hold an <see cref="IPAddress"/>: written by default,
    /// its IPv4 <c>ScopeId</c> throws, and the topology of a pair in LVS-DR mode answered 500 (the UML lab, 16:23).
    /// </summary>
    [Fact]
    public void The_api_writes_the_ipvs_tables_addresses_as_text()
    {
        var options = factory.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var endpoint = new IpvsEndpoint("198.18.4.252:5432", "198.18.4.252", IPAddress.Parse("198.18.4.252"), 5432, null);
        var json = JsonDocument.Parse(JsonSerializer.Serialize(endpoint, options)).RootElement;
        Assert.Equal("198.18.4.252", json.GetProperty("ip").GetString());
    }

    [Fact]
    public async Task Unknown_cluster_is_404()
    {
        using var client = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        using var response = await client.GetAsync($"/api/clusters/{Guid.NewGuid()}/topology");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Cluster_with_unreachable_hosts_answers_the_picture_with_alarms()
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        var name = $"topo-{Guid.NewGuid():N}"[..16];
        var body = new
        {
            name,
            // Nothing listens at these addresses (198.18.4.0/24 is the lab's benchmark range, .201/.202 unused).
            node1 = new { name = "pg1", address = "198.18.4.201", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "ssh-Password-t0p0" },
            node2 = new { name = "pg2", address = "198.18.4.202", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "ssh-Password-t0p0" },
            writeVip = "198.18.4.203",
            readVip = "198.18.4.204",
            vipPrefixLength = 24,
            vrrp = new { @interface = "mgt", virtualRouterId = 51, node1Priority = 100, node2Priority = 90, advertIntSeconds = 1, password = "vr9Pw2x" },
            balancer = "Haproxy",
            postgres = new { majorVersion = 15, binDir = "/usr/lib/postgresql/15/bin", dataDir = "/data10/pgdata", port = 5432, osUser = "postgres", serviceControl = "PgCtl" },
            replicationPassword = "repl-Secret-t0p0",
        };
        using var created = await admin.PostAsJsonAsync("/api/clusters", body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // Pin (made-up) host keys so that the prober really tries both SSH and PostgreSQL at those addresses.
        var repo = factory.Services.GetRequiredService<IClusterRepository>();
        var stored = await repo.GetAsync(id, CancellationToken.None);
        foreach (var node in stored!.Spec.Nodes)
        {
            await repo.PinHostKeyAsync(node.Id, "7+LhFK5wuAgRcP6WEWvUBdHtXLX9UvEoTOLuszwvtJY", CancellationToken.None);
        }

        using var response = await admin.GetAsync($"/api/clusters/{id}/topology");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(id, json.GetProperty("clusterId").GetGuid());
        var nodes = json.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal(2, nodes.Length);
        foreach (var node in nodes)
        {
            Assert.False(node.GetProperty("sshReachable").GetBoolean());
            Assert.Contains(node.GetProperty("role").GetString(), new[] { "Down", "Unknown" });
            Assert.True(node.TryGetProperty("timeline", out _));
            Assert.True(node.TryGetProperty("lagBytes", out _));
            Assert.True(node.TryGetProperty("name", out _));
        }

        Assert.Equal(JsonValueKind.Null, json.GetProperty("writeVipHolder").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("readVipHolder").ValueKind);
        var codes = json.GetProperty("alarms").EnumerateArray().Select(a => a.GetProperty("code").GetString()).ToArray();
        Assert.Equal(2, codes.Count(c => c == AlarmCodes.HostUnreachable));
        Assert.Contains(AlarmCodes.NoPrimary, codes);
        foreach (var secret in new[] { "ssh-Password-t0p0", "repl-Secret-t0p0" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }
}
