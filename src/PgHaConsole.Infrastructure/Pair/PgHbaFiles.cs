using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>The one way a pg_hba.conf edit reaches a host (setup step 4, adopt): copy kept, lines logged, written, reloaded.</summary>
public static class PgHbaFiles
{
    /// <summary>Writes <paramref name="edit"/> when it changes the file; reloads PostgreSQL when <paramref name="running"/>.</summary>
    public static async Task WriteAsync(NodeHost host, string path, HbaEditResult edit, bool running, StepLog log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(edit);
        if (!edit.Changed)
        {
            return;
        }

        foreach (var added in edit.Added)
        {
            log.Info(host.Name, "+ " + added);
        }

        await host.ReplaceKeepingCopyAsync(path, edit.Text, "0600", host.PgOwner, log, ct);
        if (running)
        {
            await host.PsqlAsync("SELECT pg_reload_conf()", log, ct, echoSql: true);
        }
    }
}
