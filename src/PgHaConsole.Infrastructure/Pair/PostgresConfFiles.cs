using System.Globalization;
using System.Text;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>
/// The two files the console owns beside postgresql.conf, in <c>conf.d/</c>: the node's settings
/// (<see cref="PostgresSettingsRenderer.IncludeFileName"/>) and its replication source (<see cref="RecoveryIncludeName"/>,
/// PostgreSQL 12+), both read through <c>include_if_exists</c> lines appended once to postgresql.conf. Files, not
/// ALTER SYSTEM: they can be written while the server is down (a fresh clone) and diffed in a plan.
/// </summary>
public sealed class PostgresConfFiles(ClusterEnvironment env)
{
    public const string RecoveryIncludeName = "pghaconsole-recovery.conf";
    public const string DirectivesComment = "# Added by PgHaConsole: the console's settings and replication source (conf.d/).";

    public static string RecoveryIncludeDirective => PostgresSettingsRenderer.IncludeDirective("conf.d/" + RecoveryIncludeName);

    /// <summary>postgresql.conf's path: from the server when it runs, else in the data directory.</summary>
    public async Task<string> ConfigFileAsync(NodeHost host, bool running, CancellationToken ct) =>
        running ? (await host.PsqlAsync("SHOW config_file", null, ct)).Trim() : env.Cluster.Postgres.DataDir.TrimEnd('/') + "/postgresql.conf";

    public static string ConfDir(string configFile) => configFile[..configFile.LastIndexOf('/')] + "/conf.d";

    public static string SettingsPath(string configFile) => ConfDir(configFile) + "/" + PostgresSettingsRenderer.IncludeFileName;

    public static string RecoveryPath(string configFile) => ConfDir(configFile) + "/" + RecoveryIncludeName;

    /// <summary>The node's settings file; max_connections follows the primary's (a standby must not have fewer).</summary>
    public string SettingsContent(NodeHost host, int primaryMaxConnections)
    {
        var settings = PostgresSettingsRenderer.Settings(env.Cluster, host.Node, new PostgresSettingsOptions { PrimaryMaxConnections = primaryMaxConnections });
        return PostgresSettingsRenderer.RenderIncludeFile(settings, env.Cluster.Postgres.MajorVersion);
    }

    public static string RecoveryContent(RecoveryConfig config, string nodeName)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(RecoveryIncludeName).Append(" - managed by PgHaConsole for ").Append(nodeName).Append('\n');
        sb.Append("# Where this node streams from when it runs as a standby (standby.signal present). Inert on a primary.\n");
        sb.Append("# The replication password is read from the passfile, never written here.\n");
        foreach (var line in config.AutoConfLines)
        {
            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>postgresql.conf with the include lines at its end (unchanged when they are there already).</summary>
    public static string WithDirectives(string current)
    {
        var lines = current.Split('\n').Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        var settings = PostgresSettingsRenderer.IncludeDirective();
        if (lines.Contains(settings) && lines.Contains(RecoveryIncludeDirective))
        {
            return current;
        }

        var sb = new StringBuilder(current);
        if (current.Length > 0 && !current.EndsWith('\n'))
        {
            sb.Append('\n');
        }

        sb.Append('\n').Append(DirectivesComment).Append('\n');
        if (!lines.Contains(settings))
        {
            sb.Append(settings).Append('\n');
        }

        if (!lines.Contains(RecoveryIncludeDirective))
        {
            sb.Append(RecoveryIncludeDirective).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Writes what differs: the include lines in postgresql.conf (previous file kept) and the settings file. True when something changed.</summary>
    public async Task<bool> WriteSettingsAsync(NodeHost host, string configFile, int primaryMaxConnections, StepLog log, CancellationToken ct)
    {
        var changed = false;
        var conf = await host.ReadTextAsync(configFile, ct)
            ?? throw new StepFailedException($"{configFile} does not exist on {host.Name}.");
        var withDirectives = WithDirectives(conf);
        if (withDirectives != conf)
        {
            await host.ReplaceKeepingCopyAsync(configFile, withDirectives, "0600", host.PgOwner, log, ct);
            changed = true;
        }

        await host.RunCheckedAsync("Creating conf.d", Core.Shell.RemoteCommand.BashScript(
            "install -d -m 0700 -o \"$2\" -- \"$1\"", ConfDir(configFile), host.Pg.OsUser), null, ct);
        var path = SettingsPath(configFile);
        var desired = SettingsContent(host, primaryMaxConnections);
        if (await host.ReadTextAsync(path, ct) != desired)
        {
            await host.WriteTextAsync(path, desired, "0600", host.PgOwner, log, ct);
            changed = true;
        }

        return changed;
    }
}
