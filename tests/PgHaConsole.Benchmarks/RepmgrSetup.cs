using System.Diagnostics;
using System.Globalization;
using System.Text;
using PgHaConsole.Core.Model;
using PgHaConsole.Lab;

namespace PgHaConsole.Benchmarks;

/// <summary>
/// repmgr 5 configured on the lab pair the console built, as a repmgr user would with this runbook: a superuser
/// <c>repmgr</c> and its database, <c>/data10/repmgr.conf</c> per node (pg_ctl service commands, no slots, SSH with a
/// key kept in the host's own /data10), pg_hba lines for the repmgr user from both nodes (trust), the primary and
/// the standby registered. keepalived stays as the wizard configured it: the VIPs follow the new primary by its check.
/// Everything runs as root inside the lab hosts (<see cref="LabController.ExecInHostAsync(string, IReadOnlyList{string}, string?, TimeSpan, CancellationToken)"/>); repmgr itself as postgres.
/// </summary>
internal sealed class RepmgrSetup(LabController lab, ClusterSpec cluster, string labKeyPath, TextWriter log)
{
    public const string ConfigFile = "/data10/repmgr.conf";
    public const string KeyFile = "/data10/repmgr_id";
    public const string User = "repmgr";
    private const string Marker = "# repmgr (switchover benchmark)";

    private string BinDir => cluster.Postgres.BinDir;

    private string Repmgr => BinDir + "/repmgr";

    private string DataDir => cluster.Postgres.DataDir;

    private static int NodeId(NodeSpec n, ClusterSpec c) => n.Id == c.Node1.Id ? 1 : 2;

    public async Task<string> VersionAsync(CancellationToken ct)
    {
        var r = await lab.ExecInHostAsync(cluster.Node1.Name, [Repmgr, "--version"], ct);
        return r.Output.Trim();
    }

    /// <summary>Configures repmgr on both nodes and registers them; <paramref name="primary"/> is the current primary.</summary>
    public async Task ConfigureAsync(string primary, CancellationToken ct)
    {
        var standby = cluster.Nodes.First(n => n.Name != primary).Name;
        var key = await File.ReadAllTextAsync(labKeyPath, ct);

        // The role and its database, on the primary (they replicate to the standby).
        await PsqlCheckedAsync(primary, $"""
            DO $do$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{User}') THEN CREATE ROLE {User} LOGIN SUPERUSER REPLICATION; END IF;
            END $do$;
            """, ct);
        if (await PsqlAsync(primary, $"SELECT 1 FROM pg_database WHERE datname = '{User}'", ct) != "1")
        {
            await PsqlCheckedAsync(primary, $"CREATE DATABASE {User} OWNER {User}", ct);
        }

        foreach (var node in cluster.Nodes)
        {
            // The SSH key postgres uses to reach the other node (the lab's sshd accepts the lab key for any user).
            await CheckedAsync(node.Name, ["bash", "-c", "umask 077; cat > \"$1\"; chown postgres:postgres \"$1\"; chmod 0600 \"$1\"", "_", KeyFile], key, ct);
            await CheckedAsync(node.Name, ["bash", "-c", "cat > \"$1\"; chown postgres:postgres \"$1\"; chmod 0644 \"$1\"", "_", ConfigFile], Config(node), ct);

            // pg_hba: the repmgr user from both nodes, ahead of the console's lines (first match wins), then reload.
            var lines = new StringBuilder().Append(Marker).Append('\n');
            foreach (var from in cluster.Nodes)
            {
                lines.Append(CultureInfo.InvariantCulture, $"host {User} {User} {from.Address}/32 trust\n");
                lines.Append(CultureInfo.InvariantCulture, $"host replication {User} {from.Address}/32 trust\n");
            }

            const string script = """
                set -eu
                f=$(runuser -u postgres -- psql -XAtc 'SHOW hba_file')
                if ! grep -qF "$1" "$f"; then
                  tmp=$(mktemp)
                  cat > "$tmp"
                  cat -- "$f" >> "$tmp"
                  cat -- "$tmp" > "$f"
                  rm -f -- "$tmp"
                fi
                runuser -u postgres -- psql -XAtc 'SELECT pg_reload_conf()' >/dev/null
                echo "$f"
                """;
            await CheckedAsync(node.Name, ["bash", "-c", script, "_", Marker], lines.ToString(), ct);
        }

        // SSH as postgres from each node to the other, as repmgr will do it.
        foreach (var node in cluster.Nodes)
        {
            var other = cluster.Nodes.First(n => n.Id != node.Id);
            var r = await AsPostgresAsync(node.Name, ["ssh", .. SshOptions.Split(' '), other.Address, "hostname"], TimeSpan.FromSeconds(20), ct);
            if (!r.Succeeded || r.StandardOutput.Trim() != other.Name)
            {
                throw new InvalidOperationException($"ssh as postgres from {node.Name} to {other.Name} failed (exit {r.ExitCode}): {r.Output.Trim()}");
            }
        }

        // The repmgr database must have replicated before the standby registers.
        var waited = Stopwatch.StartNew();
        while (await PsqlAsync(standby, $"SELECT 1 FROM pg_database WHERE datname = '{User}'", ct) != "1")
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"the {User} database did not reach {standby} within 30 s");
            }

            await Task.Delay(100, ct);
        }

        await RepmgrCheckedAsync(primary, ["primary", "register", "--force"], ct);
        await RepmgrCheckedAsync(standby, ["standby", "register", "--force"], ct);
        var show = await AsPostgresAsync(standby, [Repmgr, "-f", ConfigFile, "cluster", "show"], TimeSpan.FromSeconds(30), ct);
        log.WriteLine("repmgr cluster show:\n" + show.Output.TrimEnd());
    }

    /// <summary><c>repmgr standby switchover</c> run on <paramref name="standby"/> as postgres; output lines timestamped.</summary>
    public async Task<(CommandResult Result, TimeSpan Elapsed)> SwitchoverAsync(string standby, bool dryRun, CancellationToken ct)
    {
        // --force-rewind: pg_rewind if (only if) the old primary's timeline diverged; wal_log_hints is on.
        var args = new List<string> { Repmgr, "-f", ConfigFile, "standby", "switchover", "--force-rewind" };
        if (dryRun)
        {
            args.Add("--dry-run");
        }

        const string script = """
            set -o pipefail
            "$@" 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$line"; done
            """;
        var watch = Stopwatch.StartNew();
        var r = await AsPostgresAsync(standby, ["bash", "-c", script, "_", .. args], TimeSpan.FromMinutes(5), ct);
        watch.Stop();
        return (r, watch.Elapsed);
    }

    private static string SshOptions => $"-i {KeyFile} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5";

    private string Config(NodeSpec node)
    {
        var pgCtl = BinDir + "/pg_ctl";
        var logFile = "/data10/postgresql.log";
        return $"""
            node_id={NodeId(node, cluster).ToString(CultureInfo.InvariantCulture)}
            node_name='{node.Name}'
            conninfo='host={node.Address} port={cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)} user={User} dbname={User} connect_timeout=2'
            data_directory='{DataDir}'
            pg_bindir='{BinDir}'
            use_replication_slots=no
            log_level=INFO
            service_start_command='{pgCtl} -D {DataDir} -l {logFile} -w start'
            service_stop_command='{pgCtl} -D {DataDir} -m fast -w stop'
            service_restart_command='{pgCtl} -D {DataDir} -l {logFile} -m fast -w restart'
            service_reload_command='{pgCtl} -D {DataDir} reload'
            ssh_options='{SshOptions}'

            """;
    }

    private Task<CommandResult> AsPostgresAsync(string host, IReadOnlyList<string> argv, TimeSpan timeout, CancellationToken ct) =>
        lab.ExecInHostAsync(host, ["runuser", "-u", "postgres", "--", "env", "-C", "/", .. argv], null, timeout, ct);

    private async Task RepmgrCheckedAsync(string host, IReadOnlyList<string> args, CancellationToken ct)
    {
        var r = await AsPostgresAsync(host, [Repmgr, "-f", ConfigFile, .. args], TimeSpan.FromSeconds(60), ct);
        log.WriteLine($"{host}$ repmgr {string.Join(' ', args)} (exit {r.ExitCode})\n{r.Output.TrimEnd()}");
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"repmgr {string.Join(' ', args)} on {host} failed (exit {r.ExitCode}): {r.Output.Trim()}");
        }
    }

    private async Task<string> PsqlAsync(string host, string sql, CancellationToken ct) =>
        (await lab.ExecInHostAsync(host, ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql], ct)).StandardOutput.Trim();

    private Task PsqlCheckedAsync(string host, string sql, CancellationToken ct) =>
        CheckedAsync(host, ["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-qAt"], sql, ct);

    private async Task CheckedAsync(string host, IReadOnlyList<string> argv, string? stdin, CancellationToken ct)
    {
        var r = await lab.ExecInHostAsync(host, argv, stdin, TimeSpan.FromSeconds(60), ct);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"{host}: {string.Join(' ', argv.Take(3))} … failed (exit {r.ExitCode}): {r.Output.Trim()}");
        }
    }
}
