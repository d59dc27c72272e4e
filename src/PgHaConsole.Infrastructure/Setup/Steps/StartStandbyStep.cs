using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 8: start the standby and prove replication: <c>pg_is_in_recovery()</c> true on the standby and false on the
/// primary, and the primary's <c>pg_stat_replication</c> showing the standby streaming.
/// </summary>
public sealed class StartStandbyStep(SetupRun run) : SetupStep(run)
{
    private static readonly TimeSpan StreamingWait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(6);

    public override string Name => "start-standby";

    public override string Description => "Start the standby; verify recovery states and streaming in pg_stat_replication";

    /// <summary>
    /// Whether the standby streams from the primary; <c>Transient</c> when both run in the right roles but the primary does
    /// not (yet) list the standby as streaming, which a WAL receiver reconnecting after a restart of the primary shows
    /// for up to <c>wal_retrieve_retry_interval</c> (5 s by default).
    /// </summary>
    private async Task<(bool Ok, string Detail, bool Transient)> StreamingAsync(CancellationToken ct)
    {
        var (primary, standby) = await Run.RolesAsync(ct);
        var s = await standby.GetPgStateAsync(ct);
        var p = await primary.GetPgStateAsync(ct);
        if (!s.IsStandby)
        {
            return (false, $"{standby.Name}: {s.Describe()}", false);
        }

        if (!p.IsPrimary)
        {
            return (false, $"{primary.Name}: {p.Describe()}", false);
        }

        var row = await primary.ReplicationRowAsync(standby, ct);
        return row is not null && row.StartsWith("streaming ", StringComparison.Ordinal)
            ? (true, $"pg_is_in_recovery(): {primary.Name} f, {standby.Name} t; pg_stat_replication on {primary.Name}: {standby.Name} {row}", false)
            : (false, $"{standby.Name} runs in recovery but {primary.Name}'s pg_stat_replication shows {(row is null ? "no row for it" : row)}", true);
    }

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var (primary, standby) = await Run.RolesAsync(context.CancellationToken);
        return new StepPlan([
            Run.Note(standby.Name, $"pg_ctl -D {Cluster.Postgres.DataDir} -l {standby.ServerLogFile} -w start (as {Cluster.Postgres.OsUser}), unless it runs already"),
            Run.Note(primary.Name, $"SELECT state, sync_state FROM pg_stat_replication WHERE application_name = '{standby.Name}' (wait up to 30 s for 'streaming')"),
        ]);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        // A standby in recovery that the primary lists in another state ("catchup", "startup") may be seconds from
        // streaming: give it a moment rather than restart a standby that is fine.
        var (ok, detail) = await WaitForStreamingAsync(SettleWait, onlyWhileTransient: true, context.CancellationToken);
        return ok ? StepCheck.Done(detail) : StepCheck.NotDone(detail);
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var (_, standby) = await Run.RolesAsync(ct);
        var state = await standby.GetPgStateAsync(ct);
        if (state.Running)
        {
            // Running but not streaming: a restart makes it read the recovery configuration written in step 7.
            await standby.RestartPgAsync(log, ct);
        }
        else
        {
            await standby.StartPgAsync(log, ct);
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var (ok, detail) = await WaitForStreamingAsync(StreamingWait, onlyWhileTransient: false, context.CancellationToken);
        return ok ? StepVerification.Passed(detail) : StepVerification.Failed(detail + " (after 30 s)");
    }

    /// <summary>Polls <see cref="StreamingAsync"/> until streaming, the wait is over, or (if asked) the state is not transient.</summary>
    private async Task<(bool Ok, string Detail)> WaitForStreamingAsync(TimeSpan wait, bool onlyWhileTransient, CancellationToken ct)
    {
        var started = Run.Env.Time.GetTimestamp();
        while (true)
        {
            var (ok, detail, transient) = await StreamingAsync(ct);
            if (ok || (onlyWhileTransient && !transient) || Run.Env.Time.GetElapsedTime(started) >= wait)
            {
                return (ok, detail);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), Run.Env.Time, ct);
        }
    }
}
