using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 5: replication settings on every node with a data directory, in the console's include file (version-aware:
/// wal_keep_segments up to 12, wal_keep_size from 13). After a reload, PostgreSQL itself says whether a restart is
/// needed (<c>pending_restart</c>); only then is the server restarted. Verified through <c>pg_file_settings</c>: every
/// line of the file applied, none overridden (by ALTER SYSTEM, say) and none in error.
/// </summary>
public sealed class PostgresConfStep(SetupRun run) : SetupStep(run)
{
    private PostgresConfFiles Files => new(Run.Env);

    public override string Name => "postgresql-conf";

    public override string Description => "postgresql.conf settings for streaming replication and pg_rewind; restart only where pending_restart says so";

    private sealed record ConfState(NodeHost Host, bool Running, string ConfigFile, string? CurrentConf, string? CurrentSettings, string DesiredSettings);

    private async Task<(List<ConfState> States, int PrimaryMax)> InspectAsync(CancellationToken ct)
    {
        var (primary, _) = await Run.RolesAsync(ct);
        var primaryMax = int.Parse((await primary.PsqlAsync("SHOW max_connections", null, ct)).Trim(), CultureInfo.InvariantCulture);
        var list = new List<ConfState>();
        foreach (var host in Run.Env.Hosts)
        {
            var state = await host.GetPgStateAsync(ct);
            if (!await Run.BelongsToPairAsync(host, state, ct))
            {
                continue;
            }

            var config = await Files.ConfigFileAsync(host, state.Running, ct);
            list.Add(new ConfState(host, state.Running, config, await host.ReadTextAsync(config, ct),
                await host.ReadTextAsync(PostgresConfFiles.SettingsPath(config), ct), Files.SettingsContent(host, primaryMax)));
        }

        return (list, primaryMax);
    }

    private static bool FilesMatch(ConfState s) =>
        s.CurrentSettings == s.DesiredSettings && s.CurrentConf is { } c && PostgresConfFiles.WithDirectives(c) == c;

    /// <summary>Settings of the console's file not in effect (not applied, in error, or waiting for a restart).</summary>
    private static async Task<List<string>> NotInEffectAsync(NodeHost host, CancellationToken ct)
    {
        const string sql = """
            SELECT f.name || ': ' || CASE WHEN f.error IS NOT NULL THEN 'error ' || f.error
                                          WHEN NOT f.applied THEN 'overridden by a later setting (ALTER SYSTEM?)'
                                          ELSE 'waiting for a restart' END
            FROM pg_file_settings f LEFT JOIN pg_settings s ON s.name = f.name
            WHERE f.sourcefile LIKE '%/pghaconsole.conf' AND (f.error IS NOT NULL OR NOT f.applied OR s.pending_restart)
            """;
        var text = await host.PsqlAsync(sql, null, ct);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private IEnumerable<string> Deferred(IEnumerable<ConfState> states) =>
        Run.Env.Hosts.Where(h => states.All(s => s.Host != h)).Select(h => $"{h.Name}: no clone of the primary yet, its settings are written right after the clone (step 6)");

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var (states, _) = await InspectAsync(context.CancellationToken);
        var actions = new List<PlannedAction>();
        foreach (var s in states)
        {
            if (s.CurrentConf is { } conf)
            {
                actions.Add(Run.FileChange(s.Host, s.ConfigFile, conf, PostgresConfFiles.WithDirectives(conf), "include lines for the console's files"));
            }

            actions.Add(Run.FileChange(s.Host, PostgresConfFiles.SettingsPath(s.ConfigFile), s.CurrentSettings, s.DesiredSettings));
            if (s.Running)
            {
                actions.Add(Run.Note(s.Host.Name, "SELECT pg_reload_conf(); then pg_ctl restart -m fast only if pg_settings.pending_restart says so"));
            }
        }

        actions.AddRange(Deferred(states).Select(d => Run.Note(d.Split(':')[0], d)));
        return new StepPlan(actions);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var (states, _) = await InspectAsync(ct);
        foreach (var d in Deferred(states))
        {
            Log(context).Info(null, d);
        }

        var problems = new List<string>();
        foreach (var s in states)
        {
            if (!FilesMatch(s))
            {
                problems.Add($"{s.Host.Name}: settings file differs");
            }
            else if (s.Running && await NotInEffectAsync(s.Host, ct) is { Count: > 0 } pending)
            {
                problems.Add($"{s.Host.Name}: {string.Join(", ", pending)}");
            }
        }

        return problems.Count == 0
            ? StepCheck.Done(string.Join("; ", states.Select(s => $"{s.Host.Name}: {PostgresConfFiles.SettingsPath(s.ConfigFile)} in place and in effect")))
            : StepCheck.NotDone(string.Join("; ", problems));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var (states, primaryMax) = await InspectAsync(ct);
        foreach (var s in states)
        {
            await Files.WriteSettingsAsync(s.Host, s.ConfigFile, primaryMax, log, ct);
            if (!s.Running)
            {
                continue;
            }

            await s.Host.PsqlAsync("SELECT pg_reload_conf()", log, ct, echoSql: true);
            // The reload is asynchronous: give the postmaster a moment before asking what still needs a restart.
            await Task.Delay(TimeSpan.FromMilliseconds(300), Run.Env.Time, ct);
            var pending = await NotInEffectAsync(s.Host, ct);
            if (pending.Count > 0)
            {
                log.Info(s.Host.Name, "restart needed for: " + string.Join(", ", pending));
                await s.Host.RestartPgAsync(log, ct);
            }
            else
            {
                log.Info(s.Host.Name, "reload was enough: no setting waits for a restart");
            }
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }
}
