using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>One preflight check of a switchover, with the reason it passed or failed.</summary>
public sealed record SwitchoverCheck(string Check, string? Host, bool Ok, string Detail);

/// <summary>The preflight report shown before the switchover button is enabled.</summary>
public sealed record SwitchoverPreflightReport(string? Primary, string? Standby, IReadOnlyList<SwitchoverCheck> Checks)
{
    public bool CanSwitch => Primary is not null && Standby is not null && Checks.All(c => c.Ok);
}

/// <summary>
/// Everything that must hold before a switchover: both hosts reachable, one primary and one standby streaming from it
/// on the same timeline, lag under the thresholds, rewind prerequisites on both, keepalived healthy on both, disk.
/// Read-only. (No other operation on the cluster is ensured by the cluster lock when the operation starts.)
/// </summary>
public static class SwitchoverPreflight
{
    private const long MinFreeBytes = 256L * 1024 * 1024;

    public static async Task<SwitchoverPreflightReport> RunAsync(ClusterEnvironment env, SwitchoverParameters parameters, CancellationToken ct)
    {
        var checks = new List<SwitchoverCheck>();
        var hosts = env.Hosts.ToList();
        var states = new Dictionary<NodeHost, PgState>();
        foreach (var host in hosts)
        {
            try
            {
                states[host] = await host.GetPgStateAsync(ct);
                checks.Add(new("reachable", host.Name, true, "SSH works; PostgreSQL " + states[host].Describe()));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                checks.Add(new("reachable", host.Name, false, "cannot reach the host: " + env.Masker.Apply(ex.Message)));
            }
        }

        if (states.Count < hosts.Count)
        {
            return new SwitchoverPreflightReport(null, null, checks);
        }

        var primaries = hosts.Where(h => states[h].IsPrimary).ToList();
        var standbys = hosts.Where(h => states[h].IsStandby).ToList();
        if (primaries.Count != 1 || standbys.Count != 1)
        {
            checks.Add(new("roles", null, false, primaries.Count == 2
                ? "both nodes are primaries (split brain): resolve it from the topology page first"
                : $"expected one running primary and one running standby; found {primaries.Count.ToString(CultureInfo.InvariantCulture)} primary and {standbys.Count.ToString(CultureInfo.InvariantCulture)} standby"));
            return new SwitchoverPreflightReport(null, null, checks);
        }

        var primary = primaries[0];
        var standby = standbys[0];
        checks.Add(new("roles", null, true, $"{primary.Name} is the primary, {standby.Name} the standby"));
        if (parameters.From is { } from && from != primary.Name)
        {
            checks.Add(new("roles", null, false, $"the switchover was requested from {from}, but {primary.Name} is the primary now"));
        }

        // Streaming from this primary, on the same timeline, with lag under the thresholds.
        var row = await primary.PsqlAsync(
            "SELECT state, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1)::bigint, coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication WHERE application_name = "
            + GucValue.QuoteForSql(standby.Name) + " ORDER BY state = 'streaming' DESC LIMIT 1", null, ct);
        var f = row.Split('\t');
        if (f.Length < 3 || f[0] != "streaming")
        {
            checks.Add(new("streaming", standby.Name, false, $"{standby.Name} is not streaming from {primary.Name} ({(f.Length < 3 ? "no pg_stat_replication row" : f[0])})"));
        }
        else
        {
            checks.Add(new("streaming", standby.Name, true, $"{standby.Name} streams from {primary.Name}"));
            var bytes = long.Parse(f[1], CultureInfo.InvariantCulture);
            var seconds = double.Parse(f[2], CultureInfo.InvariantCulture);
            var lagOk = bytes >= 0 && bytes <= parameters.MaxLagBytes && seconds <= parameters.MaxLagSeconds;
            checks.Add(new("lag", standby.Name, lagOk,
                $"replay lag {bytes.ToString(CultureInfo.InvariantCulture)} bytes, {seconds.ToString("0.###", CultureInfo.InvariantCulture)} s (limits {parameters.MaxLagBytes.ToString(CultureInfo.InvariantCulture)} bytes, {parameters.MaxLagSeconds.ToString(CultureInfo.InvariantCulture)} s)"));
        }

        // The timeline of the WAL being written now (pg_control_checkpoint() lags until the next checkpoint after a promotion).
        var primaryTli = (await primary.PsqlAsync("SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int", null, ct)).Trim();
        var standbyTli = (await standby.PsqlAsync("SELECT coalesce((SELECT received_tli::text FROM pg_stat_wal_receiver), 'none')", null, ct)).Trim();
        checks.Add(new("timeline", standby.Name, primaryTli == standbyTli, $"primary timeline {primaryTli}, standby receiving timeline {standbyTli}"));

        foreach (var host in hosts)
        {
            var s = (await host.PsqlAsync("SELECT current_setting('wal_log_hints'), current_setting('data_checksums'), current_setting('full_page_writes')", null, ct)).Split('\t');
            var ok = (s[0] == "on" || s[1] == "on") && s[2] == "on";
            checks.Add(new("rewind-ready", host.Name, ok, $"wal_log_hints {s[0]}, data_checksums {s[1]}, full_page_writes {s[2]}"));

            var keepalived = await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct);
            checks.Add(new("keepalived", host.Name, keepalived is not null, keepalived is not null ? "keepalived runs" : "keepalived is not running"));

            const string df = "d=$1; while [ ! -e \"$d\" ]; do d=$(dirname -- \"$d\"); done; df -B1 --output=avail -- \"$d\" | tail -n 1";
            var avail = await host.RunAsync(RemoteCommand.BashScript(df, env.Cluster.Postgres.DataDir), null, ct);
            var free = long.TryParse(avail.StdOut.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : 0;
            checks.Add(new("disk", host.Name, free >= MinFreeBytes, $"{(free / 1048576).ToString(CultureInfo.InvariantCulture)} MB free beside the data directory"));
        }

        return new SwitchoverPreflightReport(primary.Name, standby.Name, checks);
    }
}
