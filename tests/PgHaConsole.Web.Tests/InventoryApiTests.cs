using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>The inventory through the REST API on the real embedded store: validation, CRUD, lab import, secrets.</summary>
public sealed class InventoryApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private const string PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nTEST-KEY-MATERIAL-7f3a9c\n-----END OPENSSH PRIVATE KEY-----\n";

    internal static object ValidCluster(string name, string? vrrpPassword = "vr9Pw2x", string? replicationPassword = "repl-Secret-55aa") => new
    {
        name,
        node1 = new { name = "pg1", address = "10.91.4.247", sshPort = 22, sshUser = "root", authKind = "PrivateKey", privilege = "Root", privateKey = PrivateKey },
        node2 = new { name = "pg2", address = "10.91.4.248", sshPort = 22, sshUser = "root", authKind = "Password", privilege = "Root", password = "ssh-Password-99zz" },
        writeVip = "10.91.4.251",
        readVip = "10.91.4.252",
        vipPrefixLength = 24,
        vrrp = new { @interface = "mgt", virtualRouterId = 50, node1Priority = 100, node2Priority = 90, advertIntSeconds = 1, password = vrrpPassword },
        balancer = "LvsDr",
        postgres = new { majorVersion = 11, binDir = "/usr/pgsql-11/bin", dataDir = "/data10/pgdata", port = 5432, osUser = "postgres", serviceControl = "Systemd", systemdUnit = "postgresql-11" },
        replicationPassword,
    };

    private HttpClient Admin() => factory.CreateClientWithToken(ConsoleFactory.AdminToken);

    public static TheoryData<string, string, string> BadInputs => new()
    {
        // json path to change, new value (JSON), field named in the 400
        { "node1.address", "\"10.91.4.300\"", "node1.address" },
        { "node2.address", "\"not-an-ip\"", "node2.address" },
        { "writeVip", "\"10.91.4.247\"", "writeVip" },
        { "readVip", "\"10.91.4.251\"", "readVip" },
        { "vrrp.password", "\"nine-char\"", "vrrp.password" },
        { "postgres.majorVersion", "10", "postgres.majorVersion" },
        { "postgres.majorVersion", "18", "postgres.majorVersion" },
        { "postgres.dataDir", "\"data10/pgdata\"", "postgres.dataDir" },
        { "postgres.dataDir", "\"/data10/pg data; rm -rf /\"", "postgres.dataDir" },
        { "name", "\"\"", "name" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_is_saved(string path, string json, string field)
    {
        var name = $"bad-{Guid.NewGuid():N}"[..20];
        var body = Mutate(ValidCluster(name), path, json);
        using var client = Admin();
        using var response = await client.PostAsync("/api/clusters", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"400 did not name {field}: {errors}");

        var list = await client.GetFromJsonAsync<JsonElement>("/api/clusters");
        Assert.DoesNotContain(list.EnumerateArray(), c => c.GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task Cluster_round_trip_create_read_update_delete_with_audit()
    {
        using var client = Admin();
        var name = $"crud-{Guid.NewGuid():N}"[..16];
        using var created = await client.PostAsJsonAsync("/api/clusters", ValidCluster(name));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var read = await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}");
        Assert.Equal(name, read.GetProperty("name").GetString());
        Assert.Equal("10.91.4.251", read.GetProperty("writeVip").GetString());
        Assert.Equal(11, read.GetProperty("postgres").GetProperty("majorVersion").GetInt32());

        // Duplicate names are refused at the field.
        using var duplicate = await client.PostAsJsonAsync("/api/clusters", ValidCluster(name));
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Contains("\"name\"", await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Edit without secrets keeps the stored ones (node secrets are not required on update).
        var edit = Mutate(ValidCluster(name, vrrpPassword: null, replicationPassword: null), "readVip", "\"10.91.4.253\"");
        edit = Mutate(edit, "node1.privateKey", "null");
        edit = Mutate(edit, "node2.password", "null");
        using var updated = await client.PutAsync($"/api/clusters/{id}", new StringContent(edit, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("10.91.4.253", (await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}")).GetProperty("readVip").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/clusters/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/clusters/{id}")).StatusCode);

        var audit = await client.GetStringAsync($"/api/audit?clusterId={id}");
        Assert.Contains("cluster.create", audit, StringComparison.Ordinal);
        Assert.Contains("cluster.update", audit, StringComparison.Ordinal);
        Assert.Contains("cluster.delete", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_lab_answers_201_with_the_id_and_pins_the_recorded_host_keys()
    {
        var keyFile = Path.Combine(factory.DataDirectory, $"lab-key-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(keyFile, PrivateKey);
        var lab = $$"""
            {"nodes":[
              {"name":"pg1","address":"198.18.4.247","sshPort":22,"sshUser":"root","sshKeyPath":"{{keyFile}}","hostKeySha256":"SHA256:AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKK","pgBinDir":"/usr/lib/postgresql/15/bin","pgDataDir":"/data10/pgdata","pgPort":5432,"osUser":"postgres"},
              {"name":"pg2","address":"198.18.4.248","sshPort":22,"sshUser":"root","sshKeyPath":"{{keyFile}}","hostKeySha256":"ZZZZyyyyXXXXwwwwVVVVuuuuTTTTssssRRRRqqqqPPP","pgBinDir":"/usr/lib/postgresql/15/bin","pgDataDir":"/data10/pgdata","pgPort":5432,"osUser":"postgres"}],
             "writeVip":"198.18.4.251","readVip":"198.18.4.252","interface":"mgt","pgVersion":15,"ipvsAvailable":false}
            """;
        using var client = Admin();
        var name = $"lab-{Guid.NewGuid():N}"[..12];
        using var response = await client.PostAsync($"/api/clusters/import-lab?name={name}", new StringContent(lab, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var cluster = await client.GetFromJsonAsync<JsonElement>($"/api/clusters/{id}");
        Assert.Equal("AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKK", cluster.GetProperty("node1").GetProperty("hostKeySha256").GetString());
        Assert.Equal("ZZZZyyyyXXXXwwwwVVVVuuuuTTTTssssRRRRqqqqPPP", cluster.GetProperty("node2").GetProperty("hostKeySha256").GetString());
        Assert.Equal("Haproxy", cluster.GetProperty("balancer").GetString());
    }

    [Fact]
    public async Task Import_lab_with_a_broken_file_is_a_400_naming_the_field()
    {
        using var client = Admin();
        using var response = await client.PostAsync("/api/clusters/import-lab",
            new StringContent("""{"nodes":[],"writeVip":"198.18.4.251","readVip":"198.18.4.252","interface":"mgt","pgVersion":15}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("nodes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_never_appear_in_api_responses_the_store_file_or_the_logs()
    {
        var secrets = new[] { "repl-Secret-55aa", "vr9Pw2x", "ssh-Password-99zz", "TEST-KEY-MATERIAL-7f3a9c", ConsoleFactory.AdminToken };
        using var client = Admin();
        var name = $"sec-{Guid.NewGuid():N}"[..14];
        using var created = await client.PostAsJsonAsync("/api/clusters", ValidCluster(name));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var responses = await created.Content.ReadAsStringAsync()
            + await client.GetStringAsync("/api/clusters")
            + await client.GetStringAsync("/api/audit")
            + await client.GetStringAsync("/api/tokens");

        // Checkpoint SQLite's WAL so every write is in the main file, then read every file of the data directory.
        var store = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(factory.DataDirectory, "pghaconsole.db*"))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            store.Append(await reader.ReadToEndAsync());
        }

        Assert.True(store.Length > 0, "the store file was not found");
        Assert.Contains(name, store.ToString(), StringComparison.Ordinal); // the search itself works
        var logs = string.Join('\n', factory.Logs);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, responses, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, store.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    /// <summary>Replaces one property (dotted path) of an object's JSON.</summary>
    internal static string Mutate(object value, string path, string json) => Mutate(JsonSerializer.Serialize(value), path, json);

    internal static string Mutate(string body, string path, string json)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        var parts = path.Split('.');
        var parent = root;
        foreach (var p in parts[..^1])
        {
            parent = parent[p]!;
        }

        parent[parts[^1]] = System.Text.Json.Nodes.JsonNode.Parse(json);
        return root.ToJsonString();
    }
}
