using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using PgHaConsole.Lab;

namespace PgHaConsole.Benchmarks;

/// <summary>Patroni's timings (its dynamic configuration) and vip-manager's DCS poll interval for one run.</summary>
internal sealed record PatroniTimings(string Label, int Ttl, int LoopWait, int RetryTimeout, int VipIntervalMs)
{
    /// <summary>Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10) and vip-manager's (interval 1000 ms).</summary>
    public static readonly PatroniTimings Defaults = new("defaults", 30, 10, 10, 1000);

    /// <summary>
    /// As close to the console's (poll 2 s, afterSeconds 3, live channels) as Patroni allows: loop_wait 1 (its minimum),
    /// retry_timeout 2 and ttl 5, the smallest that keep Patroni's rule loop_wait + 2 × retry_timeout ≤ ttl (which is
    /// what makes an isolated primary demote itself before its leader key expires); vip-manager polls every 250 ms.
    /// </summary>
    public static readonly PatroniTimings Tuned = new("tuned", 5, 1, 2, 250);

    /// <summary>
    /// The smallest values current Patroni documents as allowed (ttl ≥ 20, loop_wait ≥ 1, retry_timeout ≥ 3; 3.0.2,
    /// Debian bookworm's, does not enforce them, hence <see cref="Tuned"/>): the tuned set a user of a current Patroni gets.
    /// </summary>
    public static readonly PatroniTimings Minimums = new("minimums", 20, 1, 3, 250);

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Label}: ttl {Ttl}, loop_wait {LoopWait}, retry_timeout {RetryTimeout}, vip-manager interval {VipIntervalMs} ms");
}

/// <summary>
/// Patroni as a Patroni user would deploy it on the lab, on top of a fresh lab (no console pair: the lab's own
/// PostgreSQL on pg1 is stopped and left alone; Patroni bootstraps a new cluster in <c>/data10/patroni</c>):
/// <list type="bullet">
/// <item>DCS: one etcd (Debian's etcd-server 3.4, v2 API enabled: Debian's vip-manager 1.0.2 reads etcd's v2 keys,
/// so Patroni uses its <c>etcd</c> (v2) client too) on the lab's witness host 198.18.4.249, a third network namespace
/// the Lab project makes and `lab down` removes. Losing pg1 or pg2 leaves the DCS alone, as the console (the
/// witness of the console's automatic failover) is off both database hosts.</item>
/// <item>Patroni 3.0.2 on pg1 and pg2 (scope <c>bench</c>, REST on :8008, PostgreSQL 15 on :5432 listening on the
/// node's address, the write VIP — non-local bind — and 127.0.0.1; <c>use_pg_rewind</c>; data checksums).</item>
/// <item>Write VIP 198.18.4.251: vip-manager on both hosts, following the leader key (<c>/service/bench/leader</c>),
/// clients connect straight to PostgreSQL on the VIP: vip-manager's documented deployment.</item>
/// <item>Read VIP 198.18.4.252: HAProxy on both hosts bound to it (non-local bind), balancing over both nodes with
/// Patroni's REST check <c>GET /read-only</c> (leader or running replica); the VIP itself held by keepalived on a node
/// whose Patroni says <c>/health</c> (PostgreSQL running) and whose HAProxy runs: the usual HAProxy + keepalived
/// front of a Patroni cluster.</item>
/// </list>
/// Every process is started inside the lab's hosts (or its witness namespace); the lab's teardown stops them by PID.
/// etcd, started by this class, is also stopped by it, by PID.
/// </summary>
internal sealed class PatroniLab : IAsyncDisposable
{
    public const string Scope = "bench";
    public const string DataDir = "/data10/patroni";
    public const string ConfigFile = "/data10/patroni.yml";
    public const string LeaderKey = "/service/" + Scope + "/leader";
    public const string HeartbeatTable = "bench.heartbeat";
    private const string HaproxyPid = "/run/haproxy-patroni.pid";

    /// <summary>What the benchmark needs on the machine (the lab hosts share its files).</summary>
    public static readonly (string Binary, string Package)[] Requirements =
    [
        ("/usr/bin/patroni", "patroni"),
        ("/usr/bin/etcd", "etcd-server"),
        ("/usr/bin/vip-manager", "vip-manager"),
    ];

    private readonly LabPairHarness _h;
    private readonly TextWriter _log;
    private readonly string _password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
    private Process? _etcd;

    private PatroniLab(LabPairHarness harness, PatroniTimings timings, TextWriter log)
    {
        _h = harness;
        Timings = timings;
        _log = log;
    }

    public PatroniTimings Timings { get; }

    public IReadOnlyList<string> Nodes => [.. _h.Cluster.Nodes.Select(n => n.Name)];

    public string Address(string node) => _h.Node(node).Address;

    /// <summary>The missing Debian packages, or an empty list.</summary>
    public static IReadOnlyList<string> MissingPackages() => [.. Requirements.Where(r => !File.Exists(r.Binary)).Select(r => r.Package)];

    public static async Task<PatroniLab> StartAsync(LabPairHarness harness, PatroniTimings timings, TextWriter log, CancellationToken ct)
    {
        var lab = new PatroniLab(harness, timings, log);
        try
        {
            await lab.StartEtcdAsync(ct);
            await lab.StartPatroniAsync(ct);
            await lab.StartFrontsAsync(ct);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string through <paramref name="host"/> (a VIP) as the cluster's superuser, short timeouts, no pooling.</summary>
    public string ConnectionString(string host, string applicationName) => new NpgsqlConnectionStringBuilder
    {
        Host = host,
        Port = 5432,
        Username = "postgres",
        Password = _password,
        Database = "postgres",
        ApplicationName = applicationName,
        Timeout = 1,
        CommandTimeout = 1,
        Pooling = false,
        GssEncryptionMode = GssEncryptionMode.Disable,
    }.ConnectionString;

    private async Task StartEtcdAsync(CancellationToken ct)
    {
        await _h.Controller.AddWitnessAsync(ct);
        var dataDir = Path.Combine(_h.ScratchDir, "etcd-" + Timings.Label);
        var logFile = Path.Combine(_h.ScratchDir, "etcd-" + Timings.Label + ".log");
        var w = LabTopology.Witness.Address;
        string[] etcd =
        [
            "etcd", "--name", "dcs", "--data-dir", dataDir,
            "--listen-client-urls", $"http://{w}:2379", "--advertise-client-urls", $"http://{w}:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "dcs=http://127.0.0.1:2380", "--enable-v2=true",
        ];
        // exec all the way down, so the PID this process gets is etcd's own (ip netns exec and bash exec too).
        var argv = LabController.WitnessArgv(["bash", "-c", "exec \"$@\" >>\"$0\" 2>&1 </dev/null", logFile, .. etcd]);
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var a in argv.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        _etcd = Process.Start(start) ?? throw new InvalidOperationException("etcd did not start");
        _log.WriteLine($"  etcd started in the witness host {LabTopology.Witness.Name} ({w}), PID {_etcd.Id}, log {logFile}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        await WaitAsync(async () =>
        {
            try
            {
                return (await http.GetStringAsync($"http://{w}:2379/health", ct)).Contains("true", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "etcd healthy", ct);
    }

    private string PatroniConfig(string node)
    {
        var a = Address(node);
        var w = LabTopology.Witness.Address;
        var bin = _h.Cluster.Postgres.BinDir;
        var t = Timings;
        return string.Create(CultureInfo.InvariantCulture, $"""
            scope: {Scope}
            name: {node}
            restapi:
              listen: {a}:8008
              connect_address: {a}:8008
            etcd:
              host: {w}:2379
            bootstrap:
              dcs:
                ttl: {t.Ttl}
                loop_wait: {t.LoopWait}
                retry_timeout: {t.RetryTimeout}
                synchronous_mode: false
                postgresql:
                  use_pg_rewind: true
                  parameters:
                    wal_log_hints: 'on'
                    max_connections: 100
              initdb:
              - encoding: UTF8
              - data-checksums
              pg_hba:
              - local all all trust
              - host replication replicator 198.18.4.0/24 scram-sha-256
              - host all all 127.0.0.1/32 scram-sha-256
              - host all all 198.18.4.0/24 scram-sha-256
            postgresql:
              listen: {a},{_h.Cluster.WriteVip},127.0.0.1:5432
              connect_address: {a}:5432
              use_unix_socket: true
              data_dir: {DataDir}
              bin_dir: {bin}
              pgpass: /data10/patroni-pgpass
              authentication:
                superuser:
                  username: postgres
                  password: {_password}
                replication:
                  username: replicator
                  password: {_password}
              parameters:
                unix_socket_directories: /var/run/postgresql
                bench.node: {node}
            tags:
              nofailover: false
              noloadbalance: false
              clonefrom: false
              nosync: false

            """);
    }

    private async Task StartPatroniAsync(CancellationToken ct)
    {
        foreach (var node in Nodes)
        {
            // The lab's own PostgreSQL (the runbook's starting state on pg1) steps aside: Patroni runs its own cluster.
            await ExecAsync(node, ["bash", "-c", $"if [ -f /data10/pgdata/postmaster.pid ]; then runuser -u postgres -- {_h.Cluster.Postgres.BinDir}/pg_ctl -D /data10/pgdata -m fast -w stop; fi"], ct);
            await CheckedAsync(node, ["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"], null, ct);
            await CheckedAsync(node, ["bash", "-c", "set -e; rm -rf -- \"$1\"; install -d -o postgres -g postgres -m 0700 \"$1\"; install -d -o postgres -g postgres -m 2775 /var/run/postgresql; umask 077; cat > \"$2\"; chown postgres:postgres \"$2\"", "_", DataDir, ConfigFile], PatroniConfig(node), ct);
        }

        // pg1 first: it initialises the cluster; then pg2 clones it.
        var first = Nodes[0];
        await StartDaemonAsync(first, "/data10/patroni.log", ["runuser", "-u", "postgres", "--", "patroni", ConfigFile], ct);
        await WaitAsync(() => RestOkAsync(first, "primary", ct), TimeSpan.FromSeconds(90), $"Patroni on {first} to bootstrap and lead", ct);
        await PsqlCheckedAsync(first, $"CREATE SCHEMA IF NOT EXISTS bench; CREATE TABLE IF NOT EXISTS {HeartbeatTable} (id bigserial PRIMARY KEY, written_by text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())", ct);
        foreach (var node in Nodes.Skip(1))
        {
            await StartDaemonAsync(node, "/data10/patroni.log", ["runuser", "-u", "postgres", "--", "patroni", ConfigFile], ct);
            await WaitAsync(() => RestOkAsync(node, "replica", ct), TimeSpan.FromSeconds(120), $"Patroni on {node} to clone and stream", ct);
        }

        _log.WriteLine("  patroni: " + (await ListAsync(first, ct)).Replace("\n", "\n    ", StringComparison.Ordinal));
    }

    private async Task StartFrontsAsync(CancellationToken ct)
    {
        foreach (var node in Nodes)
        {
            var peer = Nodes.First(n => n != node);
            await StartDaemonAsync(node, "/data10/vip-manager.log",
            [
                "vip-manager", "--ip", _h.Cluster.WriteVip, "--netmask", "24", "--interface", _h.Cluster.Vrrp.Interface,
                "--trigger-key", LeaderKey, "--trigger-value", node, "--dcs-type", "etcd",
                "--dcs-endpoints", $"http://{LabTopology.Witness.Address}:2379", "--interval", Timings.VipIntervalMs.ToString(CultureInfo.InvariantCulture),
            ], ct);

            await CheckedAsync(node, ["bash", "-c", "cat > /etc/haproxy/patroni-bench.cfg"], HaproxyConfig(), ct);
            await CheckedAsync(node, ["haproxy", "-c", "-q", "-f", "/etc/haproxy/patroni-bench.cfg"], null, ct);
            await CheckedAsync(node, ["haproxy", "-D", "-f", "/etc/haproxy/patroni-bench.cfg", "-p", HaproxyPid], null, ct);

            await CheckedAsync(node, ["bash", "-c", "umask 022; cat > /etc/keepalived/patroni-read-check.sh; chmod 0755 /etc/keepalived/patroni-read-check.sh"], $"""
                #!/bin/sh
                # The read VIP stays where Patroni says PostgreSQL runs (/health) and HAProxy runs.
                curl -fsS -m 1 -o /dev/null http://{Address(node)}:8008/health || exit 1
                kill -0 "$(cat {HaproxyPid})" 2>/dev/null

                """, ct);
            await CheckedAsync(node, ["bash", "-c", "cat > /etc/keepalived/patroni-bench.conf"], KeepalivedConfig(node, peer), ct);
            await CheckedAsync(node, ["keepalived", "-t", "-f", "/etc/keepalived/patroni-bench.conf"], null, ct);
            await CheckedAsync(node, ["keepalived", "-f", "/etc/keepalived/patroni-bench.conf", "-p", "/run/keepalived-patroni.pid", "-r", "/run/keepalived-patroni-vrrp.pid", "-c", "/run/keepalived-patroni-checkers.pid"], null, ct);
        }

        var leader = await LeaderAsync(ct) ?? throw new InvalidOperationException("no Patroni leader after the set-up");
        await WaitAsync(async () => (await AddressesAsync(leader, ct)).Contains(_h.Cluster.WriteVip + "/", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the write VIP on the leader (vip-manager)", ct);
        await WaitAsync(async () =>
        {
            foreach (var n in Nodes)
            {
                if ((await AddressesAsync(n, ct)).Contains(_h.Cluster.ReadVip + "/", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(30), "the read VIP on a node (keepalived)", ct);
        await using (var conn = new NpgsqlConnection(ConnectionString(_h.Cluster.WriteVip, "bench-setup")))
        {
            await conn.OpenAsync(ct);
        }

        _log.WriteLine($"  write VIP through vip-manager on {leader}; read VIP through keepalived + HAProxy (/read-only checks)");
    }

    private string HaproxyConfig() => $"""
        global
            maxconn 400
        defaults
            mode tcp
            timeout connect 1s
            timeout client 30m
            timeout server 30m
            timeout check 1s
        listen patroni_read
            bind {_h.Cluster.ReadVip}:5432
            balance roundrobin
            option httpchk GET /read-only
            http-check expect status 200
            default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
        {string.Join("\n", Nodes.Select(n => $"    server {n} {Address(n)}:5432 check port 8008"))}

        """;

    private string KeepalivedConfig(string node, string peer) => string.Create(CultureInfo.InvariantCulture, $$"""
        global_defs {
            router_id patroni_{{node}}
            enable_script_security
            script_user root
        }
        vrrp_script patroni_read_check {
            script "/etc/keepalived/patroni-read-check.sh"
            interval 1
            timeout 2
            fall 2
            rise 1
        }
        vrrp_instance patroni_read {
            state BACKUP
            interface {{_h.Cluster.Vrrp.Interface}}
            virtual_router_id 152
            priority {{(node == Nodes[0] ? 100 : 90)}}
            advert_int 1
            unicast_src_ip {{Address(node)}}
            unicast_peer {
                {{Address(peer)}}
            }
            virtual_ipaddress {
                {{_h.Cluster.ReadVip}}/24 dev {{_h.Cluster.Vrrp.Interface}}
            }
            track_script {
                patroni_read_check
            }
        }

        """);

    /// <summary>Sets Patroni's <c>synchronous_mode</c> (dynamic configuration, through patronictl on a reachable node).</summary>
    public async Task SetSynchronousAsync(bool on, CancellationToken ct)
    {
        var leader = await LeaderAsync(ct) ?? throw new InvalidOperationException("no leader to configure");
        await CheckedAsync(leader, ["runuser", "-u", "postgres", "--", "patronictl", "-c", ConfigFile, "edit-config", "--force", "-s", "synchronous_mode=" + (on ? "true" : "false")], null, ct);
    }

    /// <summary>The leader according to the nodes themselves (PostgreSQL not in recovery, Patroni's REST <c>/primary</c> 200); null when not exactly one.</summary>
    public async Task<string?> LeaderAsync(CancellationToken ct)
    {
        var leaders = new List<string>();
        foreach (var n in Nodes)
        {
            if (await RestOkAsync(n, "primary", ct))
            {
                leaders.Add(n);
            }
        }

        return leaders.Count == 1 ? leaders[0] : null;
    }

    /// <summary>PostgreSQL's answer to <paramref name="sql"/> on <paramref name="node"/>'s socket; null when the host cannot be reached.</summary>
    public async Task<string?> PsqlAsync(string node, string sql, CancellationToken ct)
    {
        try
        {
            var r = await _h.Controller.ExecInHostAsync(node, ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql], null, TimeSpan.FromSeconds(15), ct);
            return r.Succeeded ? r.StandardOutput.Trim() : null;
        }
        catch (LabException)
        {
            return null;
        }
    }

    /// <summary><c>patronictl list</c> as seen from <paramref name="node"/> (or the error).</summary>
    public async Task<string> ListAsync(string node, CancellationToken ct)
    {
        try
        {
            var r = await _h.Controller.ExecInHostAsync(node, ["runuser", "-u", "postgres", "--", "patronictl", "-c", ConfigFile, "list", "-f", "json"], null, TimeSpan.FromSeconds(20), ct);
            if (!r.Succeeded)
            {
                return "patronictl list failed: " + r.Output.Trim();
            }

            using var doc = JsonDocument.Parse(r.StandardOutput);
            return string.Join(", ", doc.RootElement.EnumerateArray().Select(m =>
                $"{m.GetProperty("Member").GetString()} {m.GetProperty("Role").GetString()} {m.GetProperty("State").GetString()}"
                + (m.TryGetProperty("TL", out var tl) ? " TL " + tl : "")));
        }
        catch (Exception ex) when (ex is LabException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "patronictl list failed: " + ex.Message;
        }
    }

    public async Task<string> AddressesAsync(string node, CancellationToken ct)
    {
        try
        {
            var r = await _h.Controller.ExecInHostAsync(node, ["ip", "-o", "-4", "addr", "show", "dev", _h.Cluster.Vrrp.Interface], null, TimeSpan.FromSeconds(10), ct);
            return r.StandardOutput;
        }
        catch (LabException)
        {
            return "";
        }
    }

    /// <summary>Patroni's REST answer <c>GET /{path}</c> on <paramref name="node"/> is 200 (asked from the machine, through the bridge).</summary>
    public async Task<bool> RestOkAsync(string node, string path, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        try
        {
            using var r = await http.GetAsync($"http://{Address(node)}:8008/{path}", ct);
            return r.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task StartDaemonAsync(string node, string logFile, IReadOnlyList<string> argv, CancellationToken ct)
    {
        var r = await CheckedAsync(node, ["bash", "-c", "log=$1; shift; setsid \"$@\" >>\"$log\" 2>&1 </dev/null & echo $!", "_", logFile, .. argv], null, ct);
        _log.WriteLine($"  {node}: {argv[argv.Count > 3 && argv[0] == "runuser" ? 4 : 0]} started (PID {r.Trim()}, log {logFile})");
    }

    private async Task<string> CheckedAsync(string node, IReadOnlyList<string> argv, string? stdin, CancellationToken ct)
    {
        var r = await _h.Controller.ExecInHostAsync(node, argv, stdin, TimeSpan.FromSeconds(60), ct);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"{node}: {string.Join(' ', argv.Take(4))} … failed (exit {r.ExitCode}): {r.Output.Trim()}");
        }

        return r.StandardOutput;
    }

    private Task<CommandResult> ExecAsync(string node, IReadOnlyList<string> argv, CancellationToken ct) =>
        _h.Controller.ExecInHostAsync(node, argv, null, TimeSpan.FromSeconds(60), ct);

    private Task PsqlCheckedAsync(string node, string sql, CancellationToken ct) =>
        CheckedAsync(node, ["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-qAtc", sql], null, ct);

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(200, ct);
        }
    }

    /// <summary>Stops the etcd this class started, by its PID; the lab's reset stops everything in the hosts.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_etcd is { HasExited: false })
        {
            _etcd.Kill();
            await _etcd.WaitForExitAsync(CancellationToken.None);
        }

        _etcd?.Dispose();
    }
}
