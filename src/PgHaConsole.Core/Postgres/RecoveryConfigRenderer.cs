using System.Text;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Postgres;

/// <summary>A file to write on a host, relative to the data directory unless <see cref="Path"/> is absolute.</summary>
/// <param name="Mode">Octal permission bits, e.g. "0600".</param>
public sealed record GeneratedFile(string Path, string Content, string Mode);

/// <summary>What makes a node a standby (or prepares a primary to become one), for one PostgreSQL major version.</summary>
/// <param name="Files">Files to write in the data directory (recovery.conf / recovery.done up to 11, standby.signal from 12).</param>
/// <param name="Settings">Settings for postgresql.auto.conf through <c>ALTER SYSTEM</c> (12+ only; empty for 11).</param>
/// <param name="FilesToRemove">Files in the data directory that must not exist for this configuration to work.</param>
public sealed record RecoveryConfig(
    int MajorVersion,
    IReadOnlyList<GeneratedFile> Files,
    IReadOnlyList<GucSetting> Settings,
    IReadOnlyList<string> FilesToRemove)
{
    /// <summary>The settings as postgresql.auto.conf-style lines (what ALTER SYSTEM writes).</summary>
    public IReadOnlyList<string> AutoConfLines => Settings.Select(s => s.ToFileLine()).ToList();

    public IReadOnlyList<string> AlterSystemStatements => Settings.Select(s => s.ToAlterSystem()).ToList();
}

/// <summary>
/// Version-aware recovery configuration (seed defect 5). Up to 11: <c>recovery.conf</c> with <c>standby_mode</c>.
/// From 12: an empty <c>standby.signal</c> plus <c>primary_conninfo</c> and <c>recovery_target_timeline</c> as normal
/// settings (12 refuses to start with a recovery.conf and no longer knows standby_mode). The password is never in
/// <c>primary_conninfo</c>: it names a .pgpass through <c>passfile=</c>.
/// </summary>
public static class RecoveryConfigRenderer
{
    public const string RecoveryConf = "recovery.conf";

    public const string RecoveryDone = "recovery.done";

    public const string StandbySignal = "standby.signal";

    /// <summary>
    /// Default .pgpass for the replication connection: beside the data directory, not inside it, so that
    /// pg_basebackup does not copy it and a re-clone (which empties the data directory) does not delete it.
    /// </summary>
    public static string DefaultPassFile(PostgresSettings pg)
    {
        ArgumentNullException.ThrowIfNull(pg);
        var dir = pg.DataDir.TrimEnd('/');
        var parent = dir.LastIndexOf('/') is var i and > 0 ? dir[..i] : "/var/lib/postgresql";
        return parent + "/.pghaconsole.pgpass";
    }

    /// <summary>The replication connection from <paramref name="node"/> to its upstream <paramref name="upstream"/>.</summary>
    public static PrimaryConninfo ConninfoFor(ClusterSpec cluster, NodeSpec node, NodeSpec upstream, string passFile) =>
        new()
        {
            Host = upstream.Address,
            Port = cluster.Postgres.Port,
            User = cluster.Postgres.ReplicationUser,
            ApplicationName = node.Name,
            PassFile = passFile,
        };

    /// <summary>
    /// The .pgpass lines (mode 0600, owned by the OS user) that let either node replicate from the other (database
    /// "replication") and rewind from it (pg_rewind's source connection goes to database "postgres").
    /// </summary>
    public static string PassFileContent(ClusterSpec cluster, string replicationPassword)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var sb = new StringBuilder();
        foreach (var database in new[] { PgPass.ReplicationDatabase, RewindDatabase })
        {
            foreach (var node in cluster.Nodes)
            {
                sb.Append(PgPass.Line(node.Address, cluster.Postgres.Port, database, cluster.Postgres.ReplicationUser, replicationPassword)).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>The database pg_rewind's source connection uses (the replication role gets the documented function grants).</summary>
    public const string RewindDatabase = "postgres";

    /// <summary>The configuration that makes <paramref name="standby"/> follow its peer.</summary>
    public static RecoveryConfig ForStandby(ClusterSpec cluster, NodeSpec standby, string? passFile = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(standby);
        var major = cluster.Postgres.MajorVersion;
        PostgresSettingsRenderer.RequireSupported(major);
        var conninfo = ConninfoFor(cluster, standby, cluster.Peer(standby), passFile ?? DefaultPassFile(cluster.Postgres));

        if (major <= 11)
        {
            return new RecoveryConfig(major,
                [new GeneratedFile(RecoveryConf, RecoveryConfText(conninfo, standby, "standby"), "0600")],
                [],
                [RecoveryDone]);
        }

        return new RecoveryConfig(major,
            [new GeneratedFile(StandbySignal, "", "0600")],
            StreamingSettings(conninfo),
            // 12+ refuses to start while a recovery.conf exists; a recovery.done left by an upgrade is only confusing.
            [RecoveryConf, RecoveryDone]);
    }

    /// <summary>
    /// The pre-staged counterpart on the primary (the runbook's recovery.done idea), pointing at its peer, so that a
    /// later demotion is a rename (≤11) or creating standby.signal (12+). On 12+ the settings are inert on a primary:
    /// primary_conninfo is only read in standby mode. There is deliberately no standby.signal here.
    /// </summary>
    public static RecoveryConfig PreStagedForPrimary(ClusterSpec cluster, NodeSpec primary, string? passFile = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(primary);
        var major = cluster.Postgres.MajorVersion;
        PostgresSettingsRenderer.RequireSupported(major);
        var conninfo = ConninfoFor(cluster, primary, cluster.Peer(primary), passFile ?? DefaultPassFile(cluster.Postgres));

        if (major <= 11)
        {
            return new RecoveryConfig(major,
                [new GeneratedFile(RecoveryDone, RecoveryConfText(conninfo, primary, "primary (pre-staged: rename to recovery.conf to demote)"), "0600")],
                [],
                // A recovery.conf on the primary would turn it into a standby at its next restart.
                [RecoveryConf]);
        }

        return new RecoveryConfig(major, [], StreamingSettings(conninfo), [StandbySignal, RecoveryConf]);
    }

    private static List<GucSetting> StreamingSettings(PrimaryConninfo conninfo) =>
    [
        GucSetting.Text("primary_conninfo", conninfo.ToString()),
        GucSetting.Text("recovery_target_timeline", "latest"),
    ];

    private static string RecoveryConfText(PrimaryConninfo conninfo, NodeSpec node, string role)
    {
        var sb = new StringBuilder();
        sb.Append("# recovery.conf for ").Append(node.Name).Append(" as ").Append(role).Append(" - managed by PgHaConsole\n");
        sb.Append("# The replication password is read from the passfile, never written here.\n");
        sb.Append(GucSetting.Text("standby_mode", "on").ToFileLine()).Append('\n');
        sb.Append(GucSetting.Text("primary_conninfo", conninfo.ToString()).ToFileLine()).Append('\n');
        sb.Append(GucSetting.Text("recovery_target_timeline", "latest").ToFileLine()).Append('\n');
        return sb.ToString();
    }
}
