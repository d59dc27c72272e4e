using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Switchover;

/// <summary>
/// The other way out of an interrupted (or failed) switchover: back to where it started. Only while nothing was
/// promoted: the old primary is started again as the primary and its keepalived brought back (the VIPs return to it).
/// Once the standby has been promoted there is no going back without a second switchover: resume instead.
/// </summary>
public sealed class SwitchoverRollback(IOperationJournal journal, IClusterLock clusterLock, ClusterEnvironmentFactory environments)
{
    public async Task<string> RollBackAsync(Guid operationId, string actor, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct) ?? throw new OperationRefusedException("No such operation.", 404);
        if (op.Kind != SwitchoverOperation.Kind)
        {
            throw new OperationRefusedException($"Only a switchover can be rolled back; this is a {op.Kind} (resume it instead).", 409);
        }

        if (op.Status is not (OperationStatus.Interrupted or OperationStatus.Failed))
        {
            throw new OperationRefusedException($"The operation is {op.Status.ToString().ToLowerInvariant()}: only an interrupted or failed switchover can be rolled back.", 409);
        }

        var env = await environments.CreateAsync(op.ClusterId, ct) ?? throw new OperationRefusedException("The cluster was removed.", 404);
        var parameters = System.Text.Json.JsonSerializer.Deserialize<SwitchoverParameters>(op.ParametersJson ?? "{}", OperationJson.Options) ?? new();
        var run = new SwitchoverRun(env, parameters, journal);
        await clusterLock.AcquireAsync(op.ClusterId, op.Id, ct);

        var newState = await run.NewPrimary.GetPgStateAsync(ct);
        if (newState.IsPrimary)
        {
            throw new OperationRefusedException(
                $"{run.NewPrimary.Name} has already been promoted: rolling back would need a second switchover. Resume this one to finish it (the old primary then rejoins), or switch over again afterwards.", 409);
        }

        var oldState = await run.OldPrimary.GetPgStateAsync(ct);
        var context = new JournalLog(journal, env, operationId);
        if (!oldState.Running)
        {
            await run.OldPrimary.StartPgAsync(context.Steps, ct);
        }

        await run.Actions.StartKeepalivedAsync(run.OldPrimary, context.Steps, ct);
        var check = await run.OldPrimary.GetPgStateAsync(ct);
        if (!check.IsPrimary)
        {
            throw new StepFailedException($"{run.OldPrimary.Name} did not come back as the primary ({check.Describe()}).");
        }

        var message = $"Rolled back by {actor}: {run.OldPrimary.Name} runs as the primary again, {run.NewPrimary.Name} was never promoted.";
        await context.FlushAsync(message, ct);
        await journal.SetOperationStatusAsync(op.Id, OperationStatus.Cancelled, message, ct);
        await clusterLock.ReleaseAsync(op.ClusterId, op.Id, ct);
        return message;
    }

    /// <summary>
    /// Lines written during a rollback go to the operation's own journal, after its last line: masked with the
    /// cluster's secrets and stamped with the environment's clock, as the runner does for every other line.
    /// </summary>
    private sealed class JournalLog(IOperationJournal journal, ClusterEnvironment env, Guid operationId) : IOperationContext
    {
        private readonly List<(string? Host, LogStream Stream, string Line)> _lines = [];

        public StepLog Steps => new(this, "rollback");

        public Guid OperationId => operationId;

        public Core.Model.ClusterSpec Cluster => env.Cluster;

        public CancellationToken CancellationToken => CancellationToken.None;

        public Core.Shell.SecretMasker Masker => env.Masker;

        public void Log(string stepName, string? host, LogStream stream, string line)
        {
            lock (_lines)
            {
                _lines.Add((host is null ? null : Masker.Apply(host), stream, Masker.Apply(line)));
            }
        }

        public async Task FlushAsync(string final, CancellationToken ct)
        {
            var seq = await journal.GetLastLogSeqAsync(operationId, ct);
            var at = Store.StoreTypeHandlers.ToStoreTime(env.Time.GetUtcNow());
            var lines = _lines.Append((null, LogStream.Info, Masker.Apply(final)))
                .SelectMany(l => l.Item3.Split('\n').Select(text => (l.Item1, l.Item2, Line: text.TrimEnd('\r'))))
                .Select(l => new OperationLogLine(++seq, at, null, l.Item1, l.Item2, l.Line)).ToList();
            await journal.AppendLogAsync(operationId, lines, ct);
        }
    }
}
