using System.Globalization;
using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Rotate;

/// <summary>Where a node's replication connection takes the password from, and the files on it that hold it.</summary>
/// <param name="InlinePassword">primary_conninfo carries <c>password=</c> itself.</param>
/// <param name="EffectiveFile">The pass file libpq reads for this node's replication connection (null with an inline password).</param>
/// <param name="Files">Every file on the node the rotation rewrites: the console's pass file, and the one primary_conninfo uses.</param>
public sealed record ReplicationSource(NodeHost Host, string? Conninfo, bool InlinePassword, string? EffectiveFile, IReadOnlyList<string> Files);

/// <summary>
/// Every place a secret lives, found on the hosts (read-only), and what each holds: the report a failure gives, the
/// check that lets a resumed rotation skip what is done, and the log's last word.
/// </summary>
public static class RotatePlaces
{
    public static readonly KeepalivedPaths Keepalived = new();

    public static string ConsolePassFile(ClusterSpec cluster) => RecoveryConfigRenderer.DefaultPassFile(cluster.Postgres);

    /// <summary>The replication role's secret (SCRAM verifier) on the primary; empty when it has none.</summary>
    public static async Task<string> RoleSecretAsync(NodeHost primary, string role, CancellationToken ct) =>
        (await primary.PsqlAsync($"SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = {GucValue.QuoteForSql(role)}", null, ct)).Trim();

    public static PlaceHolds ClassifyRole(string secret, string? oldValue, string? newValue) =>
        secret.Length == 0 ? PlaceHolds.Absent
        : newValue is not null && ScramSecret.Matches(secret, newValue) ? PlaceHolds.New
        : oldValue is not null && ScramSecret.Matches(secret, oldValue) ? PlaceHolds.Old
        : PlaceHolds.Other;

    /// <summary>Where each node's replication connection gets its password, and the files to rewrite on it.</summary>
    public static async Task<ReplicationSource> ReplicationSourceAsync(NodeHost host, ClusterSpec cluster, CancellationToken ct)
    {
        var pg = cluster.Postgres;
        string? conninfo = null;
        if (pg.MajorVersion >= 12 && (await host.GetPgStateAsync(ct)).Running)
        {
            // A normal setting from 12 on: shown on the primary too (the console pre-stages it there).
            conninfo = (await host.PsqlAsync("SELECT setting FROM pg_settings WHERE name = 'primary_conninfo'", null, ct)).Trim();
        }

        var parsed = HostSecretsReader.ParseConninfo(conninfo) ?? new Dictionary<string, string>();
        var inline = parsed.GetValueOrDefault("password") is { Length: > 0 };
        var files = new List<string>();
        var console = ConsolePassFile(cluster);
        if (await host.FileExistsAsync(console, ct))
        {
            files.Add(console);
        }

        string? effective = null;
        if (!inline)
        {
            effective = parsed.GetValueOrDefault("passfile") is { Length: > 0 } named ? named : await DefaultPgPassAsync(host, pg.OsUser, ct);
            if (effective is not null && !files.Contains(effective) && await host.FileExistsAsync(effective, ct))
            {
                files.Add(effective);
            }
        }

        return new ReplicationSource(host, conninfo, inline, effective, files);
    }

    /// <summary>libpq's default pass file for the OS user (~/.pgpass), or null when the user has no home.</summary>
    private static async Task<string?> DefaultPgPassAsync(NodeHost host, string osUser, CancellationToken ct)
    {
        var fields = (await host.RunAsync(RemoteCommand.Exec("getent", "passwd", osUser), null, ct)).StdOut.Trim().Split(':');
        return fields.Length > 5 && fields[5].StartsWith('/') ? fields[5].TrimEnd('/') + "/.pgpass" : null;
    }

    /// <summary>The replication password a pass file gives <paramref name="host"/> for its peer (replication, then the rewind database).</summary>
    public static string? PassFilePassword(string? text, ClusterSpec cluster, NodeHost host)
    {
        var peer = cluster.Peer(host.Node);
        var pg = cluster.Postgres;
        return HostSecretsReader.PgPassPassword(text, peer.Address, pg.Port, PgPass.ReplicationDatabase, pg.ReplicationUser)
            ?? HostSecretsReader.PgPassPassword(text, peer.Address, pg.Port, RecoveryConfigRenderer.RewindDatabase, pg.ReplicationUser);
    }

    /// <summary>Every place of <paramref name="run"/>'s secret and what it holds now (read-only; an unreachable host's places are "unknown").</summary>
    public static async Task<List<SecretPlace>> InspectAsync(RotateRun run, CancellationToken ct)
    {
        var places = new List<SecretPlace>();
        var oldValue = run.Old;
        var newValue = run.Pending;
        var cluster = run.Cluster;
        var pg = cluster.Postgres;
        PlaceHolds Classify(string? v) => newValue is null ? (v is null ? PlaceHolds.Absent : v == oldValue ? PlaceHolds.Old : PlaceHolds.Other) : SecretPlace.Classify(v, oldValue, newValue);

        switch (run.Secret)
        {
            case RotatableSecret.Replication or RotatableSecret.Monitoring:
            {
                var role = run.Secret == RotatableSecret.Replication ? pg.ReplicationUser : pg.MonitorUser;
                var primary = await PrimaryOrNullAsync(run, ct);
                if (primary is null)
                {
                    places.Add(new($"role {role}", PlaceHolds.Unknown, "no primary to read it from"));
                }
                else
                {
                    var secret = await RoleSecretAsync(primary, role, ct);
                    places.Add(new($"role {role} on {primary.Name}", secret.Length == 0 ? PlaceHolds.Absent : ClassifyRole(secret, oldValue, newValue)));
                }

                foreach (var host in run.Env.Hosts)
                {
                    await ForHostAsync(host, places, async () =>
                    {
                        if (run.Secret == RotatableSecret.Replication)
                        {
                            var source = await ReplicationSourceAsync(host, cluster, ct);
                            foreach (var file in source.Files)
                            {
                                var text = await host.ReadTextAsync(file, ct);
                                places.Add(new($"{host.Name}:{file}", Classify(PassFilePassword(text, cluster, host))));
                            }

                            if (source.InlinePassword)
                            {
                                places.Add(new($"{host.Name}: primary_conninfo (inline password)", Classify(HostSecretsReader.ParseConninfo(source.Conninfo)?.GetValueOrDefault("password"))));
                            }
                        }
                        else if (cluster.Balancer == BalancerMode.LvsDr)
                        {
                            var file = Keepalived.Lvs.PassFile;
                            var text = await host.ReadTextAsync(file, ct);
                            var holds = text is null ? PlaceHolds.Absent
                                : newValue is not null && text == LvsVirtualServerRenderer.RenderCheckPassFile(cluster, newValue) ? PlaceHolds.New
                                : oldValue is not null && text == LvsVirtualServerRenderer.RenderCheckPassFile(cluster, oldValue) ? PlaceHolds.Old
                                : PlaceHolds.Other;
                            places.Add(new($"{host.Name}:{file}", holds));
                        }
                    });
                }

                break;
            }

            default:
                foreach (var host in run.Env.Hosts)
                {
                    await ForHostAsync(host, places, async () =>
                    {
                        var passes = HostSecretsReader.KeepalivedAuthPasses(await host.ReadTextAsync(Keepalived.ConfigFile, ct));
                        places.Add(new($"{host.Name}:{Keepalived.ConfigFile}", passes.Count switch
                        {
                            0 => PlaceHolds.Absent,
                            1 => Classify(passes[0]),
                            _ => PlaceHolds.Other,
                        }, passes.Count > 1 ? passes.Count.ToString(CultureInfo.InvariantCulture) + " different auth_pass values" : null));
                    });
                }

                break;
        }

        places.Add(new("the console's store", PlaceHolds.Old, run.Pending is null ? null : "the new one kept beside it as pending until the rotation is verified"));
        return places;
    }

    /// <summary>The places, or a line saying they could not be read; never throws (it is called while reporting a failure).</summary>
    public static async Task<string> DescribeAsync(RotateRun run, CancellationToken ct)
    {
        try
        {
            return SecretPlace.Describe(await InspectAsync(run, ct));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return "could not be read: " + run.Env.Masker.Apply(ex.Message);
        }
    }

    private static async Task ForHostAsync(NodeHost host, List<SecretPlace> places, Func<Task> inspect)
    {
        try
        {
            await inspect();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            places.Add(new($"{host.Name}", PlaceHolds.Unknown, "not readable: " + ex.GetType().Name));
        }
    }

    private static async Task<NodeHost?> PrimaryOrNullAsync(RotateRun run, CancellationToken ct)
    {
        foreach (var host in run.Env.Hosts)
        {
            try
            {
                if ((await host.GetPgStateAsync(ct)).IsPrimary)
                {
                    return host;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Unreachable: the other may still answer.
            }
        }

        return null;
    }
}
