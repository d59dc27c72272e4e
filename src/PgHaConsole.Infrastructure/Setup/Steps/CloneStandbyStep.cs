using System.Globalization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 6: clone the standby with pg_basebackup, guarded (the runbook's unconditional <c>rm -rf</c>, defect 6). A data
/// directory that already holds a clone of this primary (same system identifier) is left alone. Anything else in it
/// (a running primary, another cluster's data, unrelated files) is removed only when the operator typed the host's
/// name after seeing what will be removed. The replication password reaches pg_basebackup through a .pgpass file
/// (mode 0600, beside the data directory), never a command line. Progress lines stream live.
/// </summary>
public sealed class CloneStandbyStep(SetupRun run) : SetupStep(run)
{
    private PostgresConfFiles Files => new(Run.Env);

    public const string StepName = "clone-standby";

    public override string Name => StepName;

    public override string Description => "Clone the standby from the primary with pg_basebackup (guarded), progress shown live";

    private sealed record CloneState(NodeHost Primary, NodeHost Standby, PgState StandbyState, ulong PrimarySystemId, string? Contents)
    {
        public bool IsClone => StandbyState.DataDir == DataDirState.PgData && StandbyState.SystemIdentifier == PrimarySystemId;

        public bool NeedsWipe => !IsClone && StandbyState.DataDir is DataDirState.PgData or DataDirState.Other;
    }

    private async Task<CloneState> InspectAsync(CancellationToken ct)
    {
        var (primary, standby) = await Run.RolesAsync(ct);
        var sysId = ulong.Parse((await primary.PsqlAsync("SELECT system_identifier FROM pg_control_system()", null, ct)).Trim(), CultureInfo.InvariantCulture);
        var state = await standby.GetPgStateAsync(ct);
        string? contents = null;
        if (state.DataDir is DataDirState.PgData or DataDirState.Other && state.SystemIdentifier != sysId)
        {
            contents = await DescribeContentsAsync(standby, state, ct);
        }

        return new CloneState(primary, standby, state, sysId, contents);
    }

    /// <summary>What a wipe would remove, in words an operator can judge.</summary>
    private async Task<string> DescribeContentsAsync(NodeHost standby, PgState state, CancellationToken ct)
    {
        const string script = """
            d=$1
            printf 'size %s; ' "$(du -sh -- "$d" 2>/dev/null | cut -f1)"
            printf 'entries: %s' "$(ls -A -- "$d" | head -n 12 | tr '\n' ' ')"
            """;
        var summary = (await standby.RunAsync(RemoteCommand.BashScript(script, Cluster.Postgres.DataDir), null, ct)).StdOut.Trim();
        var what = state switch
        {
            { Running: true, InRecovery: false } => $"a RUNNING PostgreSQL primary (system identifier {state.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "?"})",
            { Running: true } => $"a running PostgreSQL standby of another cluster (system identifier {state.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "?"})",
            { DataDir: DataDirState.PgData } => $"a stopped PostgreSQL data directory of another cluster (system identifier {state.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "?"})",
            _ => "files that are not a PostgreSQL data directory",
        };
        if (state.Running)
        {
            try
            {
                var dbs = (await standby.PsqlAsync("SELECT string_agg(datname, ', ' ORDER BY datname) FROM pg_database WHERE NOT datistemplate", null, ct)).Trim();
                what += $" with databases {dbs}";
            }
            catch (StepFailedException)
            {
                // Listing is best effort; the refusal stands either way.
            }
        }

        return $"{Cluster.Postgres.DataDir} on {standby.Name} holds {what} ({summary})";
    }

    private RemoteCommand BasebackupCommand(NodeHost primary) =>
        RemoteCommand.Exec(Run.Env.Host(Cluster.Peer(primary.Node)).Bin("pg_basebackup"),
                "-h", primary.Node.Address, "-p", Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture),
                "-U", Cluster.Postgres.ReplicationUser, "-D", Cluster.Postgres.DataDir,
                "-X", "stream", "-c", "fast", "--progress", "--verbose", "--no-password")
            .AsUser(Cluster.Postgres.OsUser)
            .InDirectory("/")
            .WithEnvironment("PGPASSFILE", Run.PassFile)
            .WithEnvironment("PGAPPNAME", "pghaconsole-clone");

    private static RemoteCommand WipeCommand(string dataDir) =>
        RemoteCommand.BashScript("set -eu; d=$1; [ -d \"$d\" ] || exit 0; find \"$d\" -mindepth 1 -delete", dataDir);

    private RemoteCommand PrepareDirCommand(NodeHost standby) =>
        RemoteCommand.BashScript("set -eu; install -d -m 0700 -o \"$2\" -- \"$1\"; chown -- \"$2:\" \"$1\"; chmod 0700 -- \"$1\"", Cluster.Postgres.DataDir, standby.Pg.OsUser);

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var s = await InspectAsync(context.CancellationToken);
        if (s.IsClone)
        {
            return new StepPlan([Run.Note(s.Standby.Name, $"already a clone of {s.Primary.Name} (system identifier {s.PrimarySystemId.ToString(CultureInfo.InvariantCulture)}): nothing to do")]);
        }

        var actions = new List<PlannedAction>();
        if (s.NeedsWipe)
        {
            actions.Add(Run.Note(s.Standby.Name, $"WILL REMOVE: {s.Contents}. Requires typing '{s.Standby.Name}' to confirm.") with { WipesData = true });
            if (s.StandbyState.Running)
            {
                actions.Add(Run.Command(s.Standby, RemoteCommand.Exec(s.Standby.Bin("pg_ctl"), "-D", Cluster.Postgres.DataDir, "-m", "fast", "stop").AsUser(Cluster.Postgres.OsUser)));
            }

            actions.Add(Run.Command(s.Standby, WipeCommand(Cluster.Postgres.DataDir)));
        }

        foreach (var host in Run.Env.Hosts)
        {
            actions.Add(Run.FileChange(host, Run.PassFile, null, RecoveryConfigRenderer.PassFileContent(Cluster, "PASSWORD"), "mode 0600, owner " + Cluster.Postgres.OsUser));
        }

        actions.Add(Run.Command(s.Standby, PrepareDirCommand(s.Standby)));
        actions.Add(Run.Command(s.Standby, BasebackupCommand(s.Primary), "progress parsed live"));
        actions.Add(Run.Note(s.Standby.Name, $"then: ownership and mode 0700 checked; {s.Standby.Name}'s own settings file written (listen_addresses differs per node)"));
        return new StepPlan(actions);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var s = await InspectAsync(context.CancellationToken);
        if (s.IsClone)
        {
            return StepCheck.Done($"{s.Standby.Name} already holds a clone of {s.Primary.Name} (system identifier {s.PrimarySystemId.ToString(CultureInfo.InvariantCulture)})");
        }

        return StepCheck.NotDone(s.NeedsWipe ? s.Contents! : $"{Cluster.Postgres.DataDir} on {s.Standby.Name}: {s.StandbyState.Describe()}");
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var s = await InspectAsync(ct);
        if (s.NeedsWipe)
        {
            if (!string.Equals(Run.Parameters.ConfirmWipeHost, s.Standby.Name, StringComparison.Ordinal))
            {
                throw new StepFailedException(
                    $"Refusing to remove data: {s.Contents}. Nothing was changed. If this data may go, run the wizard again and type '{s.Standby.Name}' to confirm.");
            }

            log.Info(s.Standby.Name, $"confirmed by the operator (typed '{s.Standby.Name}'): removing {s.Contents}");
            if (s.StandbyState.Running)
            {
                await s.Standby.StopPgAsync(log, ct, "fast", TimeSpan.FromSeconds(60));
            }

            await s.Standby.RunCheckedAsync("Emptying the data directory", WipeCommand(Cluster.Postgres.DataDir), log, ct, TimeSpan.FromMinutes(10));
        }

        var password = await Run.Env.EnsureSecretAsync(SecretKind.Replication, ct);
        var passContent = RecoveryConfigRenderer.PassFileContent(Cluster, password);
        foreach (var host in Run.Env.Hosts)
        {
            await host.RunCheckedAsync("Creating the pass file's directory", RemoteCommand.Exec("mkdir", "-p", "--", Run.PassFile[..Run.PassFile.LastIndexOf('/')]), null, ct);
            await host.WriteTextAsync(Run.PassFile, passContent, "0600", host.PgOwner, log, ct);
        }

        await s.Standby.RunCheckedAsync("Preparing the data directory", PrepareDirCommand(s.Standby), log, ct);
        await s.Standby.RunCheckedAsync("pg_basebackup", BasebackupCommand(s.Primary), log, ct, TimeSpan.FromHours(6));
        await s.Standby.RunCheckedAsync("Fixing ownership", RemoteCommand.BashScript(
            "set -eu; chown -R -- \"$2:\" \"$1\"; chmod 0700 -- \"$1\"", Cluster.Postgres.DataDir, Cluster.Postgres.OsUser), log, ct, TimeSpan.FromMinutes(10));

        // The clone carries the primary's settings file (its listen_addresses): write the standby's own.
        var primaryMax = int.Parse((await s.Primary.PsqlAsync("SHOW max_connections", null, ct)).Trim(), CultureInfo.InvariantCulture);
        var config = await Files.ConfigFileAsync(s.Standby, running: false, ct);
        await Files.WriteSettingsAsync(s.Standby, config, primaryMax, log, ct);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var s = await InspectAsync(ct);
        if (!s.IsClone)
        {
            return StepVerification.Failed($"{s.Standby.Name}: {s.StandbyState.Describe()}; system identifier {s.StandbyState.SystemIdentifier?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}, expected {s.PrimarySystemId.ToString(CultureInfo.InvariantCulture)}");
        }

        var stat = (await s.Standby.RunCheckedAsync("stat", RemoteCommand.Exec("stat", "-c", "%a %U", "--", Cluster.Postgres.DataDir), null, ct)).StdOut.Trim();
        var expected = "700 " + Cluster.Postgres.OsUser;
        return stat == expected
            ? StepVerification.Passed($"{s.Standby.Name} holds a clone of {s.Primary.Name} (system identifier {s.PrimarySystemId.ToString(CultureInfo.InvariantCulture)}), mode and owner {stat}")
            : StepVerification.Failed($"{Cluster.Postgres.DataDir} on {s.Standby.Name} is '{stat}', expected '{expected}'");
    }
}
