using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Tests.History;

public sealed class PrometheusRendererTests
{
    [Fact]
    public void Renders_known_lines()
    {
        var picture = Pictures.Cluster(Pictures.T0, Pictures.Primary(), Pictures.Standby(lagBytes: 4096, lagSeconds: 1.5)) with
        {
            Alarms = [Pictures.Alarm(AlarmCodes.LagOverThreshold, "pg2", AlarmSeverity.Warning)],
        };

        var text = PrometheusRenderer.Render([picture], firingAlerts: 2);
        var lines = text.Split('\n');

        Assert.Contains("# HELP pghaconsole_node_up 1 when the node's PostgreSQL answers, else 0.", lines);
        Assert.Contains("# TYPE pghaconsole_node_up gauge", lines);
        Assert.Contains("pghaconsole_node_up{cluster=\"pg-main\",node=\"pg1\"} 1", lines);
        Assert.Contains("pghaconsole_node_role{cluster=\"pg-main\",node=\"pg1\",role=\"primary\"} 1", lines);
        Assert.Contains("pghaconsole_node_role{cluster=\"pg-main\",node=\"pg1\",role=\"standby\"} 0", lines);
        Assert.Contains("pghaconsole_node_role{cluster=\"pg-main\",node=\"pg2\",role=\"standby\"} 1", lines);
        Assert.Contains("pghaconsole_replication_lag_bytes{cluster=\"pg-main\",node=\"pg2\"} 4096", lines);
        Assert.Contains("pghaconsole_replication_lag_seconds{cluster=\"pg-main\",node=\"pg2\"} 1.5", lines);
        Assert.Contains("pghaconsole_vip_holder{cluster=\"pg-main\",vip=\"write\",node=\"pg1\"} 1", lines);
        Assert.Contains("pghaconsole_vip_holder{cluster=\"pg-main\",vip=\"write\",node=\"pg2\"} 0", lines);
        Assert.Contains("pghaconsole_slot_retained_wal_bytes{cluster=\"pg-main\",node=\"pg1\"} 1500", lines);
        Assert.Contains("pghaconsole_alarm{cluster=\"pg-main\",code=\"lag-over-threshold\",node=\"pg2\",severity=\"warning\"} 1", lines);
        Assert.Contains("pghaconsole_alerts_firing 2", lines);
        Assert.Contains("pghaconsole_observed_timestamp_seconds{cluster=\"pg-main\"} " + Pictures.T0.ToUnixTimeSeconds(), lines);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        // Each family's HELP and TYPE appear once.
        Assert.Single(lines, l => l == "# TYPE pghaconsole_node_role gauge");
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("c:\\data", "c:\\\\data")]
    [InlineData("two\nlines", "two\\nlines")]
    public void Label_values_are_escaped(string value, string expected) =>
        Assert.Equal(expected, PrometheusRenderer.EscapeLabelValue(value));

    [Fact]
    public void Hostile_cluster_name_stays_on_one_line()
    {
        var picture = Pictures.Cluster(Pictures.T0) with { ClusterName = "evil\"} 1\nfake_metric 1" };
        var text = PrometheusRenderer.Render([picture]);
        Assert.DoesNotContain("\nfake_metric", text, StringComparison.Ordinal);
        Assert.Contains("cluster=\"evil\\\"} 1\\nfake_metric 1\"", text, StringComparison.Ordinal);
    }
}
