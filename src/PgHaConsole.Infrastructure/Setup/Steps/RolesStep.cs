using System.Text;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 3: on the primary, the replication role (the runbook's <c>repli</c>) and the console's monitoring role
/// (<c>pg_monitor</c>, plus a small schema for the write probe). Passwords are generated when none was given, stored
/// encrypted before use, and sent to the server only as SCRAM secrets computed here: the clear text never reaches the
/// server, its logs or a command line. The standby gets the roles with the clone.
/// </summary>
public sealed class RolesStep(SetupRun run) : SetupStep(run)
{
    public const string ProbeSchema = "pghaconsole";
    public const string ProbeTable = "pghaconsole.heartbeat";

    /// <summary>The functions pg_rewind's source connection calls (PostgreSQL documentation, pg_rewind, "Notes").</summary>
    public static readonly IReadOnlyList<string> RewindFunctions =
    [
        "pg_catalog.pg_ls_dir(text, boolean, boolean)",
        "pg_catalog.pg_stat_file(text, boolean)",
        "pg_catalog.pg_read_binary_file(text)",
        "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
    ];

    public override string Name => "roles";

    public override string Description => "Replication role and the console's monitoring role (pg_monitor) on the primary";

    private string Repl => Cluster.Postgres.ReplicationUser;

    private string Monitor => Cluster.Postgres.MonitorUser;

    private sealed record RoleRow(string Name, bool Login, bool Replication, string? Secret, bool PgMonitor);

    private async Task<(List<RoleRow> Roles, bool ProbeTableExists)> ReadAsync(NodeHost primary, CancellationToken ct)
    {
        var sql = $"""
            SELECT r.rolname, r.rolcanlogin, r.rolreplication, coalesce(a.rolpassword, ''), pg_has_role(r.oid, 'pg_monitor', 'MEMBER')
            FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid
            WHERE r.rolname IN ({GucValue.QuoteForSql(Repl)}, {GucValue.QuoteForSql(Monitor)});
            SELECT to_regclass('{ProbeTable}') IS NOT NULL
              AND {string.Join(" AND ", RewindFunctions.Select(f => $"coalesce(has_function_privilege({GucValue.QuoteForSql(Repl)}, '{f}', 'EXECUTE'), false)"))};
            """;
        var lines = (await primary.PsqlAsync(sql, null, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var roles = lines.Where(l => l.Contains('\t', StringComparison.Ordinal)).Select(l => l.Split('\t'))
            .Select(f => new RoleRow(f[0], f[1] == "t", f[2] == "t", f[3].Length == 0 ? null : f[3], f[4] == "t")).ToList();
        var table = lines.LastOrDefault(l => !l.Contains('\t', StringComparison.Ordinal)) == "t";
        return (roles, table);
    }

    private List<string> Problems(List<RoleRow> roles, bool table)
    {
        var problems = new List<string>();
        var repl = roles.FirstOrDefault(r => r.Name == Repl);
        var mon = roles.FirstOrDefault(r => r.Name == Monitor);
        var secrets = Run.Env.Secrets;
        if (repl is null)
        {
            problems.Add($"role {Repl} does not exist");
        }
        else
        {
            if (!repl.Login || !repl.Replication)
            {
                problems.Add($"role {Repl} lacks LOGIN or REPLICATION");
            }

            if (secrets.ReplicationPassword is null || !ScramSecret.Matches(repl.Secret, secrets.ReplicationPassword))
            {
                problems.Add($"role {Repl}'s password is not the one the console holds");
            }
        }

        if (mon is null)
        {
            problems.Add($"role {Monitor} does not exist");
        }
        else
        {
            if (!mon.Login || !mon.PgMonitor)
            {
                problems.Add($"role {Monitor} lacks LOGIN or pg_monitor");
            }

            if (secrets.MonitorPassword is null || !ScramSecret.Matches(mon.Secret, secrets.MonitorPassword))
            {
                problems.Add($"role {Monitor}'s password is not the one the console holds");
            }
        }

        if (!table)
        {
            problems.Add($"the write-probe table {ProbeTable} or the pg_rewind grants of {Repl} are missing");
        }

        return problems;
    }

    private static string Sql(string repl, string replSecret, string mon, string monSecret)
    {
        var r = GucValue.QuoteIdentifier(repl);
        var m = GucValue.QuoteIdentifier(mon);
        var sb = new StringBuilder();
        sb.Append("DO $do$ BEGIN\n");
        sb.Append("  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ").Append(GucValue.QuoteForSql(repl)).Append(") THEN CREATE ROLE ").Append(r).Append("; END IF;\n");
        sb.Append("  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ").Append(GucValue.QuoteForSql(mon)).Append(") THEN CREATE ROLE ").Append(m).Append("; END IF;\n");
        sb.Append("END $do$;\n");
        sb.Append("ALTER ROLE ").Append(r).Append(" WITH LOGIN REPLICATION PASSWORD ").Append(GucValue.QuoteForSql(replSecret)).Append(";\n");
        sb.Append("ALTER ROLE ").Append(m).Append(" WITH LOGIN NOREPLICATION PASSWORD ").Append(GucValue.QuoteForSql(monSecret)).Append(";\n");
        sb.Append("GRANT pg_monitor TO ").Append(m).Append(";\n");
        // pg_rewind as a non-superuser (its documentation lists exactly these): the replication role is its source login.
        foreach (var f in RewindFunctions)
        {
            sb.Append("GRANT EXECUTE ON FUNCTION ").Append(f).Append(" TO ").Append(r).Append(";\n");
        }

        sb.Append("CREATE SCHEMA IF NOT EXISTS ").Append(ProbeSchema).Append(" AUTHORIZATION ").Append(m).Append(";\n");
        sb.Append("CREATE TABLE IF NOT EXISTS ").Append(ProbeTable)
            .Append(" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, written_by text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp());\n");
        sb.Append("ALTER TABLE ").Append(ProbeTable).Append(" OWNER TO ").Append(m).Append(";\n");
        return sb.ToString();
    }

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var (primary, _) = await Run.RolesAsync(context.CancellationToken);
        var sql = Sql(Repl, "SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>", Monitor, "SCRAM-SHA-256$4096:<salt>$<stored key>:<server key>");
        return new StepPlan([
            PlannedAction.ForCommand(primary.Name, "psql (as " + Cluster.Postgres.OsUser + ", local socket) <<SQL\n" + sql + "SQL", Run.Env.Masker,
                "passwords are generated if none was given, stored encrypted, and sent only as SCRAM secrets"),
        ]);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var (primary, _) = await Run.RolesAsync(context.CancellationToken);
        var (roles, table) = await ReadAsync(primary, context.CancellationToken);
        var problems = Problems(roles, table);
        return problems.Count == 0
            ? StepCheck.Done($"on {primary.Name}: {Repl} (LOGIN REPLICATION) and {Monitor} (pg_monitor) exist with the passwords the console holds; {ProbeTable} exists")
            : StepCheck.NotDone(string.Join("; ", problems));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var (primary, _) = await Run.RolesAsync(ct);
        var replPassword = await Run.Env.EnsureSecretAsync(SecretKind.Replication, ct);
        var monPassword = await Run.Env.EnsureSecretAsync(SecretKind.Monitor, ct);
        var sql = Sql(Repl, ScramSecret.Create(replPassword), Monitor, ScramSecret.Create(monPassword));
        Log(context).Info(primary.Name, $"creating or updating roles {Repl} and {Monitor} (passwords as SCRAM secrets) and {ProbeTable}");
        await primary.PsqlAsync(sql, Log(context), ct);
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var check = await CheckAsync(context);
        return check.AlreadyDone ? StepVerification.Passed(check.Reason) : StepVerification.Failed(check.Reason);
    }
}
