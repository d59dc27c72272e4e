using System.Globalization;
using PgHaConsole.Core.Adopt;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;

namespace PgHaConsole.Infrastructure.Rotate;

/// <summary>What the preflight found: the problems that refuse the rotation (empty: it may run) and what it saw.</summary>
public sealed record RotatePreflightReport(IReadOnlyList<string> Problems, IReadOnlyList<string> Findings)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Read-only checks before anything changes (the gate runs them before the operation starts, its first step again
/// when it runs): both nodes reachable, a primary and a standby streaming from it, and, per secret, that every place
/// it lives is one the console can change (else the rotation would cut off whoever reads it from elsewhere).
/// </summary>
public static class RotatePreflight
{
    public static async Task<RotatePreflightReport> RunAsync(RotateRun run, CancellationToken ct)
    {
        var problems = new List<string>();
        var findings = new List<string>();
        var cluster = run.Cluster;
        var pg = cluster.Postgres;
        foreach (var host in run.Env.Hosts)
        {
            try
            {
                var state = await host.GetPgStateAsync(ct);
                findings.Add($"{host.Name}: {state.Describe()}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problems.Add($"{host.Name} cannot be reached: {run.Env.Masker.Apply(ex.Message)}");
            }
        }

        if (problems.Count > 0)
        {
            return new(problems, findings);
        }

        NodeHost primary;
        NodeHost standby;
        try
        {
            (primary, standby) = await run.RolesAsync(ct);
        }
        catch (StepFailedException ex)
        {
            return new([ex.Message], findings);
        }

        var streaming = (await primary.PsqlAsync(ReplicationRowSql(standby), null, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (!streaming.Any(r => r.Split('\t') is [_, "streaming", ..]))
        {
            problems.Add($"{standby.Name} is not streaming from {primary.Name} ({(streaming.Length == 0 ? "no walsender for it" : "state " + string.Join(", ", streaming.Select(r => r.Split('\t')[1])))}): rotate on a healthy pair only (rejoin it first)");
        }
        else
        {
            findings.Add($"{standby.Name} streams from {primary.Name}");
        }

        if (run.Pending is not null)
        {
            findings.Add($"a rotation of the {run.SecretName} secret is unfinished: its pending new secret is used again");
        }

        switch (run.Secret)
        {
            case RotatableSecret.Replication:
                await ReplicationAsync(run, primary, standby, problems, findings, ct);
                break;
            case RotatableSecret.Monitoring:
                var secret = await RotatePlaces.RoleSecretAsync(primary, pg.MonitorUser, ct);
                var holds = RotatePlaces.ClassifyRole(secret, run.Old, run.Pending);
                if (holds is not (PlaceHolds.Old or PlaceHolds.New))
                {
                    problems.Add(holds == PlaceHolds.Absent
                        ? $"role {pg.MonitorUser} does not exist or has no password on {primary.Name}"
                        : $"role {pg.MonitorUser}'s password on {primary.Name} is not one the console holds: adopt the pair with it first");
                }

                findings.Add($"role {pg.MonitorUser}: the console's probe logs in with the password it holds; other tools using this role would need the new one");
                break;
            default:
                await VrrpAsync(run, primary, problems, findings, ct);
                break;
        }

        return new(problems, findings);
    }

    /// <summary>pid and state of the walsender(s) serving <paramref name="standby"/> (by its address or application_name).</summary>
    public static string ReplicationRowSql(NodeHost standby) =>
        $"SELECT pid, state FROM pg_stat_replication WHERE host(client_addr) = {GucValue.QuoteForSql(standby.Node.Address)} OR application_name = {GucValue.QuoteForSql(standby.Name)}";

    private static async Task ReplicationAsync(RotateRun run, NodeHost primary, NodeHost standby, List<string> problems, List<string> findings, CancellationToken ct)
    {
        var cluster = run.Cluster;
        var pg = cluster.Postgres;
        var secret = await RotatePlaces.RoleSecretAsync(primary, pg.ReplicationUser, ct);
        if (secret.Length == 0)
        {
            problems.Add($"role {pg.ReplicationUser} does not exist or has no password on {primary.Name}");
            return;
        }

        foreach (var host in new[] { standby, primary })
        {
            var source = await RotatePlaces.ReplicationSourceAsync(host, cluster, ct);
            if (source.InlinePassword && pg.MajorVersion < 13)
            {
                problems.Add($"{host.Name}'s primary_conninfo carries the password inline, which PostgreSQL {pg.MajorVersion.ToString(CultureInfo.InvariantCulture)} reads only at a restart: move it to a pass file (passfile=) first");
            }

            var where = source.InlinePassword ? "primary_conninfo (inline)" : source.EffectiveFile ?? "nowhere";
            findings.Add($"{host.Name}: its replication connection takes the password from {where}; files the rotation rewrites: {(source.Files.Count == 0 ? "none" : string.Join(", ", source.Files))}");
            if (host != standby || source.InlinePassword)
            {
                continue;
            }

            // The standby's walreceiver must find a password the rotation updates, or the forced reconnect cuts it off.
            var text = source.EffectiveFile is { } f ? await host.ReadTextAsync(f, ct) : null;
            var password = RotatePlaces.PassFilePassword(text, cluster, host);
            if (password is null)
            {
                problems.Add($"{standby.Name}'s replication connection finds no password for {pg.ReplicationUser} in {source.EffectiveFile ?? "any pass file"}: the console cannot update where it comes from (a password in the environment, a service file?)");
            }
            else if (!ScramSecret.Matches(secret, password) && (run.Pending is null || !ScramSecret.Matches(secret, run.Pending)) && password != run.Pending)
            {
                problems.Add($"{standby.Name}'s pass file {source.EffectiveFile} holds a password that does not match role {pg.ReplicationUser}: repair it (setup or adopt) before rotating");
            }
        }
    }

    private static async Task VrrpAsync(RotateRun run, NodeHost primary, List<string> problems, List<string> findings, CancellationToken ct)
    {
        var values = new List<string>();
        var samples = new List<VipSample>();
        var actions = new PairActions(run.Env);
        foreach (var host in run.Env.Hosts)
        {
            var passes = HostSecretsReader.KeepalivedAuthPasses(await host.ReadTextAsync(RotatePlaces.Keepalived.ConfigFile, ct));
            if (passes.Count == 0)
            {
                problems.Add($"{host.Name}: {RotatePlaces.Keepalived.ConfigFile} has no auth_pass (keepalived not configured, or VRRPv3, which has no authentication): nothing to rotate");
            }

            values.AddRange(passes);
            if (await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct) is null)
            {
                problems.Add($"keepalived is not running on {host.Name}");
            }

            var (w, r) = await actions.VipsOnAsync(host, ct);
            samples.Add(new VipSample(host.Name, w, r));
        }

        if (values.Distinct(StringComparer.Ordinal).Count() > 1 && run.Pending is null)
        {
            problems.Add("the nodes' keepalived configurations use different auth_pass values: repair keepalived (setup) before rotating");
        }

        var vips = VrrpObservation.Problems(samples, primary.Name, run.Cluster.WriteVip, run.Cluster.ReadVip);
        if (vips.Count > 0)
        {
            problems.Add("the VIPs are not settled: " + string.Join("; ", vips));
        }
        else
        {
            findings.Add($"keepalived runs on both; write VIP on {primary.Name}, read VIP on {samples.First(s => s.HoldsRead).Node}");
        }
    }
}
