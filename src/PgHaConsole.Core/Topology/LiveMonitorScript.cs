using System.Globalization;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Topology;

/// <summary>
/// The long-lived read-only script each node runs over its SSH connection so that the console hears of a change as it
/// happens instead of at the next poll. It prints one line per change (parsed by
/// <see cref="Parsing.LiveSignalParser"/>):
/// <list type="bullet">
/// <item><c>addr …</c>: a line of <c>ip -o monitor address</c> (the kernel's own notification: a VIP added or deleted);</item>
/// <item><c>pm up|dead|none PID STATUS</c>: the data directory's <c>postmaster.pid</c> (PostgreSQL starting, stopping,
/// promoted: its status line goes <c>standby</c> → <c>ready</c>), and whether its process still lives (a <c>kill -9</c>
/// leaves the file behind but not the process);</item>
/// <item><c>ka …</c> / <c>kr …</c>: the write and read VIPs' keepalived state files, rewritten by the notify scripts;</item>
/// <item><c>fence yes|no</c>: the fence marker;</item>
/// <item><c>kp up|dead|none PID</c>: keepalived's main process (its pid file), so a <c>kill -9</c> of keepalived is
/// probed at once rather than at the next poll;</item>
/// <item><c>hb</c>: a heartbeat every 300 ms, so a silent connection (a partition, a lost host) is noticed within
/// <see cref="SuspectAfter"/>: the console shows the host as not answering at once (issue #13: the topology shows the
/// truth within 2 s, while a probe only gives up after its timeout) and rebuilds the channel after
/// <see cref="SilenceLimit"/>.</item>
/// </list>
/// Why a 100 ms loop for the files and the process rather than inotify: a <c>kill -9</c> of the postmaster touches no
/// file, so a process check is needed anyway, and <c>inotify-tools</c> is not on every host. The loop uses shell
/// builtins only (<c>mapfile</c>, <c>read</c>, <c>[ -d ]</c>, a <c>read -t</c> on a private pipe as its sleep): no process is
/// started per round, and it prints only what changed. The first round prints the whole state, so every (re)connection
/// triggers a probe. A write to a closed channel fails (SIGPIPE ignored), the script exits and its EXIT trap ends its
/// process group (<c>ip monitor</c> included); the command's host-side timeout bounds it in any case.
/// </summary>
public static class LiveMonitorScript
{
    /// <summary>Rounds of the file/process loop per heartbeat.</summary>
    public const int HeartbeatRounds = 3;

    /// <summary>How long one round sleeps.</summary>
    public static readonly TimeSpan Round = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the script prints a heartbeat.</summary>
    public static TimeSpan HeartbeatInterval => Round * HeartbeatRounds;

    /// <summary>
    /// A channel that printed nothing (four heartbeats missed) for this long says its host does not answer: the console
    /// shows the host so at once, without waiting for a probe's timeout, and probes it again.
    /// </summary>
    public static readonly TimeSpan SuspectAfter = TimeSpan.FromMilliseconds(1200);

    /// <summary>The console gives up on a channel that printed nothing (not even a heartbeat) for this long.</summary>
    public static readonly TimeSpan SilenceLimit = TimeSpan.FromSeconds(6);

    /// <summary>$1 = write VIP state file, $2 = read VIP state file, $3 = fence marker, $4 = data directory, $5 = round in seconds, $6 = rounds per heartbeat, $7 = keepalived's main pid file.</summary>
    public const string Script = """
        export LC_ALL=C PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
        trap '' PIPE
        trap 'trap - EXIT; kill 0 2>/dev/null' EXIT
        out() { printf '%s\n' "$*" 2>/dev/null || exit 0; }
        ip -o monitor address 2>&1 | while IFS= read -r l; do printf 'addr %s\n' "$l" 2>/dev/null || exit 0; done &
        exec 9<> <(:)
        lpm=- lka=- lkr=- lfe=- lkp=- n=0
        while :; do
          pm=none
          if mapfile -t pf 2>/dev/null < "$4/postmaster.pid" && [ -n "${pf[0]:-}" ]; then
            pid=${pf[0]//[!0-9]/}; st=${pf[7]:-}; st=${st//[!a-z]/}; s=dead
            if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && read -r _ _ ps _ 2>/dev/null < "/proc/$pid/stat" && [ "$ps" != Z ]; then s=up; fi
            pm="$s $pid ${st:-unknown}"
          fi
          ka=none; if mapfile -t k 2>/dev/null < "$1"; then ka="${k[*]}"; fi
          kr=none; if mapfile -t k 2>/dev/null < "$2"; then kr="${k[*]}"; fi
          if [ -e "$3" ]; then fe=yes; else fe=no; fi
          kp=none
          if read -r kpid 2>/dev/null < "$7"; then
            kpid=${kpid//[!0-9]/}; ks=dead
            if [ -n "$kpid" ] && [ -r "/proc/$kpid/stat" ] && read -r _ _ kst _ 2>/dev/null < "/proc/$kpid/stat" && [ "$kst" != Z ]; then ks=up; fi
            kp="$ks $kpid"
          fi
          [ "$pm" != "$lpm" ] && { out "pm $pm"; lpm=$pm; }
          [ "$ka" != "$lka" ] && { out "ka $ka"; lka=$ka; }
          [ "$kr" != "$lkr" ] && { out "kr $kr"; lkr=$kr; }
          [ "$fe" != "$lfe" ] && { out "fence $fe"; lfe=$fe; }
          [ "$kp" != "$lkp" ] && { out "kp $kp"; lkp=$kp; }
          n=$((n + 1)); if [ "$n" -ge "$6" ]; then n=0; out hb; fi
          read -r -t "$5" -u 9 _ || :
        done
        """;

    /// <summary>The positional arguments of <see cref="Script"/>.</summary>
    public static IReadOnlyList<string> Arguments(ClusterSpec cluster, Keepalived.KeepalivedPaths keepalived)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(keepalived);
        return
        [
            keepalived.StateFile, keepalived.ReadStateFile, keepalived.FenceFile, cluster.Postgres.DataDir.TrimEnd('/'),
            Round.TotalSeconds.ToString("0.0##", CultureInfo.InvariantCulture), HeartbeatRounds.ToString(CultureInfo.InvariantCulture),
            keepalived.KeepalivedPidFile,
        ];
    }
}
