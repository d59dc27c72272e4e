using System.Globalization;
using System.Text;

namespace PgHaConsole.Lab;

/// <summary>The runbook's starting state on pg1: a standalone PostgreSQL 15 with the sample database, nothing for replication.</summary>
/// <summary>Runs a program inside a lab host (checked: throws <see cref="LabException"/> with <paramref name="step"/> on failure).</summary>
internal delegate Task LabHostExec(string step, IReadOnlyList<string> argv, string? standardInput, CancellationToken ct);

internal static class LabPostgres
{
    /// <param name="appNetworks">Where the sample application may connect from: the lab network, plus the UML lab's transfer network (clients on this machine reach the guest through it).</param>
    /// <param name="extraSettings">postgresql.conf lines of this kind of lab (the UML lab keeps shared memory small: forking a backend copies its mappings).</param>
    public static async Task InitPostgresAsync(LabHostExec pg1, string password, IReadOnlyList<string> appNetworks, string extraSettings, TextWriter log, CancellationToken ct)
    {
        log.WriteLine("lab: initializing PostgreSQL 15 on pg1");
        var bin = LabTopology.PgBinDir;
        var port = LabTopology.PgPort.ToString(CultureInfo.InvariantCulture);
        await pg1("initdb on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/initdb", "-D", LabTopology.PgDataDir,
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--auth-local=peer", "--auth-host=scram-sha-256"],
            null, ct).ConfigureAwait(false);

        // Written inside the host (its /data10), so the same code serves the namespace lab and the UML guest; writing
        // into existing files keeps their owner (postgres) and mode.
        var pgdata = LabTopology.PgDataDir;
        var host = LabTopology.Host("pg1");
        await pg1("Configuring PostgreSQL on pg1", ["sh", "-c", "cat >>\"$1\"", "sh", pgdata + "/postgresql.conf"],
            "\n# PgHaConsole lab: the runbook's starting state (a standalone server, nothing for replication).\n"
            + $"listen_addresses = 'localhost,{host.Address}'\n"
            + $"port = {port}\n"
            + "unix_socket_directories = '/run/postgresql'\n"
            + extraSettings,
            ct).ConfigureAwait(false);
        await pg1("Writing pg_hba.conf on pg1", ["sh", "-c", "cat >\"$1\"", "sh", pgdata + "/pg_hba.conf"],
            "# PgHaConsole lab: local administration, and the sample application from the lab network.\n"
            + "# TYPE  DATABASE  USER  ADDRESS          METHOD\n"
            + "local   all       all                    peer\n"
            + "host    all       all   127.0.0.1/32     scram-sha-256\n"
            + "host    all       all   ::1/128          scram-sha-256\n"
            + string.Concat(appNetworks.Select(n => $"host    {LabTopology.SampleDatabase}     {LabTopology.SampleUser}   {n}   scram-sha-256\n")),
            ct).ConfigureAwait(false);

        await pg1("Starting PostgreSQL on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/pg_ctl", "-D", LabTopology.PgDataDir, "-l", LabTopology.PgLogFile, "-w", "-t", "30", "start"],
            null, ct).ConfigureAwait(false);

        // The password travels on psql's standard input only, never on a command line.
        var sql = new StringBuilder()
            .Append("CREATE ROLE ").Append(LabTopology.SampleUser).Append(" LOGIN PASSWORD '").Append(password.Replace("'", "''", StringComparison.Ordinal)).Append("';\n")
            .Append("CREATE DATABASE ").Append(LabTopology.SampleDatabase).Append(" OWNER ").Append(LabTopology.SampleUser).Append(";\n")
            .Append("\\connect ").Append(LabTopology.SampleDatabase).Append('\n')
            .Append("SET ROLE ").Append(LabTopology.SampleUser).Append(";\n")
            .Append("CREATE TABLE public.items (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n")
            .Append("INSERT INTO public.items (name, quantity) SELECT 'item ' || g, g % 17 FROM generate_series(1, 100) AS g;\n")
            .ToString();
        await pg1("Creating the sample database on pg1",
            ["runuser", "-u", LabTopology.OsUser, "--", bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-p", port, "-d", "postgres"],
            sql, ct).ConfigureAwait(false);
    }
}
