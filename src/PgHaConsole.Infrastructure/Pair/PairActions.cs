using System.Globalization;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>
/// The moves switchover, rejoin and rebuild are made of: keepalived off and on, the VIPs moved by hand (faster than
/// waiting for VRRP to notice), the recovery swap, pg_rewind when the timelines require it, and waiting for streaming.
/// </summary>
public sealed class PairActions(ClusterEnvironment env)
{
    private static readonly KeepalivedPaths Keepalived = new();

    public ClusterSpec Cluster => env.Cluster;

    public async Task StopKeepalivedAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            await host.RunCheckedAsync("Stopping keepalived", RemoteCommand.Exec("systemctl", "stop", "keepalived"), log, ct);
            return;
        }

        if (await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct) is not { } pid)
        {
            log.Info(host.Name, "keepalived is not running");
            return;
        }

        // TERM: keepalived leaves MASTER cleanly (priority-0 advert) and removes its VIPs before it exits.
        const string script = """
            pid=$1
            kill -TERM "$pid" || exit 0
            for _ in $(seq 1 100); do
              [ -d "/proc/$pid" ] || exit 0
              sleep 0.05
            done
            echo "keepalived ($pid) did not stop within 5 s" >&2
            exit 1
            """;
        await host.RunCheckedAsync("Stopping keepalived", RemoteCommand.BashScript(script, pid.ToString(CultureInfo.InvariantCulture)), log, ct);
    }

    /// <summary>The line <see cref="FenceAsync"/> prints once the VIPs are off the fenced host (the server already refuses writes).</summary>
    public const string VipsOffMarker = "pghaconsole: VIPs off";

    /// <summary>
    /// Fences a primary in one round trip, to keep the write gap short. Without systemd: the fast shutdown is begun
    /// (<c>pg_ctl stop -m fast -W</c>: from that moment the postmaster refuses new connections and terminates the
    /// sessions, so no new write is accepted; clients still reaching it through the VIPs get that error at once), then
    /// keepalived is told to stop, the VIPs are removed from the interface and <see cref="VipsOffMarker"/> is printed
    /// (<paramref name="vipsOff"/> is called at that moment: a switchover puts the VIPs on the standby meanwhile), and the
    /// shutdown is awaited with a 10 ms poll; with <paramref name="untilCheckpoint"/> only until pg_control says "shut
    /// down" (the shutdown checkpoint is written: no backend is left; pg_ctl's own wait polls every 100 ms and also waits
    /// for the postmaster's exit, which a half-open client connection can hold up for seconds); the VIPs are checked gone
    /// once more (a keepalived that was mid-advert) and pg_controldata is read (state and shutdown checkpoint). The
    /// postmaster may still be finishing its exit then (its WAL senders deliver the rest; the caller waits for the
    /// standby to have received the checkpoint). With systemd: <c>systemctl stop</c> (it waits), then keepalived and
    /// the VIPs. Bounded by <paramref name="stopTimeout"/>.
    /// </summary>
    /// <param name="untilCheckpoint">
    /// True (a switchover): go on once the shutdown checkpoint is written. False: also wait (10 ms poll) until the
    /// postmaster has exited, for callers that start or rewind the node next.
    /// </param>
    public async Task<PgControlData> FenceAsync(NodeHost host, TimeSpan stopTimeout, StepLog log, CancellationToken ct, Action? vipsOff = null, bool untilCheckpoint = false)
    {
        const string script = """
            set -u
            dev=$1; wvip=$2; rvip=$3; pidfile=$4; systemd=$5; pgctl=$6; datadir=$7; secs=$8; user=$9; controldata=${10}; marker=${11}; checkpoint_only=${12}
            stop_keepalived() {
              if [ "$systemd" = yes ]; then
                systemctl stop --no-block keepalived
              elif [ -f "$pidfile" ]; then
                pid=$(head -n 1 -- "$pidfile" | tr -dc '0-9')
                if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = keepalived ]; then kill -TERM "$pid"; fi
              fi
            }
            # keepalived (told to stop) removes them too: a VIP already gone is not an error.
            vips_off() {
              for a in $(ip -o -4 addr show dev "$dev" | awk '{print $4}'); do
                case "${a%/*}" in "$wvip"|"$rvip") ip addr del "$a" dev "$dev" 2>/dev/null ;; esac
              done
              ! ip -o -4 addr show dev "$dev" | grep -qE " ($wvip|$rvip)/"
            }
            if [ "$systemd" != yes ]; then
              pm=$(head -n 1 -- "$datadir/postmaster.pid" 2>/dev/null | tr -dc '0-9')
              if [ -n "$pm" ]; then
                (cd / && runuser -u "$user" -- "$pgctl" -D "$datadir" -m fast -W stop) || exit $?
              fi
              # The server accepts no new write from here on. While its postmaster still answers "shutting down" at once
              # the VIPs leave (a client mid-connection when they leave waits for its own timeout; once the postmaster stops
              # listening, HAProxy would hold a client for its 1 s retry instead), and the caller puts them on the standby.
              stop_keepalived
              vips_off || { sleep 0.02; vips_off; } || { echo "a VIP is still on $dev" >&2; exit 1; }
              echo "$marker"
              alive() {
                [ -f "$datadir/postmaster.pid" ] && [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null && ! grep -qE '^State:[[:space:]]*Z' "/proc/$pm/status" 2>/dev/null
              }
              # pg_control's state (an int32 after the system identifier, the control version and the catalog version,
              # in every version): 1 = shut down.
              shut_down() { [ "$checkpoint_only" = yes ] && [ "$(od -An -t d4 -j 16 -N 4 -- "$datadir/global/pg_control" 2>/dev/null | tr -d ' ')" = 1 ]; }
              SECONDS=0
              while alive && ! shut_down; do
                if [ "$SECONDS" -ge "$secs" ]; then echo "the server did not shut down within $secs s" >&2; exit 1; fi
                sleep 0.01
              done
              if alive; then echo "shutdown checkpoint written (the postmaster is finishing its exit)"; else echo "server stopped"; fi
              # keepalived may have been mid-advert when it was told to stop: the VIPs must still be gone.
              vips_off || { echo "a VIP is back on $dev" >&2; exit 1; }
            else
              systemctl stop postgresql || exit $?
              stop_keepalived
              vips_off || { sleep 0.02; vips_off; } || { echo "a VIP is still on $dev" >&2; exit 1; }
              echo "$marker"
            fi
            echo "--- pg_controldata"
            cd / && LC_ALL=C runuser -u "$user" -- "$controldata" -D "$datadir"
            """;
        var fired = 0;
        Action<Ssh.OutputLine>? watch = vipsOff is null
            ? null
            : line =>
            {
                if (line.Stream == Ssh.OutputStreamKind.Stdout && line.Text.Trim() == VipsOffMarker && Interlocked.Exchange(ref fired, 1) == 0)
                {
                    vipsOff();
                }
            };
        var result = await host.RunCheckedAsync("Fencing the primary", RemoteCommand.BashScript(script,
            Cluster.Vrrp.Interface, Cluster.WriteVip, Cluster.ReadVip, NodeHost.KeepalivedPidFile,
            Cluster.Postgres.ServiceControl == ServiceControl.Systemd ? "yes" : "no",
            host.Bin("pg_ctl"), Cluster.Postgres.DataDir, ((int)Math.Ceiling(stopTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            Cluster.Postgres.OsUser, host.Bin("pg_controldata"), VipsOffMarker, untilCheckpoint ? "yes" : "no"), log, ct, stopTimeout + TimeSpan.FromSeconds(15), watch);
        var marker = result.StdOut.IndexOf("--- pg_controldata", StringComparison.Ordinal);
        return PgControlDataParser.Parse(marker < 0 ? "" : result.StdOut[marker..]).Value
            ?? throw new StepFailedException($"pg_controldata could not be read on {host.Name} after the shutdown.");
    }

    /// <summary>
    /// A postmaster still exiting after a clean shutdown checkpoint (a switchover's fence goes on at the checkpoint; a
    /// client connection half-way through its start-up can hold the postmaster up to <c>authentication_timeout</c>) is
    /// stopped at once (SIGQUIT: nothing runs in it any more, and pg_control stays "shut down"), and its exit awaited
    /// (10 ms poll, at most 30 s). Nothing happens to a running server (pg_control not "shut down") or a stopped one.
    /// No psql: such a postmaster no longer answers. True when it stopped one.
    /// </summary>
    public async Task<bool> FinishShutdownAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            return false; // systemctl stop returns only once the server has exited.
        }

        const string script = """
            d=$1
            p=$(head -n 1 -- "$d/postmaster.pid" 2>/dev/null | tr -dc '0-9')
            alive() { [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! grep -qE '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; }
            alive || exit 0
            [ "$(od -An -t d4 -j 16 -N 4 -- "$d/global/pg_control" 2>/dev/null | tr -d ' ')" = 1 ] || exit 0
            kill -QUIT "$p" 2>/dev/null
            for _ in $(seq 1 3000); do alive || { echo "stopped the postmaster ($p) still exiting after its shutdown checkpoint"; exit 0; }; sleep 0.01; done
            echo "the postmaster ($p) did not exit within 30 s" >&2
            exit 1
            """;
        var result = await host.RunCheckedAsync("Finishing the shutdown", RemoteCommand.BashScript(script, Cluster.Postgres.DataDir), log, ct, TimeSpan.FromSeconds(45));
        return result.StdOut.Contains("stopped the postmaster", StringComparison.Ordinal);
    }

    /// <summary>
    /// Waits until the keepalived a fence told to stop has exited (it sends its priority-0 adverts and waits for its
    /// check scripts first), killing it after <paramref name="timeout"/>: a later start must not mistake a keepalived
    /// that is still exiting for a running one. The fence removed the VIPs already.
    /// </summary>
    public async Task WaitKeepalivedGoneAsync(NodeHost host, TimeSpan timeout, StepLog log, CancellationToken ct)
    {
        var ticks = ((int)Math.Ceiling(timeout.TotalSeconds * 10)).ToString(CultureInfo.InvariantCulture);
        if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            // A blocking `systemctl stop` has already waited; after `stop --no-block` (the failover's fence) this waits.
            const string unit = """
                ticks=$1; i=0
                while systemctl is-active --quiet keepalived; do
                  i=$((i + 1))
                  if [ "$i" -gt "$ticks" ]; then
                    systemctl kill -s KILL keepalived && echo "keepalived had not exited after TERM: killed"
                    exit 0
                  fi
                  sleep 0.1
                done
                """;
            await host.RunCheckedAsync("Waiting for keepalived to exit", RemoteCommand.BashScript(unit, ticks), log, ct, timeout + TimeSpan.FromSeconds(15));
            return;
        }

        const string script = """
            f=$1; ticks=$2
            alive() { p=$(head -n 1 -- "$f" 2>/dev/null | tr -dc '0-9'); [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] && ! grep -qE '^State:[[:space:]]*Z' "/proc/$p/status" 2>/dev/null; }
            i=0
            while alive; do
              i=$((i + 1))
              if [ "$i" -gt "$ticks" ]; then
                kill -KILL "$p" 2>/dev/null && echo "keepalived ($p) had not exited after TERM: killed"
                exit 0
              fi
              sleep 0.1
            done
            """;
        await host.RunCheckedAsync("Waiting for keepalived to exit", RemoteCommand.BashScript(script, NodeHost.KeepalivedPidFile, ticks),
            log, ct, timeout + TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// Tells keepalived to stop (TERM; on systemd `systemctl stop --no-block`) without waiting for it to exit, which
    /// takes it 2–3 s: a failover's fence must not spend that inside the write outage. Safe there because the fence has
    /// already marked the node fenced (both its checks fail) and removed its VIPs: a keepalived that is shutting down
    /// only gives VIPs up (a priority-0 advert), it never takes one back. The failover's verify step then waits for
    /// it to be gone (<see cref="WaitKeepalivedGoneAsync"/>) and makes sure no VIP is on that host.
    /// </summary>
    public async Task SignalKeepalivedStopAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            await host.RunCheckedAsync("Stopping keepalived (not waiting for it)", RemoteCommand.Exec("systemctl", "stop", "--no-block", "keepalived"), log, ct);
            return;
        }

        if (await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct) is not { } pid)
        {
            log.Info(host.Name, "keepalived is not running");
            return;
        }

        await host.RunCheckedAsync("Stopping keepalived (not waiting for it)",
            RemoteCommand.BashScript("kill -TERM \"$1\" 2>/dev/null || true", pid.ToString(CultureInfo.InvariantCulture)), log, ct);
    }

    public async Task StartKeepalivedAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            await host.RunCheckedAsync("Starting keepalived", RemoteCommand.Exec("systemctl", "start", "keepalived"), log, ct);
            return;
        }

        // A keepalived told to stop by the fence may still be exiting: wait for it (bounded) rather than mistake it for running.
        const string wait = """
            f=$1
            for _ in $(seq 1 100); do
              [ -f "$f" ] || exit 0
              p=$(head -n 1 -- "$f" | tr -dc '0-9')
              [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] || exit 0
              sleep 0.05
            done
            exit 3
            """;
        var exiting = await host.RunAsync(RemoteCommand.BashScript(wait, NodeHost.KeepalivedPidFile), null, ct);
        if (exiting.ExitCode == 3)
        {
            return;
        }

        await host.RunCheckedAsync("Starting keepalived",
            RemoteCommand.BashScript("keepalived -f \"$1\" -p \"$2\" </dev/null >/dev/null 2>&1", Keepalived.ConfigFile, NodeHost.KeepalivedPidFile), log, ct);
    }

    /// <summary>
    /// Lifts the fence of a node that follows the primary again (a streaming standby): its keepalived checks may then
    /// pass again (the write check still only on a primary).
    /// </summary>
    public async Task UnfenceAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (await host.ReadTextAsync(Keepalived.FenceFile, ct) is { } marker)
        {
            log.Info(host.Name, "lifting the fence (" + marker.Trim() + ")");
            await host.RemoveFilesAsync([Keepalived.FenceFile], log, ct);
        }
    }

    /// <summary>Whether the node carries the fence marker.</summary>
    public async Task<bool> IsFencedAsync(NodeHost host, CancellationToken ct) => await host.ReadTextAsync(Keepalived.FenceFile, ct) is not null;

    /// <summary>Which VIPs the host has on an interface now.</summary>
    public async Task<(bool Write, bool Read)> VipsOnAsync(NodeHost host, CancellationToken ct)
    {
        var addrs = await host.InterfacesAsync(ct);
        return (IpAddrParser.HoldsAddress(addrs, Cluster.WriteVip), IpAddrParser.HoldsAddress(addrs, Cluster.ReadVip));
    }

    /// <summary>
    /// Puts both VIPs on the host at once and announces them (gratuitous ARP), as keepalived's MASTER would: the VRRP
    /// timers would otherwise add seconds of write unavailability. keepalived then becomes MASTER there on its own (its
    /// check sees the primary) and keeps them. A VIP that keepalived added meanwhile is not an error.
    /// </summary>
    public async Task AddVipsAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        const string script = """
            set -u
            dev=$1; prefix=$2; shift 2
            i=0
            for vip in "$@"; do
              i=$((i + 1))
              if ! ip -o addr show dev "$dev" | grep -q " $vip/"; then
                label="$dev:$i"
                if [ ${#label} -le 15 ]; then out=$(ip addr add "$vip/$prefix" dev "$dev" label "$label" 2>&1); else out=$(ip addr add "$vip/$prefix" dev "$dev" 2>&1); fi \
                  || ip -o addr show dev "$dev" | grep -q " $vip/" || { echo "$out" >&2; exit 1; }
              fi
            done
            # Gratuitous ARP so neighbours (and clients) update their caches now; in the background: arping lingers a second.
            if command -v arping >/dev/null 2>&1; then
              for vip in "$@"; do
                (arping -q -U -c 2 -I "$dev" "$vip" </dev/null >/dev/null 2>&1 &)
              done
            fi
            """;
        await host.RunCheckedAsync("Adding the VIPs", RemoteCommand.BashScript(script,
            Cluster.Vrrp.Interface, Cluster.VipPrefixLength.ToString(CultureInfo.InvariantCulture), Cluster.WriteVip, Cluster.ReadVip), log, ct);
    }

    /// <summary>
    /// Removes both VIPs from the host (a switchover that stops before the promotion takes them back off the standby; a
    /// failover's verify finds one back on the fenced old primary); fails when one is still there.
    /// </summary>
    public async Task RemoveVipsAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        await host.RunCheckedAsync("Removing the VIPs", RemoteCommand.BashScript(RemoveVipsScript, Cluster.Vrrp.Interface, Cluster.WriteVip, Cluster.ReadVip), log, ct);
    }

    /// <summary>
    /// Takes the VIPs a switchover put on its standby back off it while the standby stays a standby (a switchover that
    /// stops before the promotion, or its rollback). The write VIP always; the read VIP only when no keepalived runs
    /// there: the read VIP belongs on any healthy node, and once the old primary's keepalived stopped, the standby's
    /// keepalived holds it as its read instance's master (removing it under keepalived either raced with keepalived
    /// putting it back, which failed a rollback in the clean-clone CI, or left the read VIP on no node at all).
    /// </summary>
    public async Task RemoveVipsFromStandbyAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct) is null)
        {
            await RemoveVipsAsync(host, log, ct);
            return;
        }

        log.Info(host.Name, "keepalived runs here: the read VIP stays where keepalived puts it (it may hold it as a standby)");
        await host.RunCheckedAsync("Removing the write VIP", RemoteCommand.BashScript(RemoveVipsScript, Cluster.Vrrp.Interface, Cluster.WriteVip, ""), log, ct);
    }

    /// <summary>$1 = interface, $2 = write VIP, $3 = read VIP or empty: removes them, fails when one is still there.</summary>
    private const string RemoveVipsScript = """
        set -u
        dev=$1; wvip=$2; rvip=${3:-$2}
        for a in $(ip -o -4 addr show dev "$dev" | awk '{print $4}'); do
          case "${a%/*}" in "$wvip"|"$rvip") ip addr del "$a" dev "$dev" 2>/dev/null && echo "removed ${a%/*} from $dev" ;; esac
        done
        if ip -o -4 addr show dev "$dev" | awk '{print $4}' | grep -qxE "($wvip|$rvip)/[0-9]+"; then echo "a VIP is still on $dev" >&2; exit 1; fi
        """;

    /// <summary>
    /// Promotes a standby and returns once it accepts writes, in one psql session: on 12+ <c>pg_promote(false)</c> and a
    /// 2 ms poll of <c>pg_is_in_recovery()</c> (<c>pg_promote(true)</c> polls every 100 ms), then the timeline it writes
    /// on; on 11 <c>pg_ctl promote -w</c>. Returns the timeline (null on 11); throws if it is still in recovery after 60 s.
    /// </summary>
    public async Task<int?> PromoteAsync(NodeHost host, StepLog log, CancellationToken ct)
    {
        if (Cluster.Postgres.MajorVersion < 12)
        {
            await host.PromoteAsync(log, ct);
            return null;
        }

        const string sql = """
            SELECT pg_promote(false);
            DO $$
            BEGIN
              WHILE pg_is_in_recovery() AND clock_timestamp() < now() + interval '60 seconds' LOOP
                PERFORM pg_sleep(0.002);
              END LOOP;
            END $$;
            SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN '' ELSE (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int)::text END;
            """;
        var last = (await host.PsqlAsync(sql, log, ct, echoSql: true)).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Split('\t');
        if (last[0] != "f" || !int.TryParse(last[1], NumberStyles.None, CultureInfo.InvariantCulture, out var timeline))
        {
            throw new StepFailedException($"{host.Name} was still in recovery 60 s after pg_promote().");
        }

        return timeline;
    }

    /// <summary>
    /// Waits on the standby, in one psql session (a 5 ms poll), until it has received WAL past <paramref name="lsn"/> or
    /// <paramref name="timeout"/> passed; returns what it has received then (null: nothing) and whether it is in recovery.
    /// </summary>
    public async Task<(Lsn? Received, bool InRecovery)> WaitReceivedAsync(NodeHost host, Lsn lsn, TimeSpan timeout, CancellationToken ct)
    {
        // The LSN is our own parsed value (hex/hex) and the bound a number: nothing from outside is spliced into the SQL.
        var sql = $$"""
            DO $$
            BEGIN
              WHILE coalesce(pg_last_wal_receive_lsn() <= '{{lsn}}'::pg_lsn, true) AND pg_is_in_recovery()
                    AND clock_timestamp() < now() + interval '{{timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}} seconds' LOOP
                PERFORM pg_sleep(0.005);
              END LOOP;
            END $$;
            SELECT coalesce(pg_last_wal_receive_lsn()::text, ''), pg_is_in_recovery();
            """;
        var row = (await host.PsqlAsync(sql, null, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Split('\t');
        return (Lsn.TryParse(row[0], out var r) ? r : null, row.Length > 1 && row[1] == "t");
    }

    /// <summary>The node's row in the primary's pg_stat_replication is 'streaming'.</summary>
    public async Task<bool> StreamingAsync(NodeHost primary, NodeHost standby, CancellationToken ct)
    {
        var row = await primary.ReplicationRowAsync(standby, ct);
        return row is not null && row.StartsWith("streaming ", StringComparison.Ordinal);
    }

    public async Task<bool> WaitStreamingAsync(NodeHost primary, NodeHost standby, TimeSpan timeout, CancellationToken ct)
    {
        var started = env.Time.GetTimestamp();
        while (!await StreamingAsync(primary, standby, ct))
        {
            if (env.Time.GetElapsedTime(started) > timeout)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), env.Time, ct);
        }

        return true;
    }

    /// <summary>
    /// Whether the stopped node's WAL has diverged from the new primary's timeline (<see cref="RewindDecision"/>, from the
    /// node's pg_controldata and the new timeline's history file). Returns the reason, for the log.
    /// </summary>
    public async Task<(bool Needed, string Reason)> RewindNeededAsync(NodeHost node, NodeHost primary, CancellationToken ct)
    {
        var control = await node.ControlDataAsync(ct) ?? throw new StepFailedException($"Cannot read pg_controldata on {node.Name}.");
        var tli = int.Parse((await primary.PsqlAsync("SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int", null, ct)).Trim(), CultureInfo.InvariantCulture);
        if (RewindDecision.NodeTimeline(control) == tli)
        {
            return RewindDecision.Decide(node.Name, control, tli, null);
        }

        var history = await primary.PsqlAsync(
            $"SELECT pg_read_file('pg_wal/' || lpad(upper(to_hex({tli.ToString(CultureInfo.InvariantCulture)})), 8, '0') || '.history')", null, ct);
        return RewindDecision.Decide(node.Name, control, tli, history);
    }

    /// <summary>pg_rewind from the new primary (as the replication role, password from the pass file).</summary>
    public async Task RewindAsync(NodeHost node, NodeHost primary, StepLog log, CancellationToken ct)
    {
        var control = await node.ControlDataAsync(ct);
        if (control is { RewindPossible: false })
        {
            throw new StepFailedException($"pg_rewind is impossible on {node.Name}: neither wal_log_hints nor data checksums are on. Rebuild it (re-clone) instead.");
        }

        if (control is { IsCleanlyShutDown: false })
        {
            // pg_rewind needs a clean shutdown: a crashed server is first run through crash recovery in single-user mode
            // (after removing the lock files of the dead postmaster).
            await node.ClearStaleLocksAsync(log, ct);
            const string recover = """
                bin=$1; d=$2
                # A fenced node carries a standby signal (its next start is read-only); single-user mode refuses it.
                # The recovery swap after the rewind writes the node's standby configuration again.
                rm -f -- "$d/standby.signal" "$d/recovery.signal" "$d/recovery.conf"
                "$bin" --single -D "$d" postgres </dev/null >/dev/null
                """;
            await node.RunCheckedAsync("Finishing crash recovery",
                RemoteCommand.BashScript(recover, node.Bin("postgres"), Cluster.Postgres.DataDir)
                    .AsUser(Cluster.Postgres.OsUser).InDirectory("/"), log, ct, TimeSpan.FromMinutes(10));
        }

        var source = Conninfo.Build([
            new("host", primary.Node.Address),
            new("port", Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)),
            new("user", Cluster.Postgres.ReplicationUser),
            new("dbname", "postgres"),
            new("passfile", RecoveryConfigRenderer.DefaultPassFile(Cluster.Postgres)),
            new("connect_timeout", "10"),
        ]);
        var args = new List<string> { "--target-pgdata", Cluster.Postgres.DataDir, "--source-server", source, "--progress" };
        if (Cluster.Postgres.MajorVersion >= 13)
        {
            // --restore-target-wal fetches WAL the target no longer has from its archive: only with a restore_command.
            var restore = await node.RunAsync(RemoteCommand.Exec(node.Bin("postgres"), "-D", Cluster.Postgres.DataDir, "-C", "restore_command")
                .AsUser(Cluster.Postgres.OsUser).InDirectory("/"), null, ct);
            if (restore.Succeeded && restore.StdOut.Trim().Length > 0)
            {
                args.Add("--restore-target-wal");
            }
            else
            {
                log.Info(node.Name, "no restore_command: pg_rewind runs without --restore-target-wal (the WAL it needs must still be in pg_wal)");
            }
        }

        // pg_rewind reads the source's timeline from its control file, which a promotion updates only at its next
        // checkpoint (spread, after a fast promotion): without one it says "same timeline, no rewind required" and the
        // node then cannot follow.
        await primary.PsqlAsync("CHECKPOINT", log, ct, echoSql: true);
        await node.RunCheckedAsync("pg_rewind", RemoteCommand.Exec(node.Bin("pg_rewind"), args).AsUser(Cluster.Postgres.OsUser).InDirectory("/"), log, ct, TimeSpan.FromHours(2));

        // pg_rewind copied the source's configuration files too, the console's settings file included: the node would
        // come back listening on its peer's address. Its own settings are written again, as after a re-clone.
        var files = new PostgresConfFiles(env);
        var primaryMax = int.Parse((await primary.PsqlAsync("SHOW max_connections", null, ct)).Trim(), CultureInfo.InvariantCulture);
        await files.WriteSettingsAsync(node, await files.ConfigFileAsync(node, running: false, ct), primaryMax, log, ct);
    }

    /// <summary>
    /// Re-clones <paramref name="node"/> from <paramref name="primary"/>: PostgreSQL stopped, the data directory emptied
    /// (the caller has the operator's typed confirmation), pg_basebackup with the pass file, ownership, the node's own
    /// settings file. Never called for the primary.
    /// </summary>
    public async Task ReCloneAsync(NodeHost node, NodeHost primary, StepLog log, CancellationToken ct)
    {
        if (node == primary)
        {
            throw new StepFailedException("Refusing to re-clone the primary.");
        }

        var state = await node.GetPgStateAsync(ct);
        if (state.Running)
        {
            await node.StopPgAsync(log, ct);
        }

        var pg = Cluster.Postgres;
        await node.RunCheckedAsync("Emptying the data directory",
            RemoteCommand.BashScript("set -eu; d=$1; [ -d \"$d\" ] || exit 0; find \"$d\" -mindepth 1 -delete", pg.DataDir), log, ct, TimeSpan.FromMinutes(10));
        var password = await env.EnsureSecretAsync(SecretKind.Replication, ct);
        var passFile = RecoveryConfigRenderer.DefaultPassFile(pg);
        await node.WriteTextAsync(passFile, RecoveryConfigRenderer.PassFileContent(Cluster, password), "0600", node.PgOwner, log, ct);
        await node.RunCheckedAsync("Preparing the data directory",
            RemoteCommand.BashScript("set -eu; install -d -m 0700 -o \"$2\" -- \"$1\"; chmod 0700 -- \"$1\"", pg.DataDir, pg.OsUser), log, ct);
        await node.RunCheckedAsync("pg_basebackup",
            RemoteCommand.Exec(node.Bin("pg_basebackup"), "-h", primary.Node.Address, "-p", pg.Port.ToString(CultureInfo.InvariantCulture),
                    "-U", pg.ReplicationUser, "-D", pg.DataDir, "-X", "stream", "-c", "fast", "--progress", "--verbose", "--no-password")
                .AsUser(pg.OsUser).InDirectory("/").WithEnvironment("PGPASSFILE", passFile),
            log, ct, TimeSpan.FromHours(6));
        await node.RunCheckedAsync("Fixing ownership",
            RemoteCommand.BashScript("set -eu; chown -R -- \"$2:\" \"$1\"; chmod 0700 -- \"$1\"", pg.DataDir, pg.OsUser), log, ct, TimeSpan.FromMinutes(10));
        var files = new PostgresConfFiles(env);
        var primaryMax = int.Parse((await primary.PsqlAsync("SHOW max_connections", null, ct)).Trim(), CultureInfo.InvariantCulture);
        await files.WriteSettingsAsync(node, await files.ConfigFileAsync(node, running: false, ct), primaryMax, log, ct);
    }

    /// <summary>
    /// The recovery swap: the node's configuration to follow its peer (standby.signal + the pre-staged include file on
    /// 12+; recovery.conf from the pre-staged recovery.done on 11), written as the setup wizard writes it.
    /// </summary>
    public async Task MakeStandbyConfigAsync(NodeHost node, StepLog log, CancellationToken ct)
    {
        var files = new PostgresConfFiles(env);
        var config = RecoveryConfigRenderer.ForStandby(Cluster, node.Node, RecoveryConfigRenderer.DefaultPassFile(Cluster.Postgres));
        var dataDir = Cluster.Postgres.DataDir.TrimEnd('/');
        foreach (var f in config.Files)
        {
            await node.WriteTextAsync(dataDir + "/" + f.Path, f.Content, f.Mode, node.PgOwner, log, ct);
        }

        await node.RemoveFilesAsync(config.FilesToRemove.Select(r => dataDir + "/" + r), log, ct);
        if (config.Settings.Count > 0)
        {
            var configFile = await files.ConfigFileAsync(node, running: false, ct);
            var path = PostgresConfFiles.RecoveryPath(configFile);
            var content = PostgresConfFiles.RecoveryContent(config, node.Name);
            if (await node.ReadTextAsync(path, ct) != content)
            {
                await node.WriteTextAsync(path, content, "0600", node.PgOwner, log, ct);
            }
        }
    }
}
