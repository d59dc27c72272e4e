using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PgHaConsole.E2E.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.E2E;

/// <summary>
/// #17.1: a pair built by one console adopted by a second console with its own store. Nothing the first one (or any
/// other tool) uses is rotated, and both keep working.
/// </summary>
[Collection(LabE2ECollection.Name)]
public sealed class AdoptTests(ITestOutputHelper output)
{
    /// <summary>Everything another tool could depend on: the roles' secrets, the pass files, keepalived's configuration.</summary>
    private static async Task<string> FingerprintAsync(CancellationToken ct)
    {
        var sb = new StringBuilder();
        sb.AppendLine((await LabReset.ExecAsync("pg1", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc",
            "SELECT rolname || ' ' || coalesce(rolpassword, '') FROM pg_authid WHERE rolcanlogin ORDER BY 1")).StandardOutput);
        foreach (var host in new[] { "pg1", "pg2" })
        {
            sb.AppendLine((await LabReset.ExecAsync(host, ct, "bash", "-c",
                "sha256sum /data10/.pghaconsole.pgpass /etc/keepalived/keepalived.conf /etc/haproxy/haproxy.cfg 2>&1")).StandardOutput);
        }

        return sb.ToString();
    }

    [Fact]
    public async Task A_second_console_adopts_the_running_pair_without_rotating_anything_and_both_keep_working_while_another_cluster_is_busy()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(8)).Token;
        await LabReset.ResetAsync(ct);
        await using var a = await LabConsole.StartAsync("adopt", ct);
        var clusterA = await a.ImportLabAsync(ct);
        await a.RunSucceededAsync($"api/clusters/{clusterA}/setup", new { }, ct);
        var before = await FingerprintAsync(ct);

        // The second console: its own store, the same pair.
        await using var b = await LabConsole.StartAsync("adopt", ct);
        var clusterB = await b.ImportLabAsync(ct);

        // The default monitoring role is the first console's, with a password this one does not know: refused, nothing changed.
        var refused = await b.RunOperationAsync($"api/clusters/{clusterB}/adopt", new { }, ct);
        Assert.Equal("failed", refused.GetProperty("status").GetString());
        Assert.Contains("exists with a password this console does not hold", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await FingerprintAsync(ct));

        // With a monitoring role of its own: adopted; the replication password and auth_pass are taken from the hosts.
        var adopted = await b.RunOperationAsync($"api/clusters/{clusterB}/adopt", new { monitorUser = "pghaconsole_b" }, ct);
        var log = await b.LogAsync(adopted.GetProperty("id").GetGuid(), ct);
        output.WriteLine(log);
        Assert.True(adopted.GetProperty("status").GetString() == "succeeded", adopted.ToString());
        Assert.Contains("found in pg2:/data10/.pghaconsole.pgpass, matches the role's secret", log, StringComparison.Ordinal);
        Assert.Contains("creating role pghaconsole_b", log, StringComparison.Ordinal);
        Assert.Contains("write VIP 198.18.4.251: pghaconsole_b logged in; primary as expected", log, StringComparison.Ordinal);

        // Nothing anyone else uses changed: the same secrets for every role that existed, the same files.
        var after = await FingerprintAsync(ct);
        var rolesBefore = before.Split('\n').Where(l => l.StartsWith("pghaconsole_monitor ", StringComparison.Ordinal) || l.StartsWith("repli ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rolesBefore.Count);
        Assert.All(rolesBefore, l => Assert.Contains(l, after, StringComparison.Ordinal));
        Assert.Equal(before.Split("\n").Where(l => l.Contains(".conf", StringComparison.Ordinal) || l.Contains(".cfg", StringComparison.Ordinal) || l.Contains(".pgpass", StringComparison.Ordinal)),
            after.Split("\n").Where(l => l.Contains(".conf", StringComparison.Ordinal) || l.Contains(".cfg", StringComparison.Ordinal) || l.Contains(".pgpass", StringComparison.Ordinal)));

        // The second console sees the pair through its own role.
        var topologyB = await WaitTopologyAsync(b, clusterB, "pg1", ct);
        output.WriteLine(topologyB.ToString());

        // #17.2: operations on different clusters run side by side. A second cluster on the first console whose hosts do
        // not exist (unused lab addresses): its setup's preflight waits on SSH connections that never answer...
        var ghostLab = (await File.ReadAllTextAsync(LabReset.LabFile, ct))
            .Replace("198.18.4.247", "198.18.4.200", StringComparison.Ordinal).Replace("198.18.4.248", "198.18.4.201", StringComparison.Ordinal)
            .Replace("198.18.4.251", "198.18.4.203", StringComparison.Ordinal).Replace("198.18.4.252", "198.18.4.204", StringComparison.Ordinal);
        var ghost = await a.ImportLabAsync(ct, "ghost", ghostLab);
        var ghostOp = await a.StartOperationAsync($"api/clusters/{ghost}/setup", new { }, ct);

        // ...while the first console switches the lab pair over with the secrets it always had (nothing was rotated).
        var switched = await a.RunSucceededAsync($"api/clusters/{clusterA}/switchover", new { confirm = "lab" }, ct);
        var ghostAfter = await a.OperationAsync(ghostOp, ct);
        output.WriteLine($"the other cluster's setup: {ghostAfter.GetProperty("status").GetString()}, {ghostAfter.GetProperty("finishedAt")}; the switchover started {switched.GetProperty("startedAt")}");
        Assert.True(ghostAfter.GetProperty("startedAt").ValueKind == JsonValueKind.String, ghostAfter.ToString());
        var switchStarted = switched.GetProperty("startedAt").GetDateTimeOffset();
        Assert.True(ghostAfter.GetProperty("finishedAt").ValueKind == JsonValueKind.Null || ghostAfter.GetProperty("finishedAt").GetDateTimeOffset() > switchStarted,
            $"the switchover waited for the other cluster's operation: {ghostAfter}");
        await WaitTopologyAsync(a, clusterA, "pg2", ct);
        await WaitTopologyAsync(b, clusterB, "pg2", ct);

        // Adopting again changes nothing.
        var again = await b.RunSucceededAsync($"api/clusters/{clusterB}/adopt", new { monitorUser = "pghaconsole_b" }, ct);
        Assert.DoesNotContain("creating role", await b.LogAsync(again.GetProperty("id").GetGuid(), ct), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> WaitTopologyAsync(LabConsole console, Guid clusterId, string writeHolder, CancellationToken ct)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var topology = await console.Api.GetFromJsonAsync<JsonElement>($"api/clusters/{clusterId}/topology", ct);
            var roles = topology.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("role").GetString()!.ToLowerInvariant()).ToList();
            if (topology.GetProperty("writeVipHolder").GetString() == writeHolder && roles.Contains("primary") && roles.Contains("standby"))
            {
                return topology;
            }

            Assert.True(DateTime.UtcNow < until, $"topology never showed {writeHolder} holding the write VIP with both roles: {topology}");
            await Task.Delay(500, ct);
        }
    }
}
