using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 7: version-aware recovery configuration. Standby: <c>recovery.conf</c> (≤ 11) or <c>standby.signal</c> plus
/// <c>primary_conninfo</c> in the console's recovery include file (≥ 12). Primary: the pre-staged counterpart pointing
/// at its peer (the runbook's <c>recovery.done</c> on ≤ 11; the inert include file on ≥ 12) so a later demotion only
/// adds the signal file. The password stays in the .pgpass file named by <c>passfile=</c>.
/// </summary>
public sealed class RecoveryConfigStep(SetupRun run) : SetupStep(run)
{
    private PostgresConfFiles Files => new(Run.Env);

    public override string Name => "recovery-config";

    public override string Description => "Recovery configuration: standby.signal + primary_conninfo (12+) or recovery.conf (11) on the standby, the pre-staged counterpart on the primary";

    /// <summary>One file the step owns: its desired content (null = must not exist) and current content.</summary>
    private sealed record OwnedFile(NodeHost Host, string Path, string? Desired, string? Current, string Mode)
    {
        public bool Ok => Desired == Current;
    }

    private async Task<List<OwnedFile>> InspectAsync(CancellationToken ct)
    {
        var (primary, standby) = await Run.RolesAsync(ct);
        var files = new List<OwnedFile>();
        var password = Run.Env.Secrets.ReplicationPassword;
        foreach (var (host, config) in new[]
                 {
                     (standby, RecoveryConfigRenderer.ForStandby(Cluster, standby.Node, Run.PassFile)),
                     (primary, RecoveryConfigRenderer.PreStagedForPrimary(Cluster, primary.Node, Run.PassFile)),
                 })
        {
            var state = await host.GetPgStateAsync(ct);
            var configFile = await Files.ConfigFileAsync(host, state.Running, ct);
            foreach (var f in config.Files)
            {
                var path = Run.DataPath(f.Path);
                files.Add(new OwnedFile(host, path, f.Content, await host.ReadTextAsync(path, ct), f.Mode));
            }

            foreach (var r in config.FilesToRemove)
            {
                var path = Run.DataPath(r);
                files.Add(new OwnedFile(host, path, null, await host.ReadTextAsync(path, ct), "0600"));
            }

            var recoveryPath = PostgresConfFiles.RecoveryPath(configFile);
            var recoveryContent = config.Settings.Count > 0 ? PostgresConfFiles.RecoveryContent(config, host.Name) : null;
            files.Add(new OwnedFile(host, recoveryPath, recoveryContent, await host.ReadTextAsync(recoveryPath, ct), "0600"));

            if (password is not null)
            {
                files.Add(new OwnedFile(host, Run.PassFile, RecoveryConfigRenderer.PassFileContent(Cluster, password), await host.ReadTextAsync(Run.PassFile, ct), "0600"));
            }
        }

        return files;
    }

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var files = await InspectAsync(context.CancellationToken);
        return new StepPlan([.. files.Select(f => f.Desired is null
            ? Run.Note(f.Host.Name, f.Current is null ? $"{f.Path}: absent, as required" : $"remove {f.Path}")
            : Run.FileChange(f.Host, f.Path, f.Current, f.Desired, "mode " + f.Mode))]);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var files = await InspectAsync(context.CancellationToken);
        var (primary, standby) = await Run.RolesAsync(context.CancellationToken);
        var wrong = files.Where(f => !f.Ok).ToList();
        return wrong.Count == 0
            ? StepCheck.Done($"{standby.Name} configured to follow {primary.Name}; {primary.Name} pre-staged to follow {standby.Name} ({files.Count} files checked)")
            : StepCheck.NotDone(string.Join("; ", wrong.Select(f => $"{f.Host.Name}: {f.Path} {(f.Desired is null ? "must not exist" : f.Current is null ? "missing" : "differs")}")));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        await Run.Env.EnsureSecretAsync(SecretKind.Replication, ct);
        foreach (var f in (await InspectAsync(ct)).Where(f => !f.Ok))
        {
            if (f.Desired is null)
            {
                await f.Host.RemoveFilesAsync([f.Path], log, ct);
            }
            else
            {
                await f.Host.WriteTextAsync(f.Path, f.Desired, f.Mode, f.Host.PgOwner, log, ct);
            }
        }

        var (primary, _) = await Run.RolesAsync(ct);
        await primary.PsqlAsync("SELECT pg_reload_conf()", log, ct, echoSql: true);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }
}
