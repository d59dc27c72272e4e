using System.Globalization;
using System.Text;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.Infrastructure.Operations;

/// <summary>Where a step's host output goes: the operation's log, under the step's name.</summary>
public readonly record struct StepLog(IOperationContext Context, string Step)
{
    public void Info(string? host, string line) => Context.Log(Step, host, LogStream.Info, line);
}

/// <summary>What a data directory holds, and whether a postmaster runs on it.</summary>
public enum DataDirState
{
    Missing,
    Empty,

    /// <summary>A PostgreSQL data directory (has PG_VERSION).</summary>
    PgData,

    /// <summary>Files, but not a data directory.</summary>
    Other,
}

/// <summary>PostgreSQL on one host, as seen now.</summary>
public sealed record PgState(DataDirState DataDir, bool Running, bool? InRecovery, ulong? SystemIdentifier, bool StandbySignal, bool RecoveryConf, string? PgVersionFile)
{
    public bool IsPrimary => Running && InRecovery == false;

    public bool IsStandby => Running && InRecovery == true;

    /// <summary>The state in words, for logs and messages.</summary>
    public string Describe() => this switch
    {
        { Running: true, InRecovery: true } => "running as a standby",
        { Running: true, InRecovery: false } => "running as a primary",
        { Running: true } => "running (state unknown)",
        { DataDir: DataDirState.PgData } => "data directory present, PostgreSQL stopped",
        { DataDir: DataDirState.Missing } => "no data directory",
        { DataDir: DataDirState.Empty } => "empty data directory",
        _ => "data directory holds files but is not a PostgreSQL data directory",
    };
}

/// <summary>
/// One node's host for an operation: commands (streamed into the operation's log), files, psql as the OS user over the
/// local socket (peer authentication: no password anywhere), and PostgreSQL's start/stop. Every value reaches the host
/// as an argv element or a positional parameter of a fixed script; SQL travels on psql's standard input.
/// </summary>
public sealed class NodeHost
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly ClusterEnvironment _env;

    internal NodeHost(ClusterEnvironment env, NodeSpec node, ISshSession session)
    {
        _env = env;
        Node = node;
        Session = session;
    }

    public NodeSpec Node { get; }

    public string Name => Node.Name;

    public ISshSession Session { get; }

    public PostgresSettings Pg => _env.Cluster.Postgres;

    public string PgOwner => Pg.OsUser + ":";

    public string Bin(string program) => Pg.BinDir.TrimEnd('/') + "/" + program;

    /// <summary>pg_ctl's server log: beside the data directory (the runbook's /data10/postgresql.log).</summary>
    public string ServerLogFile => Core.Boot.HostBootRenderer.ServerLogFile(Pg);

    /// <summary>The command as it would be sent, secrets masked (for plans).</summary>
    public string Display(RemoteCommand command) => _env.Masker.Apply(command.ToDisplayString(Node.Privilege));

    /// <param name="watch">Also receives every output line as it arrives (a caller that reacts to a marker line).</param>
    public async Task<CommandResult> RunAsync(RemoteCommand command, StepLog? log, CancellationToken ct, TimeSpan? timeout = null, bool echo = true, Action<OutputLine>? watch = null)
    {
        if (log is { } l && echo)
        {
            l.Info(Name, "$ " + Display(command));
        }

        Action<OutputLine>? onLine = log is { } sink
            ? line => sink.Context.Log(sink.Step, Name, line.Stream == OutputStreamKind.Stderr ? LogStream.Stderr : LogStream.Stdout, line.Text)
            : null;
        if (watch is not null)
        {
            var logged = onLine;
            onLine = line =>
            {
                logged?.Invoke(line);
                watch(line);
            };
        }

        return await Session.RunAsync(command, timeout ?? DefaultTimeout, onLine, ct);
    }

    /// <summary>
    /// Promotes this standby and returns once it accepts writes: <c>pg_promote(true, 60)</c> on 12+, <c>pg_ctl promote -w</c>
    /// on 11. One place for the switchover and the failover.
    /// </summary>
    public async Task PromoteAsync(StepLog? log, CancellationToken ct)
    {
        if (Pg.MajorVersion >= 12)
        {
            var ok = (await PsqlAsync("SELECT pg_promote(true, 60)", log, ct, echoSql: true)).Trim();
            if (ok != "t")
            {
                throw new StepFailedException($"pg_promote() on {Name} did not complete within 60 s.");
            }
        }
        else
        {
            await RunCheckedAsync("Promoting", RemoteCommand.Exec(Bin("pg_ctl"), "-D", Pg.DataDir, "-w", "promote").AsUser(Pg.OsUser).InDirectory("/"), log, ct);
        }
    }

    /// <summary>Runs and throws <see cref="StepFailedException"/> (with the host's last output lines, masked) unless it succeeded.</summary>
    public async Task<CommandResult> RunCheckedAsync(string what, RemoteCommand command, StepLog? log, CancellationToken ct, TimeSpan? timeout = null, Action<OutputLine>? watch = null)
    {
        var result = await RunAsync(command, log, ct, timeout, watch: watch);
        if (!result.Succeeded)
        {
            throw new StepFailedException(_env.Masker.Apply(DescribeFailure(what, result)));
        }

        return result;
    }

    private string DescribeFailure(string what, CommandResult result)
    {
        var tail = string.Join(" | ", (result.StdErr.Length > 0 ? result.StdErr : result.StdOut)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(4));
        var how = result.TimedOut ? "timed out" : $"exit {result.ExitCode.ToString(CultureInfo.InvariantCulture)}";
        return $"{what} failed on {Name} ({how}){(tail.Length > 0 ? ": " + tail : ".")}";
    }

    /// <summary>A text file's content, or null when it does not exist.</summary>
    public async Task<string?> ReadTextAsync(string path, CancellationToken ct)
    {
        var result = await Session.RunAsync(RemoteCommand.BashScript("[ -f \"$1\" ] || exit 3; cat -- \"$1\"", path), DefaultTimeout, null, ct);
        if (result.ExitCode == 3)
        {
            return null;
        }

        if (!result.Succeeded)
        {
            throw new StepFailedException(_env.Masker.Apply(DescribeFailure("Reading " + path, result)));
        }

        return result.StdOut;
    }

    public async Task WriteTextAsync(string path, string content, string mode, string owner, StepLog? log, CancellationToken ct)
    {
        if (owner.EndsWith(':'))
        {
            // "user:" = the user and its login group (chown's own shorthand), resolved once per host.
            owner += await LoginGroupAsync(owner[..^1], ct);
        }

        var stat = await Session.WriteFileAsync(path, Encoding.UTF8.GetBytes(content), mode, owner, ct);
        log?.Info(Name, $"wrote {path} ({content.Length.ToString(CultureInfo.InvariantCulture)} bytes, mode {stat.Mode}, {stat.Owner}:{stat.Group})");
    }

    /// <summary>
    /// Replaces a file the host already had (pg_hba.conf, postgresql.conf): the previous one is kept beside it as
    /// <c>&lt;path&gt;.pghaconsole-&lt;UTC time&gt;</c> (mode and owner preserved) before the new content is written.
    /// </summary>
    public async Task ReplaceKeepingCopyAsync(string path, string content, string mode, string owner, StepLog log, CancellationToken ct)
    {
        var stamp = _env.Time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        await RunCheckedAsync("Keeping a copy of " + Path.GetFileName(path), RemoteCommand.Exec("cp", "-p", "--", path, path + ".pghaconsole-" + stamp), log, ct);
        await WriteTextAsync(path, content, mode, owner, log, ct);
    }

    private readonly Dictionary<string, string> _groups = new(StringComparer.Ordinal);

    private async Task<string> LoginGroupAsync(string user, CancellationToken ct)
    {
        if (_groups.TryGetValue(user, out var known))
        {
            return known;
        }

        var result = await Session.RunAsync(RemoteCommand.Exec("id", "-gn", "--", user), DefaultTimeout, null, ct);
        if (!result.Succeeded)
        {
            throw new StepFailedException($"The user {user} does not exist on {Name}.");
        }

        var group = result.StdOut.Trim();
        _groups[user] = group;
        return group;
    }

    /// <summary>Removes files if they exist (never directories).</summary>
    public Task RemoveFilesAsync(IEnumerable<string> paths, StepLog? log, CancellationToken ct) =>
        RunCheckedAsync("Removing files", RemoteCommand.BashScript("for f in \"$@\"; do if [ -f \"$f\" ]; then rm -f -- \"$f\" && echo \"removed $f\"; fi; done", paths), log, ct);

    public async Task<bool> FileExistsAsync(string path, CancellationToken ct) =>
        (await Session.RunAsync(RemoteCommand.Exec("test", "-f", path), DefaultTimeout, null, ct)).ExitCode == 0;

    /// <summary>
    /// Runs SQL through psql as the OS user over the local socket; returns the unaligned, tuples-only output
    /// (fields separated by a tab). ON_ERROR_STOP: any error fails the command.
    /// </summary>
    public async Task<string> PsqlAsync(string sql, StepLog? log, CancellationToken ct, string database = "postgres", bool echoSql = false)
    {
        var command = RemoteCommand.Exec(Bin("psql"), "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                "-p", Pg.Port.ToString(CultureInfo.InvariantCulture), "-d", database)
            .AsUser(Pg.OsUser)
            .InDirectory("/")
            .WithStdIn(Encoding.UTF8.GetBytes(sql));
        if (log is { } l && echoSql)
        {
            l.Info(Name, "psql> " + _env.Masker.Apply(sql.Trim()));
        }

        var result = await Session.RunAsync(command, DefaultTimeout, null, ct);
        if (!result.Succeeded)
        {
            throw new StepFailedException(_env.Masker.Apply(DescribeFailure("SQL", result)));
        }

        return result.StdOut.TrimEnd('\n');
    }

    /// <summary>The data directory's state and, when a postmaster runs, whether it is in recovery and its system identifier.</summary>
    public async Task<PgState> GetPgStateAsync(CancellationToken ct)
    {
        const string script = """
            d=$1; pgctl=$2; user=$3
            if [ ! -e "$d" ]; then echo datadir=missing
            elif [ -f "$d/PG_VERSION" ]; then echo datadir=pgdata; echo "pgversion=$(cat -- "$d/PG_VERSION")"
            elif [ -z "$(ls -A -- "$d")" ]; then echo datadir=empty
            else echo datadir=other; fi
            running=0
            if [ -f "$d/PG_VERSION" ] && (cd / && runuser -u "$user" -- "$pgctl" status -D "$d" >/dev/null 2>&1); then
              # A postmaster killed with -9 lingers as a zombie until its parent reaps it: not running.
              p=$(head -n 1 -- "$d/postmaster.pid" 2>/dev/null | tr -dc '0-9')
              if [ -n "$p" ] && grep -qE '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; then running=0; else running=1; fi
            fi
            echo "running=$running"
            if [ -f "$d/standby.signal" ]; then echo standby_signal=1; fi
            if [ -f "$d/recovery.conf" ]; then echo recovery_conf=1; fi
            exit 0
            """;
        var result = await Session.RunAsync(RemoteCommand.BashScript(script, Pg.DataDir, Bin("pg_ctl"), Pg.OsUser), DefaultTimeout, null, ct);
        if (!result.Succeeded)
        {
            throw new StepFailedException(_env.Masker.Apply(DescribeFailure("Inspecting the data directory", result)));
        }

        var kv = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
        var dataDir = kv.GetValueOrDefault("datadir") switch
        {
            "pgdata" => DataDirState.PgData,
            "empty" => DataDirState.Empty,
            "other" => DataDirState.Other,
            _ => DataDirState.Missing,
        };
        var running = kv.GetValueOrDefault("running") == "1";
        bool? inRecovery = null;
        ulong? sysId = null;
        if (running)
        {
            try
            {
                var row = (await PsqlAsync("SELECT pg_is_in_recovery(), (SELECT system_identifier FROM pg_control_system())", null, ct)).Split('\t');
                inRecovery = row[0] == "t";
                sysId = ulong.Parse(row[1], CultureInfo.InvariantCulture);
            }
            catch (StepFailedException)
            {
                // Starting up or shutting down: running, state unknown.
            }
        }
        else if (dataDir == DataDirState.PgData)
        {
            sysId = (await ControlDataAsync(ct))?.SystemIdentifier;
        }

        return new PgState(dataDir, running, inRecovery, sysId, kv.ContainsKey("standby_signal"), kv.ContainsKey("recovery_conf"), kv.GetValueOrDefault("pgversion"));
    }

    /// <summary>pg_controldata of the data directory (works with the server stopped); null when it cannot be read.</summary>
    public async Task<PgControlData?> ControlDataAsync(CancellationToken ct)
    {
        var result = await Session.RunAsync(
            RemoteCommand.Exec(Bin("pg_controldata"), "-D", Pg.DataDir).AsUser(Pg.OsUser).InDirectory("/").WithEnvironment("LC_ALL", "C"),
            DefaultTimeout, null, ct);
        if (!result.Succeeded)
        {
            return null;
        }

        var parsed = PgControlDataParser.Parse(result.StdOut);
        return parsed.Value;
    }

    public async Task StartPgAsync(StepLog? log, CancellationToken ct)
    {
        await ClearStaleLocksAsync(log, ct);
        if (Pg.ServiceControl == ServiceControl.Systemd)
        {
            await RunCheckedAsync("Starting PostgreSQL", RemoteCommand.Exec("systemctl", "start", Unit()), log, ct, TimeSpan.FromSeconds(90));
            return;
        }

        try
        {
            await RunCheckedAsync("Starting PostgreSQL",
                RemoteCommand.Exec(Bin("pg_ctl"), "-D", Pg.DataDir, "-l", ServerLogFile, "-w", "-t", "60", "start").AsUser(Pg.OsUser).InDirectory("/"),
                log, ct, TimeSpan.FromSeconds(90));
        }
        catch (StepFailedException) when (log is not null)
        {
            // pg_ctl only says "Examine the log output": show the server's own last lines, which say why.
            await RunAsync(RemoteCommand.Exec("tail", "-n", "15", "--", ServerLogFile), log, ct);
            throw;
        }
    }

    /// <summary>
    /// Removes the lock files a dead postmaster left behind: the data directory's <c>postmaster.pid</c> and the
    /// socket lock files (<c>.s.PGSQL.PORT.lock</c> in each of <c>unix_socket_directories</c>) whose process is gone,
    /// a zombie (a killed postmaster its parent has not reaped yet) or no longer a PostgreSQL process (its PID reused).
    /// PostgreSQL itself clears a lock only when its PID is gone altogether; for a zombie or a reused PID it refuses to
    /// start ("lock file … already exists"). A live postgres process's lock is never touched.
    /// </summary>
    public async Task ClearStaleLocksAsync(StepLog? log, CancellationToken ct)
    {
        const string script = """
            set -u
            bin=$1; d=$2
            stale() { # lock file -> 0 when the process it names is not a live postgres process
              p=$(head -n 1 -- "$1" 2>/dev/null | tr -dc '0-9')
              [ -n "$p" ] || return 1
              [ -d "/proc/$p" ] || return 0
              grep -qE '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null && return 0
              case "$(cat "/proc/$p/comm" 2>/dev/null)" in postgres|postmaster) return 1 ;; esac
              return 0
            }
            drop_stale() { # lock file, what
              if [ -f "$1" ] && stale "$1"; then
                p=$(head -n 1 -- "$1" | tr -dc '0-9')
                rm -f -- "$1" && echo "removed the stale $2 $1 (process $p is gone, a zombie or not PostgreSQL)"
              fi
            }
            # The dead postmaster's own pid file names its port (line 4) and first socket directory (line 5); the
            # configuration names them all (when it lives in the data directory).
            port=$(sed -n 4p -- "$d/postmaster.pid" 2>/dev/null | tr -dc '0-9')
            dirs=$(sed -n 5p -- "$d/postmaster.pid" 2>/dev/null)
            drop_stale "$d/postmaster.pid" "lock file"
            [ -n "$port" ] || port=$("$bin" -D "$d" -C port 2>/dev/null) || exit 0
            dirs="$dirs,$("$bin" -D "$d" -C unix_socket_directories 2>/dev/null)"
            IFS=','
            for s in $dirs; do
              s=$(echo "$s" | sed 's/^ *//; s/ *$//')
              case "$s" in /*) drop_stale "$s/.s.PGSQL.$port.lock" "socket lock file" ;; esac
            done
            """;
        var result = await RunAsync(RemoteCommand.BashScript(script, Bin("postgres"), Pg.DataDir).AsUser(Pg.OsUser).InDirectory("/"), null, ct);
        foreach (var line in result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            log?.Info(Name, line);
        }
    }

    /// <summary>Stops PostgreSQL (fast by default), bounded by <paramref name="timeout"/> on the host.</summary>
    public Task StopPgAsync(StepLog? log, CancellationToken ct, string mode = "fast", TimeSpan? timeout = null)
    {
        var seconds = (int)Math.Ceiling((timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds);
        return Pg.ServiceControl == ServiceControl.Systemd
            ? RunCheckedAsync("Stopping PostgreSQL", RemoteCommand.Exec("systemctl", "stop", Unit()), log, ct, TimeSpan.FromSeconds(seconds + 10))
            : RunCheckedAsync("Stopping PostgreSQL",
                RemoteCommand.Exec(Bin("pg_ctl"), "-D", Pg.DataDir, "-m", mode, "-w", "-t", seconds.ToString(CultureInfo.InvariantCulture), "stop")
                    .AsUser(Pg.OsUser).InDirectory("/"),
                log, ct, TimeSpan.FromSeconds(seconds + 10));
    }

    public Task RestartPgAsync(StepLog? log, CancellationToken ct) =>
        Pg.ServiceControl == ServiceControl.Systemd
            ? RunCheckedAsync("Restarting PostgreSQL", RemoteCommand.Exec("systemctl", "restart", Unit()), log, ct, TimeSpan.FromSeconds(120))
            : RunCheckedAsync("Restarting PostgreSQL",
                RemoteCommand.Exec(Bin("pg_ctl"), "-D", Pg.DataDir, "-l", ServerLogFile, "-m", "fast", "-w", "-t", "60", "restart").AsUser(Pg.OsUser).InDirectory("/"),
                log, ct, TimeSpan.FromSeconds(120));

    private string Unit() => Pg.SystemdUnit ?? "postgresql";

    /// <summary>keepalived's main pid file (the Debian default, and what the console passes when it starts keepalived itself).</summary>
    public const string KeepalivedPidFile = KeepalivedPaths.DefaultKeepalivedPidFile;

    /// <summary>The standby's row in this primary's pg_stat_replication ("state sync_state client_addr"), or null.</summary>
    public async Task<string?> ReplicationRowAsync(NodeHost standby, CancellationToken ct)
    {
        var sql = "SELECT state || ' ' || sync_state || ' ' || coalesce(host(client_addr), 'local') FROM pg_stat_replication WHERE application_name = "
            + Core.Postgres.GucValue.QuoteForSql(standby.Name) + " ORDER BY state = 'streaming' DESC LIMIT 1";
        var row = (await PsqlAsync(sql, null, ct)).Trim();
        return row.Length == 0 ? null : row;
    }

    /// <summary>
    /// Whether the daemon whose pid file is <paramref name="pidFile"/> runs (the process named there exists and is
    /// <paramref name="comm"/>). Pid files, not pgrep: hosts that share a kernel (containers, the lab) see each other's
    /// processes, never each other's /run.
    /// </summary>
    public async Task<int?> DaemonPidAsync(string pidFile, string comm, CancellationToken ct)
    {
        const string script = """
            f=$1; name=$2
            [ -f "$f" ] || exit 3
            p=$(head -n 1 -- "$f" | tr -dc '0-9')
            [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$name" ] || exit 3
            echo "$p"
            """;
        var result = await Session.RunAsync(RemoteCommand.BashScript(script, pidFile, comm), DefaultTimeout, null, ct);
        return result.Succeeded && int.TryParse(result.StdOut.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>The address this host sees the console's SSH connection come from (for pg_hba lines of the monitoring role).</summary>
    public async Task<string?> ConsoleAddressAsync(CancellationToken ct)
    {
        // As the login user: sudo would drop SSH_CONNECTION from the environment.
        var result = await Session.RunAsync(RemoteCommand.BashScript("printf '%s\\n' \"${SSH_CONNECTION%% *}\"").AsLoginUser(), DefaultTimeout, null, ct);
        var text = result.StdOut.Trim();
        return result.Succeeded && Core.Validation.ClusterValidator.IsIpv4(text) ? text : null;
    }

    /// <summary><c>ip -j addr</c> of the host, parsed.</summary>
    public async Task<IReadOnlyList<IpInterface>> InterfacesAsync(CancellationToken ct)
    {
        var result = await Session.RunAsync(RemoteCommand.Exec("ip", "-j", "addr", "show"), DefaultTimeout, null, ct);
        if (!result.Succeeded)
        {
            throw new StepFailedException(_env.Masker.Apply(DescribeFailure("ip -j addr", result)));
        }

        return IpAddrParser.Parse(result.StdOut).Value ?? [];
    }
}
