using System.Globalization;
using System.Text;
using Npgsql;
using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Postgres;
using PgHaConsole.Infrastructure.Setup.Steps;

namespace PgHaConsole.Infrastructure.Adopt;

/// <summary>Base of the adoption's steps: verified by checking again unless a step says otherwise.</summary>
public abstract class AdoptStep(AdoptRun run) : OperationStep<AdoptRun>(run)
{
    protected NodeHost Primary => Run.Primary ?? throw new StepFailedException("The pair was not discovered (step 1).");

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }

    /// <summary>Stores the cluster with this console's monitoring role and the given secrets (encrypted), and remembers them.</summary>
    protected async Task StoreAsync(ClusterSecrets secrets, CancellationToken ct)
    {
        var spec = Run.Cluster with { Postgres = Run.Cluster.Postgres with { MonitorUser = Run.MonitorUser } };
        await Run.Clusters.UpdateAsync(spec, secrets, null, null, ct);
        Run.Secrets = secrets;
    }
}

/// <summary>Step 1 (read-only): who is primary, which secrets the hosts hold (checked against the server), keepalived, the VIPs.</summary>
public sealed class AdoptDiscoverStep(AdoptRun run) : AdoptStep(run)
{
    public override string Name => "discover";

    public override string Description => "Read-only: roles and timelines, the replication password the hosts already use (primary_conninfo, .pgpass), keepalived's auth_pass, the VIP holders";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan(Run.Env.Hosts.Select(h => Note(h, "read-only: PostgreSQL state, primary_conninfo, .pgpass files, keepalived.conf, addresses")).ToList()));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("discovered on every run (read-only)"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var pg = Run.Cluster.Postgres;
        var states = new List<(NodeHost Host, PgState State)>();
        foreach (var host in Run.Env.Hosts)
        {
            var state = await host.GetPgStateAsync(ct);
            states.Add((host, state));
            log.Info(host.Name, state.Describe());
        }

        var primaries = states.Where(s => s.State.IsPrimary).ToList();
        if (primaries.Count != 1)
        {
            throw new StepFailedException(primaries.Count == 0
                ? "No node runs as a primary: adopt a running pair (or run the setup wizard to build one)."
                : "Both nodes run as primaries (split brain): resolve it first (rejoin with the typed name), then adopt.");
        }

        Run.Primary = primaries[0].Host;
        Run.Standby = states.FirstOrDefault(s => s.Host != Run.Primary && s.State.IsStandby).Host;
        var primary = Run.Primary;
        log.Info(primary.Name, "primary: " + await primary.PsqlAsync(
            "SELECT 'timeline ' || ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int || ', current LSN ' || pg_current_wal_lsn()", null, ct));
        if (Run.Standby is { } standby)
        {
            var row = await primary.ReplicationRowAsync(standby, ct);
            log.Info(standby.Name, row is null ? "standby, NOT in the primary's pg_stat_replication" : "standby: " + row);
        }
        else
        {
            log.Info(null, "no running standby: the pair is adopted as it is; a rejoin or rebuild brings the standby back");
        }

        // The replication password: wherever the hosts keep it, accepted only when it matches the role's secret.
        var secret = (await primary.PsqlAsync($"SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {GucValue.QuoteForSql(pg.ReplicationUser)}", null, ct)).Trim();
        if (secret.Length == 0)
        {
            log.Info(primary.Name, $"role {pg.ReplicationUser} does not exist or has no password: nothing to adopt for replication");
        }
        else
        {
            foreach (var (candidate, where) in await ReplicationCandidatesAsync(states.Select(s => s.Host), ct))
            {
                Run.Env.Masker.Add(candidate);
                if (ScramSecret.Matches(secret, candidate))
                {
                    Run.Replication = (candidate, where);
                    break;
                }

                log.Info(null, $"a password in {where} does not match role {pg.ReplicationUser}'s secret: ignored");
            }

            log.Info(null, Run.Replication is { } r
                ? $"replication password of {pg.ReplicationUser}: found in {r.Where}, matches the role's secret; it is kept as it is"
                : $"replication password of {pg.ReplicationUser}: not found on the hosts (or not a SCRAM secret): the console will hold none; nothing is changed");
        }

        // keepalived's VRRP password, only when every configured node agrees.
        var passes = new List<string>();
        foreach (var host in Run.Env.Hosts)
        {
            var conf = await host.ReadTextAsync(new KeepalivedPaths().ConfigFile, ct);
            var found = HostSecretsReader.KeepalivedAuthPasses(conf);
            Run.Env.Masker.AddRange(found);
            log.Info(host.Name, conf is null ? "keepalived: not configured" : $"keepalived: {found.Count.ToString(CultureInfo.InvariantCulture)} auth_pass value(s)");
            passes.AddRange(found);
        }

        Run.VrrpPassword = passes.Distinct(StringComparer.Ordinal).Count() == 1 ? passes[0] : null;
        if (passes.Distinct(StringComparer.Ordinal).Count() > 1)
        {
            log.Info(null, "keepalived: the nodes use different auth_pass values: none is adopted");
        }

        var actions = new PairActions(Run.Env);
        foreach (var host in Run.Env.Hosts)
        {
            var (w, r) = await actions.VipsOnAsync(host, ct);
            log.Info(host.Name, $"write VIP {(w ? "held" : "not held")}, read VIP {(r ? "held" : "not held")}");
        }

        log.Info(null, $"this console will watch the pair as role {Run.MonitorUser}; it adds only what it lacks (that role if missing, a pg_hba line for its address) and changes nothing else: no ALTER ROLE, no .pgpass, no keepalived.conf");
    }

    private async Task<List<(string Password, string Where)>> ReplicationCandidatesAsync(IEnumerable<NodeHost> hosts, CancellationToken ct)
    {
        var pg = Run.Cluster.Postgres;
        var primary = Primary;
        var list = new List<(string, string)>();
        foreach (var host in hosts.OrderBy(h => h == primary ? 1 : 0))
        {
            string? conninfo = null;
            if (host != primary && (await host.GetPgStateAsync(ct)).IsStandby && pg.MajorVersion >= 12)
            {
                conninfo = await host.PsqlAsync("SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'", null, ct);
            }
            else if (pg.MajorVersion < 12 && await host.ReadTextAsync(pg.DataDir.TrimEnd('/') + "/recovery.conf", ct) is { } recovery)
            {
                conninfo = RecoveryConfValue(recovery, "primary_conninfo");
            }

            var parsed = HostSecretsReader.ParseConninfo(conninfo);
            if (parsed?.GetValueOrDefault("password") is { Length: > 0 } inline)
            {
                list.Add((inline, $"{host.Name}'s primary_conninfo"));
            }

            var files = new List<string>();
            if (parsed?.GetValueOrDefault("passfile") is { Length: > 0 } passfile)
            {
                files.Add(passfile);
            }

            files.Add(RecoveryConfigRenderer.DefaultPassFile(pg));
            var home = (await host.RunAsync(RemoteCommand.Exec("getent", "passwd", pg.OsUser), null, ct)).StdOut.Split(':');
            if (home.Length > 5 && home[5].StartsWith('/'))
            {
                files.Add(home[5].TrimEnd('/') + "/.pgpass");
            }

            foreach (var file in files.Distinct(StringComparer.Ordinal))
            {
                var text = await host.ReadTextAsync(file, ct);
                var password = HostSecretsReader.PgPassPassword(text, primary.Node.Address, pg.Port, "replication", pg.ReplicationUser)
                    ?? HostSecretsReader.PgPassPassword(text, primary.Node.Address, pg.Port, "postgres", pg.ReplicationUser);
                if (password is { Length: > 0 })
                {
                    list.Add((password, $"{host.Name}:{file}"));
                }
            }
        }

        return list;
    }

    /// <summary>A setting of a PostgreSQL 11 <c>recovery.conf</c> (<c>name = 'value'</c>, quotes doubled).</summary>
    private static string? RecoveryConfValue(string text, string name)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var value = eq < 0 ? "" : line[(eq + 1)..].Trim();
            return value.Length >= 2 && value[0] == '\'' && value[^1] == '\'' ? value[1..^1].Replace("''", "'", StringComparison.Ordinal) : value;
        }

        return null;
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(StepVerification.Passed($"{Primary.Name} is the primary{(Run.Standby is { } s ? ", " + s.Name + " its standby" : "")}"));
}

/// <summary>Step 2: the secrets found are stored (encrypted) as the console's; nothing on the hosts changes.</summary>
public sealed class AdoptSecretsStep(AdoptRun run) : AdoptStep(run)
{
    public override string Name => "store-secrets";

    public override string Description => "Keep the secrets the pair already uses (encrypted in the console's store); nothing on the hosts changes";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([new PlannedAction { Host = "console", Note = "the console's store only: the replication password and keepalived's auth_pass found in step 1" }]));

    private ClusterSecrets Wanted => Run.Secrets with
    {
        ReplicationPassword = Run.Replication?.Password ?? Run.Secrets.ReplicationPassword,
        VrrpPassword = Run.VrrpPassword ?? Run.Secrets.VrrpPassword,
        // A monitoring role of this console's own starts without a password: step 3 creates both.
        MonitorPassword = Run.MonitorUser == Run.Cluster.Postgres.MonitorUser ? Run.Secrets.MonitorPassword : null,
    };

    public override Task<StepCheck> CheckAsync(IOperationContext context) =>
        Task.FromResult(Wanted == Run.Secrets && Run.MonitorUser == Run.Cluster.Postgres.MonitorUser
            ? StepCheck.Done("the console holds the secrets the pair uses")
            : StepCheck.NotDone("the console's store does not hold the pair's secrets yet"));

    public override async Task RunAsync(IOperationContext context)
    {
        var wanted = Wanted;
        await StoreAsync(wanted, context.CancellationToken);
        Log(context).Info(null, $"stored: replication password {(wanted.ReplicationPassword is null ? "none" : "kept")}, VRRP auth_pass {(wanted.VrrpPassword is null ? "none" : "kept")}, monitoring role {Run.MonitorUser}");
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(StepVerification.Passed("stored"));
}

/// <summary>Step 3: the console's monitoring role: used when the console holds its password, created when missing, never altered.</summary>
public sealed class AdoptMonitorRoleStep(AdoptRun run) : AdoptStep(run)
{
    public override string Name => "monitoring-role";

    public override string Description => "The console's monitoring role (pg_monitor): used as it is when its password is known, created when missing, never altered";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([new PlannedAction { Host = "console", Note = $"on the primary: CREATE ROLE {Run.MonitorUser} only if it does not exist; grants for the write-probe table" }]));

    private async Task<(bool Exists, string? Secret, bool PgMonitor)> ReadAsync(CancellationToken ct)
    {
        var row = (await Primary.PsqlAsync(
            $"SELECT coalesce(a.rolpassword, ''), pg_has_role(a.oid, 'pg_monitor', 'MEMBER') FROM pg_authid a WHERE a.rolname = {GucValue.QuoteForSql(Run.MonitorUser)}", null, ct)).Trim();
        if (row.Length == 0)
        {
            return (false, null, false);
        }

        var f = row.Split('\t');
        return (true, f[0].Length == 0 ? null : f[0], f.Length > 1 && f[1] == "t");
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var (exists, secret, pgMonitor) = await ReadAsync(context.CancellationToken);
        var held = Run.Secrets.MonitorPassword;
        return exists && pgMonitor && held is not null && ScramSecret.Matches(secret, held)
            ? StepCheck.Done($"role {Run.MonitorUser} exists (pg_monitor) with the password the console holds")
            : StepCheck.NotDone(exists ? $"role {Run.MonitorUser} exists; its password is not one the console holds yet" : $"role {Run.MonitorUser} does not exist");
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var (exists, secret, _) = await ReadAsync(ct);
        if (exists)
        {
            var given = Run.Parameters.MonitorPassword;
            if (given is null || !ScramSecret.Matches(secret, given))
            {
                throw new StepFailedException(given is null
                    ? $"Role {Run.MonitorUser} exists with a password this console does not hold. Adopt again with its password (monitorPassword), or with a monitoring role of this console's own (monitorUser) that the adoption creates; the existing role is never altered."
                    : $"The monitorPassword given does not match role {Run.MonitorUser}'s secret; nothing was changed.");
            }

            Run.Env.Masker.Add(given);
            await StoreAsync(Run.Secrets with { MonitorPassword = given }, ct);
            log.Info(null, $"role {Run.MonitorUser} exists; the password given matches it and is stored");
        }
        else
        {
            // Stored before the role exists, so a failed run never leaves a role whose password nobody knows.
            var password = ClusterEnvironment.GeneratePassword(32);
            Run.Env.Masker.Add(password);
            await StoreAsync(Run.Secrets with { MonitorPassword = password }, ct);
            log.Info(Primary.Name, $"creating role {Run.MonitorUser} (LOGIN, pg_monitor; password as a SCRAM secret)");
            await Primary.PsqlAsync(CreateSql(Run.MonitorUser, ScramSecret.Create(password)), log, ct);
        }

        // Additive grants only: pg_monitor, and the write probe's table (created when no console made it yet).
        await Primary.PsqlAsync(GrantSql(Run.MonitorUser), log, ct, echoSql: true);
    }

    private static string CreateSql(string role, string scram) =>
        $"CREATE ROLE {GucValue.QuoteIdentifier(role)} WITH LOGIN NOREPLICATION PASSWORD {GucValue.QuoteForSql(scram)};";

    private static string GrantSql(string role)
    {
        var r = GucValue.QuoteIdentifier(role);
        var sb = new StringBuilder();
        sb.Append("GRANT pg_monitor TO ").Append(r).Append(";\n");
        sb.Append("DO $do$ BEGIN\n");
        sb.Append("  IF to_regnamespace('").Append(RolesStep.ProbeSchema).Append("') IS NULL THEN\n");
        sb.Append("    EXECUTE format('CREATE SCHEMA %I AUTHORIZATION %I', '").Append(RolesStep.ProbeSchema).Append("', ").Append(GucValue.QuoteForSql(role)).Append(");\n");
        sb.Append("  END IF;\n");
        sb.Append("END $do$;\n");
        sb.Append("CREATE TABLE IF NOT EXISTS ").Append(RolesStep.ProbeTable)
            .Append(" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, written_by text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp());\n");
        sb.Append("GRANT USAGE ON SCHEMA ").Append(RolesStep.ProbeSchema).Append(" TO ").Append(r).Append(";\n");
        sb.Append("GRANT SELECT, INSERT ON ").Append(RolesStep.ProbeTable).Append(" TO ").Append(r).Append(";\n");
        return sb.ToString();
    }
}

/// <summary>Step 4: a pg_hba line for the console's monitoring role from the console's address, added to the marked block.</summary>
public sealed class AdoptPgHbaStep(AdoptRun run) : AdoptStep(run)
{
    public override string Name => "pg-hba";

    public override string Description => "pg_hba.conf on every running node: the console's monitoring role from the console's address (added; nothing removed), then reload";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan(Run.Env.Hosts.Select(h => Note(h, $"+ host all {Run.MonitorUser} <console address and each node>/32 scram-sha-256 (if missing), then pg_reload_conf()")).ToList()));

    private async Task<List<(NodeHost Host, string Path, string Current, HbaEditResult Edit)>> InspectAsync(CancellationToken ct)
    {
        var list = new List<(NodeHost, string, string, HbaEditResult)>();
        foreach (var host in Run.Env.Hosts)
        {
            if (!(await host.GetPgStateAsync(ct)).Running)
            {
                continue;
            }

            // From the console's address (direct connections to a node), and from each node: behind HAProxy the
            // server sees the balancer's node address as the client's.
            var address = await host.ConsoleAddressAsync(ct);
            var sources = Run.Cluster.Nodes.Select(n => n.Address).ToList();
            if (address is not null && !sources.Contains(address))
            {
                sources.Add(address);
            }

            var desired = sources.Select(a => new HbaLine("host", "all", Run.MonitorUser, a + "/32", "scram-sha-256")).ToList();
            var path = (await host.PsqlAsync("SHOW hba_file", null, ct)).Trim();
            var current = await host.ReadTextAsync(path, ct) ?? "";
            list.Add((host, path, current, PgHbaEditor.Apply(current, desired)));
        }

        return list;
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var todo = (await InspectAsync(context.CancellationToken)).Where(s => s.Edit.Changed).Select(s => s.Host.Name).ToList();
        return todo.Count == 0 ? StepCheck.Done("the console's line is in every running node's pg_hba.conf") : StepCheck.NotDone("to add on " + string.Join(", ", todo));
    }

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        foreach (var s in await InspectAsync(ct))
        {
            await PgHbaFiles.WriteAsync(s.Host, s.Path, s.Edit, running: true, log, ct);
        }
    }
}

/// <summary>Step 5: what a client sees — the console logs in as its monitoring role on every running node and through the write VIP.</summary>
public sealed class AdoptVerifyStep(AdoptRun run) : AdoptStep(run)
{
    public override string Name => "verify";

    public override string Description => "The console logs in as its monitoring role on each running node (in its role) and through the write VIP (the primary)";

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([new PlannedAction { Host = "console", Note = "connections from the console: each node's address, the write VIP" }]));

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("verified on every run"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var targets = new List<(string Address, string Label, bool ExpectPrimary)> { (Primary.Node.Address, Primary.Name, true) };
        if (Run.Standby is { } standby)
        {
            targets.Add((standby.Node.Address, standby.Name, false));
        }

        targets.Add((Run.Cluster.WriteVip, "write VIP " + Run.Cluster.WriteVip, true));
        foreach (var (address, label, expectPrimary) in targets)
        {
            var cs = NodeConnections.Monitor(Run.Cluster, address, Run.Secrets.MonitorPassword, "pghaconsole-adopt", timeout: 5, commandTimeout: 5);
            cs.Username = Run.MonitorUser;
            try
            {
                await using var conn = new NpgsqlConnection(cs.ConnectionString);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT pg_is_in_recovery()", conn);
                var inRecovery = (bool)(await cmd.ExecuteScalarAsync(ct))!;
                if (inRecovery == expectPrimary)
                {
                    throw new StepFailedException($"{label} answers as a {(inRecovery ? "standby" : "primary")}, not as the {(expectPrimary ? "primary" : "standby")}.");
                }

                log.Info(null, $"{label}: {Run.MonitorUser} logged in; {(inRecovery ? "standby" : "primary")} as expected");
            }
            catch (NpgsqlException ex)
            {
                throw new StepFailedException($"{label}: the console cannot log in as {Run.MonitorUser}: {Run.Env.Masker.Apply(ex.Message)}", ex);
            }
        }
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(StepVerification.Passed("the console sees the pair as a client does"));
}
