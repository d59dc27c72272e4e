using System.Globalization;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.Failover;

/// <summary>How the console sees the primary it last knew.</summary>
public enum ConsoleView
{
    /// <summary>It answers as the primary.</summary>
    Alive,

    /// <summary>Its host answers SSH and says no postmaster runs: PostgreSQL is down.</summary>
    PostgresDown,

    /// <summary>Neither SSH nor PostgreSQL answers: the host is lost or cut off (it must fence itself).</summary>
    Unreachable,

    /// <summary>Anything else (a probe error, a hung server, a host key mismatch, another role): not a death.</summary>
    Unsure,
}

/// <summary>What the console remembers of a cluster between pictures (per process; rebuilt from the next pictures after a restart).</summary>
public sealed record WitnessMemory
{
    /// <summary>The node last seen as the only primary.</summary>
    public string? Primary { get; init; }

    /// <summary>When the console last saw it answer as the primary.</summary>
    public DateTimeOffset? PrimaryLastSeen { get; init; }

    /// <summary>Its WAL position then.</summary>
    public Lsn? PrimaryLastLsn { get; init; }

    /// <summary>At that picture the standby streamed with lag within the limits.</summary>
    public bool StandbyCaughtUp { get; init; }

    /// <summary>At that picture synchronous replication was in force (set, and the standby in sync state).</summary>
    public bool SynchronousInForce { get; init; }

    /// <summary>Since when the console has seen the primary lost (consecutive pictures).</summary>
    public DateTimeOffset? ConsoleLostSince { get; init; }

    /// <summary>Since when the standby has seen the primary lost (consecutive pictures).</summary>
    public DateTimeOffset? StandbyLostSince { get; init; }

    /// <summary>Since when the standby has not been streaming from the primary (for the synchronous degrade).</summary>
    public DateTimeOffset? StandbyNotStreamingSince { get; init; }
}

/// <summary>The evidence about a lost primary in one picture, as the failover preflight and the witness use it.</summary>
public sealed record LossAssessment
{
    public required string? Primary { get; init; }

    public required string? Standby { get; init; }

    public required ConsoleView Console { get; init; }

    public required string ConsoleDetail { get; init; }

    /// <summary>The standby's WAL receiver has lost the primary and the standby cannot open the primary's port.</summary>
    public required bool StandbySeesLost { get; init; }

    public required string StandbyDetail { get; init; }

    /// <summary>The standby answers, in recovery, over SSH and PostgreSQL.</summary>
    public required bool StandbyHealthy { get; init; }

    public Lsn? StandbyReceived { get; init; }

    public Lsn? StandbyReplayed { get; init; }

    public Lsn? PrimaryLastLsn { get; init; }

    /// <summary>WAL the primary had (as last seen) beyond what the standby received; null when unknown.</summary>
    public long? MissingBytes { get; init; }

    public bool SynchronousInForce { get; init; }

    public bool StandbyCaughtUp { get; init; }

    public bool PrimaryLost => Console is ConsoleView.PostgresDown or ConsoleView.Unreachable;

    /// <summary>A failover is allowed now: the primary is lost for the console and the standby, and the standby is healthy.</summary>
    public bool FailoverAllowed => Primary is not null && Standby is not null && PrimaryLost && StandbySeesLost && StandbyHealthy;

    /// <summary>What may be lost, in words: "nothing acknowledged" only when synchronous replication guaranteed it.</summary>
    public string LossStatement => SynchronousInForce
        ? "nothing acknowledged is lost: synchronous replication was in force at the last observation"
        : MissingBytes is { } b
            ? string.Create(CultureInfo.InvariantCulture, $"up to {b} bytes of WAL may be missing on the standby (asynchronous replication: acknowledged commits in it are lost)")
            : "unknown: the primary's last WAL position was not observed by this console (asynchronous replication: recent acknowledged commits may be lost)";
}

/// <summary>What the witness decided after one picture.</summary>
public sealed record WitnessVerdict(bool Failover, string Reason, LossAssessment? Assessment);

/// <summary>
/// The console as the witness (pg_auto_failover's monitor): pure rules over the topology pictures. The primary is lost
/// only on evidence (its host says no postmaster runs, or nothing of the host answers), never on a probe error; the
/// standby must agree (its WAL receiver lost the primary and it cannot open the primary's port) and be healthy; an
/// unreachable primary is waited for until it has surely fenced itself (<see cref="SelfFence"/>).
/// </summary>
public static class PrimaryLoss
{
    /// <summary>The switchover's lag limits: a standby further behind is not "caught up".</summary>
    public const long MaxLagBytes = 16 * 1024 * 1024;

    public const double MaxLagSeconds = 10;

    public static ConsoleView ViewOf(NodeState? node, out string detail)
    {
        if (node is null)
        {
            detail = "not observed";
            return ConsoleView.Unsure;
        }

        if (node.Role == NodeRole.Primary)
        {
            detail = $"{node.Name} answers as the primary";
            return ConsoleView.Alive;
        }

        if (node.HostKeyMismatch)
        {
            detail = $"{node.Name} presents another SSH host key: the console does not trust what it says";
            return ConsoleView.Unsure;
        }

        if (node.SshReachable && !node.PgReachable && node.PostmasterRunning == false)
        {
            detail = $"{node.Name}: SSH answers, no postmaster runs, PostgreSQL does not answer";
            return ConsoleView.PostgresDown;
        }

        if (!node.SshReachable && !node.PgReachable)
        {
            detail = $"{node.Name}: neither SSH nor PostgreSQL answers the console";
            return ConsoleView.Unreachable;
        }

        detail = node.PgReachable
            ? $"{node.Name} answers as {node.Role.ToString().ToLowerInvariant()}"
            : node.PostmasterRunning == true
                ? $"{node.Name}: a postmaster runs but PostgreSQL does not answer the console (hung, or a probe error): not a death"
                : $"{node.Name}: PostgreSQL does not answer and the host could not say whether it runs: not a death";
        return ConsoleView.Unsure;
    }

    /// <summary>The evidence in one picture about <paramref name="memory"/>'s primary (or the only non-standby when unknown).</summary>
    public static LossAssessment Assess(ClusterTopology picture, WitnessMemory memory)
    {
        ArgumentNullException.ThrowIfNull(picture);
        ArgumentNullException.ThrowIfNull(memory);
        var primaryName = memory.Primary
            ?? picture.Primary?.Name
            // Without memory (a console restart): the node that is not a healthy standby, when the other one is.
            ?? (picture.Nodes.Count(n => n.Role == NodeRole.Standby) == 1 ? picture.Nodes.FirstOrDefault(n => n.Role != NodeRole.Standby)?.Name : null);
        var primary = picture.Nodes.FirstOrDefault(n => n.Name == primaryName);
        var standby = primary is null ? null : picture.Nodes.FirstOrDefault(n => n.Name != primary.Name);
        var view = ViewOf(primary, out var consoleDetail);

        var standbyHealthy = standby is { SshReachable: true, PgReachable: true, Role: NodeRole.Standby, Fenced: null };
        var receiver = standby?.WalReceiver?.Status;
        var receiverLost = !string.Equals(receiver, "streaming", StringComparison.OrdinalIgnoreCase);
        var portClosed = standby?.PeerPortOpen == false;
        var standbySeesLost = standbyHealthy && receiverLost && portClosed;
        var standbyDetail = standby is null
            ? "no standby"
            : !standbyHealthy
                ? $"{standby.Name} is not a healthy standby ({(standby.SshReachable ? "SSH answers" : "SSH does not answer")}, {(standby.PgReachable ? "PostgreSQL " + standby.Role.ToString().ToLowerInvariant() : "PostgreSQL does not answer")}{(standby.Fenced is null ? "" : ", fenced")})"
                : $"{standby.Name}: WAL receiver {(receiver ?? "not running")}, the primary's port {(standby.PeerPortOpen switch { true => "opens", false => "does not open", null => "not tried" })} from there";

        var received = standby?.ReceivedLsn ?? standby?.WalReceiver?.ReceivedLsn;
        long? missing = memory.PrimaryLastLsn is { } last && received is { } r ? Math.Max(0, last - r) : null;
        return new LossAssessment
        {
            Primary = primary?.Name,
            Standby = standby?.Name,
            Console = view,
            ConsoleDetail = consoleDetail,
            StandbySeesLost = standbySeesLost,
            StandbyDetail = standbyDetail,
            StandbyHealthy = standbyHealthy,
            StandbyReceived = received,
            StandbyReplayed = standby?.ReplayedLsn ?? standby?.WalReceiver?.ReplayedLsn,
            PrimaryLastLsn = memory.PrimaryLastLsn,
            MissingBytes = missing,
            SynchronousInForce = memory.SynchronousInForce,
            StandbyCaughtUp = memory.StandbyCaughtUp,
        };
    }

    /// <summary>Folds one picture into the memory.</summary>
    public static WitnessMemory Observe(WitnessMemory memory, ClusterTopology picture, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(picture);
        if (picture.Primary is { } alive && picture.Nodes.Count(n => n.Role == NodeRole.Primary) == 1)
        {
            var standby = picture.Nodes.FirstOrDefault(n => n.Name != alive.Name);
            var row = standby is null ? null : TopologyAssembler.FindReplicationRow(alive, standby);
            var streaming = row is not null && string.Equals(row.State, "streaming", StringComparison.OrdinalIgnoreCase);
            var caughtUp = streaming && standby!.LagBytes is { } b && b <= MaxLagBytes && (standby.LagSeconds ?? 0) <= MaxLagSeconds;
            var sync = streaming && SynchronousReplication.IsSynchronous(alive.SynchronousStandbyNames)
                && string.Equals(row!.SyncState, "sync", StringComparison.OrdinalIgnoreCase);
            return memory with
            {
                Primary = alive.Name,
                PrimaryLastSeen = now,
                PrimaryLastLsn = alive.CurrentLsn ?? memory.PrimaryLastLsn,
                StandbyCaughtUp = caughtUp,
                SynchronousInForce = sync,
                ConsoleLostSince = null,
                StandbyLostSince = null,
                StandbyNotStreamingSince = streaming ? null : memory.StandbyNotStreamingSince ?? now,
            };
        }

        var a = Assess(picture, memory);
        return memory with
        {
            Primary = memory.Primary ?? a.Primary,
            ConsoleLostSince = a.PrimaryLost ? memory.ConsoleLostSince ?? now : null,
            StandbyLostSince = a.PrimaryLost && a.StandbySeesLost ? memory.StandbyLostSince ?? now : null,
        };
    }

    /// <summary>Whether the automatic failover starts now (the caller still needs the cluster's lock).</summary>
    public static WitnessVerdict Evaluate(FailoverPolicy policy, WitnessMemory memory, ClusterTopology picture, DateTimeOffset now, TimeSpan pollInterval)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(memory);
        if (!policy.Automatic)
        {
            return new(false, "automatic failover is off", null);
        }

        if (picture.Primary is not null)
        {
            return new(false, "the primary answers", null);
        }

        if (memory.Primary is null)
        {
            return new(false, "no primary has been seen by this console yet: it cannot be a witness", null);
        }

        var a = Assess(picture, memory);
        if (!a.PrimaryLost)
        {
            return new(false, "the primary is not known to be lost: " + a.ConsoleDetail, a);
        }

        if (!a.StandbyHealthy || !a.StandbySeesLost)
        {
            return new(false, "the standby does not confirm: " + a.StandbyDetail, a);
        }

        if (!memory.StandbyCaughtUp)
        {
            return new(false, "the standby was not caught up (streaming within the lag limits) at the last observation of the primary", a);
        }

        var after = TimeSpan.FromSeconds(policy.AfterSeconds);
        var consoleFor = now - (memory.ConsoleLostSince ?? now);
        var standbyFor = now - (memory.StandbyLostSince ?? now);
        if (consoleFor < after || standbyFor < after)
        {
            return new(false, string.Create(CultureInfo.InvariantCulture,
                $"lost for {consoleFor.TotalSeconds:0.#} s (console) and {standbyFor.TotalSeconds:0.#} s (standby), waiting for {policy.AfterSeconds} s"), a);
        }

        if (a.Console == ConsoleView.Unreachable)
        {
            var wait = SelfFence.UnreachableFailoverDelay(policy.AfterSeconds, pollInterval);
            var since = now - (memory.PrimaryLastSeen ?? memory.ConsoleLostSince ?? now);
            if (since < wait)
            {
                return new(false, string.Create(CultureInfo.InvariantCulture,
                    $"the primary's host is unreachable: waiting until it has surely fenced itself ({since.TotalSeconds:0.#} of {wait.TotalSeconds:0.#} s since it was last seen)"), a);
            }
        }

        return new(true, string.Create(CultureInfo.InvariantCulture,
            $"{a.Primary} lost for {consoleFor.TotalSeconds:0.#} s as seen by the console ({a.ConsoleDetail}) and {standbyFor.TotalSeconds:0.#} s by {a.Standby} ({a.StandbyDetail})"), a);
    }
}
