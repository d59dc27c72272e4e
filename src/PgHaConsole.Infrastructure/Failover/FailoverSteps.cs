using System.Globalization;
using System.Text.Json;
using Npgsql;
using PgHaConsole.Core.Failover;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Failover;

/// <summary>Base of the failover's steps: the lost primary and the standby to promote.</summary>
public abstract class FailoverStep(FailoverRun run) : PrimaryChangeStep<FailoverRun>(run);

/// <summary>Step 1: the preflight report from the hosts; a healthy primary, or a standby that still sees it, stops the failover.</summary>
public sealed class FailoverPreflightStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "preflight";

    public override string Description => "The primary is lost for the console and for the standby; the standby is healthy; what may be lost";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([Note(New, "read-only checks on both hosts (see the failover preflight report)")]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("checked before every failover"));

    public override async Task RunAsync(IOperationContext context)
    {
        var log = Log(context);
        if (Run.Parameters.Automatic)
        {
            log.Info(null, "AUTOMATIC failover started by the console (witness): " + (Run.Parameters.Reason ?? ""));
        }

        Run.StartProbe();
        var report = await FailoverPreflight.RunAsync(Run.Env, Run.Parameters, context.CancellationToken);
        Run.Preflight = report;
        foreach (var c in report.Checks)
        {
            context.Log(Name, c.Host, LogStream.Info, $"[{(c.Ok ? "ok  " : "FAIL")}] {c.Check}: {c.Detail}");
        }

        if (!report.CanFailOver)
        {
            throw new StepFailedException("Preflight failed: " + string.Join("; ", report.Checks.Where(c => !c.Ok).Select(c => (c.Host is null ? "" : c.Host + ": ") + c.Detail)));
        }

        if (report.Primary != Old.Name || report.Standby != New.Name)
        {
            throw new StepFailedException($"The roles changed since the failover was requested ({report.Primary} lost, {report.Standby} standby; requested {Old.Name} → {New.Name}).");
        }
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(StepVerification.Passed($"{Old.Name} is lost; {New.Name} will be promoted"));
}

/// <summary>
/// Step 2: fence the old primary. Reachable: its fence script (marked fenced so both keepalived checks fail there and
/// it never wins a VIP back, a standby signal so it can only restart read-only, immediate stop, VIPs removed).
/// Unreachable: the console cannot fence it; it fences itself (<see cref="SelfFence"/>), and this step waits until it
/// surely has, counted from the console's last sight of it.
/// </summary>
public sealed class FenceOldPrimaryStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "fence-old-primary";

    public override string Description => "Fence the old primary where it can be reached (marked fenced, standby on its next start, stopped, VIPs off); otherwise wait until it has fenced itself";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(Old, "pghaconsole-fence: marker " + new KeepalivedPaths().FenceFile + ", standby signal, pg_ctl stop -m immediate (SIGKILL if it does not stop), VIPs removed"),
        Note(Old, "unreachable: wait until its self-fence has surely happened (" + SelfFence.WorstCaseSeconds(Run.Env.Cluster.Vrrp).ToString(CultureInfo.InvariantCulture) + " s after it lost the standby and the console, plus a poll interval and a margin)"),
    ]));

    /// <summary>
    /// How long one attempt to reach the old primary may take: the preflight's bound, or a short one once the preflight
    /// of this run found its host unreachable (it is asked again in case it came back, but a lost host must not cost
    /// two more full timeouts before the self-fence wait; the chaos suite saw 10 s spent here).
    /// </summary>
    private TimeSpan? AttemptTimeout => Run.Preflight is { PrimaryHostReachable: false } ? TimeSpan.FromSeconds(1.5) : null;

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        if (Run.Preflight is { PrimaryHostReachable: false })
        {
            // Found unreachable a moment ago by this run's preflight: the console has not fenced it, and asking again
            // here would cost another attempt's timeout before the run tries (and, reached, fences) it anyway.
            return StepCheck.NotDone($"{Old.Name} was unreachable at the preflight");
        }

        var fenced = await FailoverPreflight.TryAsync(async () => await Run.Actions.IsFencedAsync(Old, ct) ? "yes" : "no", ct, AttemptTimeout);
        var state = fenced == "yes" ? await FailoverPreflight.TryAsync(() => Old.GetPgStateAsync(ct), ct, AttemptTimeout) : null;
        if (fenced == "yes" && state is { Running: false })
        {
            Run.FenceOutcome = $"{Old.Name} was already fenced (marker present, PostgreSQL stopped)";
            return StepCheck.Done(Run.FenceOutcome);
        }

        return StepCheck.NotDone(fenced is null ? $"{Old.Name} cannot be reached" : $"{Old.Name} is not fenced yet");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var reason = (Run.Parameters.Automatic ? "automatic failover to " : "failover to ") + New.Name;
        var script = KeepalivedScriptRenderer.RenderFenceScript(Run.Env.Cluster, Old.Node);
        var result = await FailoverPreflight.TryAsync(
            () => Old.RunAsync(RemoteCommand.BashScript(script, "console", reason), log, ct, TimeSpan.FromSeconds(20)), ct, AttemptTimeout);
        if (result is not null)
        {
            if (!result.Succeeded)
            {
                throw new StepFailedException($"The fence of {Old.Name} did not complete (exit {result.ExitCode.ToString(CultureInfo.InvariantCulture)}): {Run.Env.Masker.Apply(result.StdErr.Trim())}. Nothing was promoted.");
            }

            // keepalived there may still be MASTER of the write VIP for a second or two (its check fails twice before it
            // lets go) and puts back a VIP removed under it, announcing it: a client would then reach the old node right
            // after the promotion. Told to stop now (it leaves MASTER with a priority-0 advert); not waited for here —
            // its exit takes 2–3 s, which the failover benchmark saw inside the write outage —, the verify step waits
            // for it once writes are back. The rejoin starts it again.
            try
            {
                await Run.Actions.SignalKeepalivedStopAsync(Old, log, ct);
                Run.KeepalivedSignalled = true;
            }
            catch (StepFailedException ex)
            {
                log.Info(Old.Name, "keepalived could not be stopped (" + ex.Message + "); its checks fail on a fenced node, so it gives the VIPs up within seconds");
            }

            Run.FenceOutcome = $"{Old.Name} fenced by the console: PostgreSQL stopped, marked fenced (needs rejoin), standby on its next start, keepalived stopped, VIPs removed";
            log.Info(Old.Name, Run.FenceOutcome);
            return;
        }

        // Unreachable: the console cannot fence it. Its write check fences it (self-fence) once it has lost both the
        // standby and the console; promote only after that has surely happened.
        var lastSeen = Run.Parameters.PrimaryLastSeen ?? Run.Started;
        var wait = SelfFence.UnreachableFailoverDelay(0, TimeSpan.FromSeconds(Run.Parameters.PollSeconds), Run.Env.Cluster.Vrrp);
        var until = lastSeen + wait;
        var remaining = until - Run.Env.Time.GetUtcNow();
        log.Info(Old.Name, string.Create(CultureInfo.InvariantCulture,
            $"{Old.Name} cannot be reached: relying on its self-fence; last seen {(Run.Parameters.PrimaryLastSeen is { } s ? s.ToString("u", CultureInfo.InvariantCulture) : "(unknown: counting from the start of this failover)")}, promotion not before {until:u}"));
        if (remaining > TimeSpan.Zero)
        {
            log.Info(Old.Name, string.Create(CultureInfo.InvariantCulture, $"waiting {remaining.TotalSeconds:0.#} s for its self-fence"));
            await Task.Delay(remaining, Run.Env.Time, ct);
        }

        Run.FenceOutcome = $"{Old.Name} could not be reached: it fenced itself (no write accepted, no VIP) by {until.ToString("u", CultureInfo.InvariantCulture)} at the latest; it must be rejoined when it is back";
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(Run.FenceOutcome is { } outcome ? StepVerification.Passed(outcome) : StepVerification.Failed("the old primary's fence is unknown"));
}

/// <summary>Step 3: promote the standby; it starts asynchronous (no standby to wait for).</summary>
public sealed class FailoverPromoteStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "promote";

    public override string Description => "Promote the standby (pg_promote on 12+, pg_ctl promote on 11); synchronous_standby_names cleared there (it has no standby now)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, Run.Env.Cluster.Postgres.MajorVersion >= 12 ? "SELECT pg_promote(true, 60)" : "pg_ctl promote -w"),
        Note(New, "ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf() (when it was set)"),
    ]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var recovery = (await New.PsqlAsync("SELECT pg_is_in_recovery()", null, context.CancellationToken)).Trim();
        return recovery == "f" ? StepCheck.Done($"{New.Name} is already a primary") : StepCheck.NotDone($"{New.Name} is in recovery");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        await New.PromoteAsync(log, ct);

        Run.PromotedAt = Run.Env.Time.GetUtcNow();

        // Its postgresql.auto.conf may name a synchronous standby (copied, or from its own time as primary): with no
        // standby now, commits would wait forever. The witness sets it again when a standby streams.
        if (SynchronousReplication.IsSynchronous(await New.PsqlAsync("SHOW synchronous_standby_names", null, ct)))
        {
            await New.PsqlAsync("ALTER SYSTEM SET synchronous_standby_names = ''", log, ct, echoSql: true);
            await New.PsqlAsync("SELECT pg_reload_conf()", log, ct, echoSql: true);
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var row = (await New.PsqlAsync("SELECT pg_is_in_recovery(), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int", null, context.CancellationToken)).Split('\t');
        return row[0] == "f"
            ? StepVerification.Passed($"{New.Name} accepts writes on timeline {row[1]}")
            : StepVerification.Failed($"{New.Name} is still in recovery");
    }
}

/// <summary>Step 4: both VIPs on the new primary at once, announced (keepalived there takes them over on its own).</summary>
public sealed class FailoverMoveVipsStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "move-vips";

    public override string Description => "The VIPs follow the new primary (added and announced at once; keepalived then holds them there)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, $"ip addr add {Run.Env.Cluster.WriteVip} and {Run.Env.Cluster.ReadVip} on {Run.Env.Cluster.Vrrp.Interface}; arping -U (gratuitous ARP)"),
    ]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var (w, _) = await Run.Actions.VipsOnAsync(New, context.CancellationToken);
        return w ? StepCheck.Done($"the write VIP is on {New.Name}") : StepCheck.NotDone($"the write VIP is not on {New.Name} yet");
    }

    public override Task RunAsync(IOperationContext context) => Run.Actions.AddVipsAsync(New, Log(context), context.CancellationToken);

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var (w, r) = await Run.Actions.VipsOnAsync(New, context.CancellationToken);
        return w ? StepVerification.Passed($"write VIP on {New.Name}{(r ? ", read VIP too" : "")}") : StepVerification.Failed($"the write VIP is not on {New.Name}");
    }
}

/// <summary>Step 5: as a client sees it: a write through the write VIP commits on the new primary, a read through the read VIP answers.</summary>
public sealed class FailoverVerifyStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "verify";

    public override string Description => "As a client sees it: a write through the write VIP commits on the new primary; a read through the read VIP answers";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([
        Note(New, $"INSERT through {Run.Env.Cluster.WriteVip} (must land on {New.Name}); SELECT through {Run.Env.Cluster.ReadVip}"),
    ]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("verified at the end of every failover"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var cluster = Run.Env.Cluster;
        var write = await RetryAsync(cluster.WriteVip,
            "INSERT INTO pghaconsole.heartbeat (written_by) VALUES ('failover') RETURNING host(inet_server_addr())", ct);
        if (write != New.Node.Address)
        {
            throw new StepFailedException($"A write through {cluster.WriteVip} landed on {write}, not on {New.Name} ({New.Node.Address}).");
        }

        Run.WritesBackAt ??= Run.Env.Time.GetUtcNow();
        var read = await RetryAsync(cluster.ReadVip, "SELECT host(inet_server_addr())", ct);

        // After the writes are back (not inside the gap): the new timeline in the control file, for a later pg_rewind.
        await New.PsqlAsync("CHECKPOINT", Log(context), ct, echoSql: true);
        Log(context).Info(null, $"a write through {cluster.WriteVip} committed on {New.Name}; a read through {cluster.ReadVip} was answered by {NameOf(read)}");

        // The new primary on its own address, and the console's own probe agrees (the old one is lost: the rejoin checks it later).
        var node = await ClientCheck.VerifyAsync(Run.Env, [new(New, NodeRole.Primary)], Log(context), ct);
        if (Run.KeepalivedSignalled)
        {
            await OldKeepalivedGoneAsync(Log(context), ct);
        }
        Run.ClientView = $"a write through {cluster.WriteVip} committed on {New.Name}; a read through {cluster.ReadVip} was answered by {NameOf(read)}; {node}";
    }

    private string NameOf(string? address) => Run.Env.Cluster.Nodes.FirstOrDefault(n => n.Address == address)?.Name ?? address ?? "?";

    /// <summary>The fence told the old primary's keepalived to stop without waiting: it must be gone, and no VIP back there.</summary>
    private async Task OldKeepalivedGoneAsync(StepLog log, CancellationToken ct)
    {
        try
        {
            await Run.Actions.WaitKeepalivedGoneAsync(Old, TimeSpan.FromSeconds(10), log, ct);
            var (write, read) = await Run.Actions.VipsOnAsync(Old, ct);
            if (write || read)
            {
                log.Info(Old.Name, "a VIP was back on the fenced old primary after its keepalived stopped: removing it");
                await Run.Actions.RemoveVipsAsync(Old, log, ct);
            }
            else
            {
                log.Info(Old.Name, "its keepalived has exited and it holds no VIP");
            }
        }
        catch (StepFailedException ex)
        {
            // Lost again since the fence: marked fenced, its checks fail and it cannot win a VIP back.
            log.Info(Old.Name, "could not confirm that its keepalived exited (" + ex.Message + "); the node is marked fenced, so its checks fail and it cannot take a VIP");
        }
    }

    private async Task<string?> RetryAsync(string vip, string sql, CancellationToken ct)
    {
        var cs = NodeConnections.Monitor(Run.Env.Cluster, vip, Run.Env.Secrets.MonitorPassword, "pghaconsole-failover", timeout: 2, commandTimeout: 5).ConnectionString;
        var started = Run.Env.Time.GetTimestamp();
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection(cs);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand(sql, conn);
                return (string?)await cmd.ExecuteScalarAsync(ct);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && Run.Env.Time.GetElapsedTime(started) < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), Run.Env.Time, ct);
            }
        }
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(Run.ClientView is { } v ? StepVerification.Passed(v) : StepVerification.Failed("not verified"));
}

/// <summary>Step 6: the report: durations, when writes came back, what may have been lost, the old primary's state.</summary>
public sealed class FailoverReportStep(FailoverRun run) : FailoverStep(run)
{
    public override string Name => "report";

    public override string Description => "Report: durations, when writes came back through the write VIP, WAL possibly lost, the old primary's state (needs rejoin)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(StepPlan.Empty);

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("the report is written at the end of every run"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var journal = Run.Journal;
        var probe = Run.Probe is null ? null : await Run.Probe.StopAsync();
        var op = await journal.GetAsync(context.OperationId, ct);
        var steps = op?.Steps.Where(s => s.StartedAt is not null && s.FinishedAt is not null)
            .Select(s => new { name = s.Name, status = s.Status.ToString().ToLowerInvariant(), seconds = Math.Round((s.FinishedAt!.Value - s.StartedAt!.Value).TotalSeconds, 3) })
            .ToList();
        var now = Run.Env.Time.GetUtcNow();
        var lastSeen = Run.Parameters.PrimaryLastSeen;
        var p = Run.Preflight;
        var report = new
        {
            from = Old.Name,
            to = New.Name,
            automatic = Run.Parameters.Automatic,
            reason = Run.Parameters.Reason,
            totalSeconds = op?.StartedAt is { } start ? Math.Round((now - start).TotalSeconds, 3) : (double?)null,
            steps,
            oldPrimary = Run.FenceOutcome,
            primaryLastSeen = lastSeen,
            writesBackAt = Run.WritesBackAt,
            // The client's write outage: from the console's last sight of the primary to the first write verified on the new one.
            writeOutageSeconds = lastSeen is { } ls && Run.WritesBackAt is { } back ? Math.Round((back - ls).TotalSeconds, 3) : (double?)null,
            clientView = Run.ClientView,
            wal = p is null ? null : new
            {
                standbyReceived = p.StandbyReceived?.ToString(),
                standbyReplayed = p.StandbyReplayed?.ToString(),
                primaryLastSeenLsn = p.PrimaryLastLsn?.ToString(),
                missingBytes = p.MissingBytes,
                synchronousInForce = p.SynchronousInForce,
                loss = p.LossStatement,
            },
            writeProbe = probe is null ? null : new
            {
                attempts = probe.Attempts,
                acknowledged = probe.Acknowledged,
                failures = probe.Failures,
                longestGapSeconds = Math.Round(probe.LongestGapSeconds, 3),
                longestGapStart = probe.LongestGapStart,
                longestGapEnd = probe.LongestGapEnd,
            },
            next = $"{Old.Name} is fenced and needs a rejoin (topology page, or POST /api/clusters/{{id}}/nodes/{Old.Name}/rejoin) once it is back",
        };
        await journal.SetReportAsync(context.OperationId, JsonSerializer.Serialize(report, OperationJson.Options), ct);
        var log = Log(context);
        foreach (var s in steps ?? [])
        {
            log.Info(null, $"{s.name}: {PrimaryChangeRun.Seconds(s.seconds)}");
        }

        if (report.writeOutageSeconds is { } outage)
        {
            log.Info(null, $"writes through {Run.Env.Cluster.WriteVip}: back {PrimaryChangeRun.Seconds(outage)} after the console last saw {Old.Name} answer");
        }

        if (p is not null)
        {
            log.Info(null, "WAL: " + p.LossStatement);
        }

        log.Info(Old.Name, report.next);
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed("report written"));
}
