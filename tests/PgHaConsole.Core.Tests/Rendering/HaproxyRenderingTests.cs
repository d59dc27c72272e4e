using PgHaConsole.Core.Haproxy;

namespace PgHaConsole.Core.Tests.Rendering;

public sealed class HaproxyRenderingTests
{
    private static async Task<Tool.Result> CheckAsync(string config)
    {
        var dir = Tool.TempDir();
        try
        {
            var file = Path.Combine(dir.FullName, "haproxy.cfg");
            File.WriteAllText(file, config);
            return await Tool.RunAsync("haproxy", ["-c", "-f", file]);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task Generated_config_passes_haproxy_c_for_both_nodes()
    {
        var c = Sample.Cluster();
        foreach (var node in c.Nodes)
        {
            var config = HaproxyConfigRenderer.Render(c, node);
            var result = await CheckAsync(config);
            Assert.True(result.ExitCode == 0, result.Output + "\n" + config);
            Assert.DoesNotContain("WARNING", result.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("ALERT", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_check_is_real_a_broken_config_fails()
    {
        var c = Sample.Cluster();
        var broken = HaproxyConfigRenderer.Render(c, c.Node1).Replace("balance roundrobin", "balance nosuchalgo", StringComparison.Ordinal);
        Assert.NotEqual(0, (await CheckAsync(broken)).ExitCode);
    }

    [Fact]
    public void Read_frontend_balances_both_nodes_and_write_frontend_only_the_local_node()
    {
        var c = Sample.Cluster();
        var config = HaproxyConfigRenderer.Render(c, c.Node2);
        Assert.Contains("bind 198.18.4.52:5432\n", config, StringComparison.Ordinal);
        Assert.Contains("bind 198.18.4.51:5432\n", config, StringComparison.Ordinal);
        Assert.Contains("mode tcp\n", config, StringComparison.Ordinal);
        Assert.Contains("balance roundrobin\n", config, StringComparison.Ordinal);
        Assert.Contains("option pgsql-check user pghaconsole_monitor\n", config, StringComparison.Ordinal);
        // A lost read server leaves the rotation within seconds, and a connection routed to it is retried on the other.
        Assert.Contains("timeout connect 1s\n", config, StringComparison.Ordinal);
        Assert.Contains("option redispatch 1\n", config, StringComparison.Ordinal);
        Assert.Contains("default-server check inter 1s fastinter 300ms fall 2 rise 2", config, StringComparison.Ordinal);
        Assert.Contains("observe layer4 error-limit 1 on-error mark-down", config, StringComparison.Ordinal);
        Assert.Contains("stats socket /run/haproxy/admin.sock mode 660 level admin\n", config, StringComparison.Ordinal);

        var write = config[config.IndexOf("backend pg_write_primary", StringComparison.Ordinal)..config.IndexOf("frontend pg_read", StringComparison.Ordinal)];
        Assert.Contains("server pg2 198.18.4.12:5432 check", write, StringComparison.Ordinal);
        Assert.DoesNotContain("198.18.4.11", write, StringComparison.Ordinal);

        var read = config[config.IndexOf("backend pg_read_all", StringComparison.Ordinal)..];
        Assert.Contains("server pg1 198.18.4.11:5432\n", read, StringComparison.Ordinal);
        Assert.Contains("server pg2 198.18.4.12:5432\n", read, StringComparison.Ordinal);
        Assert.DoesNotContain("password", config, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Port_follows_the_model_and_stats_page_is_optional()
    {
        var c = Sample.Cluster() with { Postgres = Sample.Cluster().Postgres with { Port = 6543 } };
        var config = HaproxyConfigRenderer.Render(c, c.Node1, new HaproxyOptions { StatsHttpBind = null });
        Assert.Contains("bind 198.18.4.52:6543\n", config, StringComparison.Ordinal);
        Assert.DoesNotContain("listen stats", config, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => HaproxyConfigRenderer.Render(c, c.Node1, new HaproxyOptions { StatsSocket = "/run/x.sock level admin\nlisten evil" }));
    }

    [Fact]
    public void Sysctl_lets_the_backup_host_bind_the_vips()
    {
        Assert.Contains("net.ipv4.ip_nonlocal_bind = 1\n", HaproxyConfigRenderer.SysctlContent, StringComparison.Ordinal);
        Assert.Equal(["sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"], HaproxyConfigRenderer.SysctlApplyArgs);
        Assert.StartsWith("/etc/sysctl.d/", HaproxyConfigRenderer.SysctlFile, StringComparison.Ordinal);
    }
}
