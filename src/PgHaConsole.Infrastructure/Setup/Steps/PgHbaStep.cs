using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 4: the pair's lines in pg_hba.conf on every node that has a data directory (a standby still to be cloned
/// gets the primary's file with the clone). Lines are added in the console's marked block without touching the rest
/// (comments and order kept); the previous file is kept as a timestamped copy; then PostgreSQL reloads and
/// <c>pg_hba_file_rules</c> must show no error.
/// </summary>
public sealed class PgHbaStep(SetupRun run) : SetupStep(run)
{
    public override string Name => "pg-hba";

    public override string Description => "pg_hba.conf on both hosts: replication, monitoring and the application's lines for the right addresses, then reload";

    private sealed record HbaState(NodeHost Host, string Path, string Current, HbaEditResult Edit, bool Running);

    private async Task<IReadOnlyList<HbaLine>> DesiredAsync(CancellationToken ct)
    {
        var lines = PgHbaEditor.DesiredLines(Cluster, Run.ClientCidrs).ToList();

        // pg_rewind's source connection: the replication role to database postgres, from each node.
        lines.AddRange(Cluster.Nodes.Select(n => new HbaLine("host", RecoveryConfigRenderer.RewindDatabase, Cluster.Postgres.ReplicationUser, n.Address + "/32", "scram-sha-256")));

        // The console's own probes (topology, write probe) come from the address the hosts see its SSH connection from.
        var consoleAddresses = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var host in Run.Env.Hosts)
        {
            if (await host.ConsoleAddressAsync(ct) is { } a && Cluster.Nodes.All(n => n.Address != a))
            {
                consoleAddresses.Add(a);
            }
        }

        lines.AddRange(consoleAddresses.Select(a => new HbaLine("host", "all", Cluster.Postgres.MonitorUser, a + "/32", "scram-sha-256")));
        return lines;
    }

    private async Task<List<HbaState>> InspectAsync(CancellationToken ct)
    {
        var desired = await DesiredAsync(ct);
        var list = new List<HbaState>();
        foreach (var host in Run.Env.Hosts)
        {
            var state = await host.GetPgStateAsync(ct);
            if (!await Run.BelongsToPairAsync(host, state, ct))
            {
                continue;
            }

            var path = state.Running ? (await host.PsqlAsync("SHOW hba_file", null, ct)).Trim() : Run.DataPath("pg_hba.conf");
            var current = await host.ReadTextAsync(path, ct) ?? "";
            list.Add(new HbaState(host, path, current, PgHbaEditor.Apply(current, desired), state.Running));
        }

        return list;
    }

    private IEnumerable<string> Deferred(IEnumerable<HbaState> states) =>
        Run.Env.Hosts.Where(h => states.All(s => s.Host != h)).Select(h => $"{h.Name}: no clone of the primary yet, its pg_hba.conf comes with the clone (step 6)");

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var states = await InspectAsync(context.CancellationToken);
        var actions = new List<PlannedAction>();
        foreach (var s in states)
        {
            actions.Add(Run.FileChange(s.Host, s.Path, s.Current, s.Edit.Text, s.Edit.Changed ? "previous file kept as " + s.Path + ".pghaconsole-<time>" : null));
            if (s.Edit.Changed && s.Running)
            {
                actions.Add(Run.Note(s.Host.Name, "SELECT pg_reload_conf()"));
            }

            actions.AddRange(s.Edit.Shadowed.Select(l => Run.Note(s.Host.Name, $"warning: an earlier line for {l.Type} {l.Database} {l.User} {l.Address} uses another method and takes precedence")));
        }

        actions.AddRange(Deferred(states).Select(d => Run.Note(d.Split(':')[0], d)));
        return new StepPlan(actions);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var states = await InspectAsync(context.CancellationToken);
        foreach (var d in Deferred(states))
        {
            Log(context).Info(null, d);
        }

        var todo = states.Where(s => s.Edit.Changed).ToList();
        return todo.Count == 0
            ? StepCheck.Done(string.Join("; ", states.Select(s => $"{s.Host.Name}: every line present in {s.Path}")))
            : StepCheck.NotDone(string.Join("; ", todo.Select(s => $"{s.Host.Name}: {s.Edit.Added.Count.ToString(CultureInfo.InvariantCulture)} line(s) to add")));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        foreach (var s in await InspectAsync(ct))
        {
            foreach (var line in s.Edit.Shadowed)
            {
                log.Info(s.Host.Name, $"warning: an earlier line for {line.Type} {line.Database} {line.User} {line.Address} uses another method and takes precedence");
            }

            await PgHbaFiles.WriteAsync(s.Host, s.Path, s.Edit, s.Running, log, ct);
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var states = await InspectAsync(ct);
        var problems = states.Where(s => s.Edit.Changed).Select(s => $"{s.Host.Name}: lines still missing").ToList();
        foreach (var s in states.Where(s => s.Running))
        {
            // pg_hba_file_rules reads the file as it is now: an error there would lock clients out at the next reload.
            var errors = await s.Host.PsqlAsync("SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL", null, ct);
            if (errors.Length > 0)
            {
                problems.Add($"{s.Host.Name}: pg_hba.conf has errors: {errors.Replace('\n', ';')}");
            }
        }

        return problems.Count == 0
            ? StepVerification.Passed(string.Join("; ", states.Select(s => $"{s.Host.Name}: lines present, file parses without error")))
            : StepVerification.Failed(string.Join("; ", problems));
    }
}
