using System.Diagnostics;
using System.Globalization;
using Npgsql;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Rotate;

/// <summary>Base of the rotation's steps: a failure says where the secret is now, place by place.</summary>
public abstract class RotateStep(RotateRun run) : OperationStep<RotateRun>(run)
{
    protected ClusterSpec Cluster => Run.Cluster;

    /// <summary>Runs <paramref name="work"/>; a failure is rethrown with every place of the secret and what it holds.</summary>
    protected async Task ReportingPlacesAsync(IOperationContext context, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var places = await RotatePlaces.DescribeAsync(Run, CancellationToken.None);
            var message = Run.Env.Masker.Apply(ex.Message).TrimEnd();
            throw new StepFailedException($"{message}{(message.EndsWith('.') ? "" : ".")} Where the {Run.SecretName} secret is now: {places}. The old secret stays the console's until the rotation is verified; resume to finish it.", ex);
        }
    }

    public override Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(new StepPlan([]));
}

/// <summary>Step 1 (read-only): a healthy pair, and every place the secret lives one the console can change.</summary>
public sealed class RotatePreflightStep(RotateRun run) : RotateStep(run)
{
    public override string Name => "preflight";

    public override string Description => "Read-only: both nodes reachable, a primary with a streaming standby, and where the secret lives (every place one the console can change)";

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var (primary, standby) = await Run.RolesAsync(context.CancellationToken);
        return new StepPlan([.. RotationPlan.For(Run.Secret, Cluster, primary.Node, standby.Node, RotatePlaces.ConsolePassFile(Cluster))
            .Select(a => new PlannedAction { Host = a.Host, Note = a.What })]);
    }

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("checked on every run (read-only)"));

    public override async Task RunAsync(IOperationContext context)
    {
        var log = Log(context);
        var report = await RotatePreflight.RunAsync(Run, context.CancellationToken);
        foreach (var line in report.Findings)
        {
            log.Info(null, line);
        }

        if (!report.Ok)
        {
            throw new StepFailedException("Nothing was changed: " + string.Join("; ", report.Problems) + ".");
        }

        var (primary, standby) = await Run.RolesAsync(context.CancellationToken);
        foreach (var a in RotationPlan.For(Run.Secret, Cluster, primary.Node, standby.Node, RotatePlaces.ConsolePassFile(Cluster)))
        {
            log.Info(null, $"plan: {a.Host}: {a.What}");
        }
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed("the pair is healthy and every place of the secret is known"));
}

/// <summary>Step 2: the new secret, generated (or the Admin's, stored before the start), kept encrypted as pending.</summary>
public sealed class RotateNewSecretStep(RotateRun run) : RotateStep(run)
{
    public override string Name => "new-secret";

    public override string Description => "The new secret: generated, stored encrypted as pending before any host gets it (the current one stays until the rotation is verified)";

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(Run.Pending is null
        ? StepCheck.NotDone("no pending secret yet")
        : StepCheck.Done("a pending new secret is stored (given by the Admin, or left by an unfinished rotation): it is the one rolled out"));

    public override async Task RunAsync(IOperationContext context)
    {
        var generated = ClusterEnvironment.GeneratePassword(SecretRotation.GeneratedLength(Run.Secret));
        Run.Env.Masker.Add(generated);
        await Run.Env.StoreSecretsAsync(Run.WithPending(generated), context.CancellationToken);
        Log(context).Info(null, $"new {Run.SecretName} secret generated ({generated.Length.ToString(CultureInfo.InvariantCulture)} characters) and stored encrypted as pending");
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(Run.Pending is null ? StepVerification.Failed("no pending secret stored") : StepVerification.Passed("stored encrypted as pending"));
}

/// <summary>Step 3: every place gets the new secret, in the order <see cref="RotationPlan"/> explains.</summary>
public sealed class RotateApplyStep(RotateRun run) : RotateStep(run)
{
    public override string Name => "apply";

    public override string Description => "Every place the secret lives gets the new one (replication: the role, then the pass files; monitoring: the role; vrrp: both keepalived.conf, both reloaded together)";

    private async Task<(bool Done, string Detail)> PlacesAsync(CancellationToken ct)
    {
        var places = (await RotatePlaces.InspectAsync(Run, ct)).Where(p => p.Where != "the console's store").ToList();
        return (Run.Pending is not null && SecretPlace.AllNew(places), SecretPlace.Describe(places));
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var (done, detail) = await PlacesAsync(context.CancellationToken);
        return done ? StepCheck.Done("every place holds the new secret: " + detail) : StepCheck.NotDone(detail);
    }

    public override Task RunAsync(IOperationContext context) => ReportingPlacesAsync(context, () => Run.Secret switch
    {
        RotatableSecret.Replication => ReplicationAsync(context),
        RotatableSecret.Monitoring => MonitoringAsync(context),
        _ => VrrpAsync(context),
    });

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var (done, detail) = await PlacesAsync(context.CancellationToken);
        return done ? StepVerification.Passed(detail) : StepVerification.Failed(detail);
    }

    private async Task ReplicationAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var pg = Cluster.Postgres;
        var (primary, standby) = await Run.RolesAsync(ct);
        var password = Run.New;

        // The role first: one atomic statement, and the one change the server may refuse; a failure here leaves every
        // place as it was. The walreceiver streaming now authenticated at connect time and keeps streaming; the
        // standby's file follows at once (see RotationPlan for the order).
        var window = Stopwatch.StartNew();
        log.Info(primary.Name, $"ALTER ROLE {pg.ReplicationUser} with the new password (as a SCRAM secret computed here; it replicates to {standby.Name})");
        await primary.PsqlAsync($"ALTER ROLE {GucValue.QuoteIdentifier(pg.ReplicationUser)} PASSWORD {GucValue.QuoteForSql(ScramSecret.Create(password))}", null, ct);
        foreach (var host in new[] { standby, primary })
        {
            var source = await RotatePlaces.ReplicationSourceAsync(host, Cluster, ct);
            foreach (var file in source.Files)
            {
                string content;
                if (file == RotatePlaces.ConsolePassFile(Cluster))
                {
                    content = RecoveryConfigRenderer.PassFileContent(Cluster, password);
                }
                else
                {
                    var (rewritten, lines) = SecretRewriters.PgPass(await host.ReadTextAsync(file, ct), pg.ReplicationUser, password);
                    if (lines == 0)
                    {
                        log.Info(host.Name, $"{file}: no line for {pg.ReplicationUser}, left as it is");
                        continue;
                    }

                    content = rewritten;
                }

                await host.WriteTextAsync(file, content, "0600", host.PgOwner, log, ct);
            }

            if (source.InlinePassword && SecretRewriters.ConninfoPassword(source.Conninfo, password) is { } conninfo)
            {
                // PostgreSQL 13+ applies a new primary_conninfo at a reload (its walreceiver restarts with it).
                log.Info(host.Name, "primary_conninfo carries the password inline: ALTER SYSTEM SET primary_conninfo with the new one, then reload");
                await host.PsqlAsync($"ALTER SYSTEM SET primary_conninfo = {GucValue.QuoteForSql(conninfo)};\nSELECT pg_reload_conf();", null, ct);
            }

            if (host == standby)
            {
                log.Info(null, $"the role and {standby.Name}'s copy agreed again after {window.ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture)} ms (a walreceiver reconnecting inside that window is refused once and retries)");
            }
        }
    }

    private async Task MonitoringAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var pg = Cluster.Postgres;
        var (primary, standby) = await Run.RolesAsync(ct);
        log.Info(primary.Name, $"ALTER ROLE {pg.MonitorUser} with the new password (as a SCRAM secret computed here; it replicates to {standby.Name}); the console's open connections stay logged in, new ones need the new password until the store has it (step 5)");
        await primary.PsqlAsync($"ALTER ROLE {GucValue.QuoteIdentifier(pg.MonitorUser)} PASSWORD {GucValue.QuoteForSql(ScramSecret.Create(Run.New))}", null, ct);
        Run.RoleChanged = Stopwatch.StartNew();
        if (Cluster.Balancer == BalancerMode.LvsDr)
        {
            foreach (var host in Run.Env.Hosts)
            {
                if (await host.FileExistsAsync(RotatePlaces.Keepalived.Lvs.PassFile, ct))
                {
                    await host.WriteTextAsync(RotatePlaces.Keepalived.Lvs.PassFile, LvsVirtualServerRenderer.RenderCheckPassFile(Cluster, Run.New), "0600", "root:root", log, ct);
                }
            }
        }
    }

    private async Task VrrpAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var config = RotatePlaces.Keepalived.ConfigFile;
        var candidate = config + ".pghaconsole-new";
        var hosts = Run.Env.Hosts.ToList();

        // 1. Staged and tested on both before either is installed: a configuration keepalived rejects changes nothing.
        foreach (var host in hosts)
        {
            var (text, lines) = SecretRewriters.KeepalivedAuthPass(await host.ReadTextAsync(config, ct), Run.New);
            if (lines == 0)
            {
                throw new StepFailedException($"{host.Name}: {config} has no auth_pass to rotate.");
            }

            await host.WriteTextAsync(candidate, text, "0600", "root:root", log, ct);
            var test = await host.RunAsync(RemoteCommand.Exec("keepalived", "-t", "-f", candidate), log, ct);
            if (!test.Succeeded)
            {
                foreach (var h in hosts)
                {
                    await h.RemoveFilesAsync([candidate], null, ct);
                }

                throw new StepFailedException($"keepalived -t rejected the new configuration on {host.Name}: {Run.Env.Masker.Apply(test.StdErr.Trim())}");
            }

            await host.RunCheckedAsync("Keeping a copy of keepalived.conf", RemoteCommand.Exec("cp", "-p", "--", config, config + ".pghaconsole-previous"), log, ct);
        }

        // 2. Installed and reloaded on both at the same moment: VRRPv2 peers with different auth_pass ignore each other's
        // adverts, so a backup whose master "went silent" would take the VIPs after the master-down interval (3 x
        // advert_int + skew). The two reloads are sent together; the window between them is logged.
        var pids = new Dictionary<NodeHost, int>();
        foreach (var host in hosts)
        {
            pids[host] = await host.DaemonPidAsync(NodeHost.KeepalivedPidFile, "keepalived", ct)
                ?? throw new StepFailedException($"keepalived is not running on {host.Name}: nothing reloaded (the new configuration is staged as {candidate}).");
        }

        var clock = Stopwatch.StartNew();
        var systemd = Cluster.Postgres.ServiceControl == ServiceControl.Systemd;
        var reloads = await Task.WhenAll(hosts.Select(async host =>
        {
            var started = clock.Elapsed;
            var command = systemd
                ? RemoteCommand.BashScript("set -e; mv -f -- \"$1\" \"$2\"; systemctl reload keepalived; date +%s%N", candidate, config)
                : RemoteCommand.BashScript("set -e; mv -f -- \"$1\" \"$2\"; kill -HUP \"$3\"; date +%s%N", candidate, config, pids[host].ToString(CultureInfo.InvariantCulture));
            var result = await host.RunCheckedAsync("Installing keepalived.conf and reloading keepalived", command, null, ct);
            return (Host: host, Started: started, Ended: clock.Elapsed, HostClockNs: long.TryParse(result.StdOut.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ns) ? ns : (long?)null);
        }));
        foreach (var r in reloads)
        {
            log.Info(r.Host.Name, $"keepalived.conf installed and keepalived reloaded ({(systemd ? "systemctl reload" : "SIGHUP to pid " + pids[r.Host].ToString(CultureInfo.InvariantCulture))}), {r.Started.TotalMilliseconds:0} to {r.Ended.TotalMilliseconds:0} ms after the first was sent");
        }

        var window = reloads.Max(r => r.Ended) - reloads.Min(r => r.Started);
        var hostClocks = reloads.All(r => r.HostClockNs is not null)
            ? $"; the hosts' clocks put the two reloads {Math.Abs(reloads[0].HostClockNs!.Value - reloads[1].HostClockNs!.Value) / 1e6:0.#} ms apart"
            : "";
        log.Info(null, $"auth_pass window: the nodes may have used different auth_pass for at most {window.TotalMilliseconds:0} ms (both reloads sent at once and done within that span){hostClocks}; keepalived's master-down interval is {3 * Cluster.Vrrp.AdvertIntSeconds:0.#} s + skew");
    }
}

/// <summary>Step 4: the new secret works where its users need it.</summary>
public sealed class RotateVerifyNewStep(RotateRun run) : RotateStep(run)
{
    private static readonly TimeSpan ReconnectWithin = TimeSpan.FromSeconds(30);
    private string? _verified;

    public override string Name => "verify-new-secret";

    public override string Description => "As its users see it: the standby streams again on a new connection (replication), the console's probe logs in (monitoring), one holder per VIP (vrrp)";

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("verified on every run"));

    public override Task RunAsync(IOperationContext context) => ReportingPlacesAsync(context, async () => _verified = Run.Secret switch
    {
        RotatableSecret.Replication => await ReplicationAsync(context),
        RotatableSecret.Monitoring => await MonitoringAsync(context),
        _ => await VrrpAsync(context),
    });

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(_verified is { } v ? StepVerification.Passed(v) : StepVerification.Failed("not verified"));

    private async Task RoleHoldsNewAsync(NodeHost primary, string role, CancellationToken ct)
    {
        var holds = RotatePlaces.ClassifyRole(await RotatePlaces.RoleSecretAsync(primary, role, ct), Run.Old, Run.New);
        if (holds != PlaceHolds.New)
        {
            throw new StepFailedException($"role {role}'s secret on {primary.Name} is not the new one ({holds.ToString().ToLowerInvariant()}).");
        }
    }

    private async Task<string> ReplicationAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var pg = Cluster.Postgres;
        var (primary, standby) = await Run.RolesAsync(ct);
        await RoleHoldsNewAsync(primary, pg.ReplicationUser, ct);

        // The walreceiver authenticated with the old password when it connected: only a new connection proves the new
        // one. Its walsender is terminated; the standby reconnects (after wal_retrieve_retry_interval at most).
        var sql = RotatePreflight.ReplicationRowSql(standby);
        var before = (await primary.PsqlAsync(sql, null, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r.Split('\t')[0]).ToHashSet(StringComparer.Ordinal);
        log.Info(primary.Name, $"terminating the walsender of {standby.Name} (pid {string.Join(", ", before)}): its walreceiver must reconnect with the new password");
        await primary.PsqlAsync(sql.Replace("SELECT pid, state FROM", "SELECT pg_terminate_backend(pid) FROM", StringComparison.Ordinal), null, ct);
        var clock = Stopwatch.StartNew();
        string? row = null;
        while (clock.Elapsed < ReconnectWithin)
        {
            row = (await primary.PsqlAsync(sql, null, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .FirstOrDefault(r => r.Split('\t') is [var pid, "streaming", ..] && !before.Contains(pid));
            if (row is not null)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), Run.Env.Time, ct);
        }

        if (row is null)
        {
            var receiver = (await standby.PsqlAsync("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'no walreceiver')", null, ct)).Trim();
            throw new StepFailedException($"{standby.Name} did not stream again within {ReconnectWithin.TotalSeconds:0} s after its walsender was terminated (its walreceiver: {receiver}; see its server log for the authentication error).");
        }

        var reconnected = clock.Elapsed;
        var status = (await standby.PsqlAsync("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'no walreceiver')", null, ct)).Trim();
        if (status != "streaming")
        {
            throw new StepFailedException($"{primary.Name} shows a new walsender, but {standby.Name}'s walreceiver is '{status}'.");
        }

        log.Info(standby.Name, $"streaming again on a new connection (walsender pid {row.Split('\t')[0]}) {reconnected.TotalMilliseconds:0} ms after the termination; its walreceiver: {status}");

        // Each node's pass file as the roles may swap: pg_rewind, the boot guard and a demoted primary log in with it.
        foreach (var host in new[] { standby, primary })
        {
            var file = RotatePlaces.ConsolePassFile(Cluster);
            if (!await host.FileExistsAsync(file, ct))
            {
                continue;
            }

            var peer = Cluster.Peer(host.Node);
            // dbname=replication as the walreceiver sends it: libpq matches the pass file's database field against it.
            var conninfo = Conninfo.Build([
                new("host", peer.Address), new("port", pg.Port.ToString(CultureInfo.InvariantCulture)), new("user", pg.ReplicationUser),
                new("dbname", "replication"), new("replication", "true"), new("passfile", file), new("connect_timeout", "5"), new("application_name", "pghaconsole-rotate"),
            ]);
            var result = await host.RunAsync(RemoteCommand.Exec(host.Bin("psql"), "-X", "-A", "-t", "-w", conninfo, "-c", "IDENTIFY_SYSTEM").AsUser(pg.OsUser).InDirectory("/"), null, ct);
            if (result.Succeeded)
            {
                log.Info(host.Name, $"logs in to {peer.Name} as {pg.ReplicationUser} (replication connection, IDENTIFY_SYSTEM) with {file}");
            }
            else if (result.StdErr.Contains("password authentication failed", StringComparison.Ordinal) || result.StdErr.Contains("no password supplied", StringComparison.Ordinal))
            {
                throw new StepFailedException($"{host.Name} cannot log in to {peer.Name} as {pg.ReplicationUser} with {file}: {Run.Env.Masker.Apply(result.StdErr.Trim())}");
            }
            else
            {
                log.Info(host.Name, $"could not check its login to {peer.Name} with {file} (not a password problem): {Run.Env.Masker.Apply(result.StdErr.Trim())}");
            }
        }

        return $"{standby.Name} streams from {primary.Name} on a new connection with the new password ({reconnected.TotalMilliseconds:0} ms after its walsender was terminated)";
    }

    private async Task<string> MonitoringAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var (primary, standby) = await Run.RolesAsync(ct);
        await RoleHoldsNewAsync(primary, Cluster.Postgres.MonitorUser, ct);
        var target = Run.Env.ProbeTarget with { Secrets = Run.Env.Secrets with { MonitorPassword = Run.New } };
        foreach (var (host, role) in new[] { (primary, NodeRole.Primary), (standby, NodeRole.Standby) })
        {
            var cs = NodeConnections.Monitor(Cluster, host.Node.Address, Run.New, "pghaconsole-rotate", timeout: 5, commandTimeout: 5);
            try
            {
                await using var conn = new NpgsqlConnection(cs.ConnectionString);
                await conn.OpenAsync(ct);
            }
            catch (NpgsqlException ex)
            {
                throw new StepFailedException($"{host.Name}: the console cannot log in as {Cluster.Postgres.MonitorUser} with the new password: {Run.Env.Masker.Apply(ex.Message)}", ex);
            }

            var observed = await Run.Env.Prober.ProbeAsync(target, host.Node, ct);
            if (observed.Role != role)
            {
                throw new StepFailedException($"{host.Name}: the console's probe with the new password sees {observed.Role.ToString().ToLowerInvariant()}, not the {role.ToString().ToLowerInvariant()}: {Run.Env.Masker.Apply(string.Join("; ", observed.Errors))}");
            }

            log.Info(host.Name, $"the console logs in as {Cluster.Postgres.MonitorUser} with the new password, and its probe sees the {role.ToString().ToLowerInvariant()}");
        }

        return "the console's probe logs in with the new password on both nodes";
    }

    private async Task<string> VrrpAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        var (primary, _) = await Run.RolesAsync(ct);
        var actions = new PairActions(Run.Env);
        var hosts = Run.Env.Hosts.ToList();

        async Task<IReadOnlyList<string>> SampleAsync()
        {
            var samples = await Task.WhenAll(hosts.Select(async h =>
            {
                var (w, r) = await actions.VipsOnAsync(h, ct);
                return new VipSample(h.Name, w, r);
            }));
            return VrrpObservation.Problems(samples, primary.Name, Cluster.WriteVip, Cluster.ReadVip);
        }

        // Both peers must accept each other's adverts again: watched for longer than the master-down interval, so a
        // backup that ignores its master (a different auth_pass) would have taken the VIPs within it.
        var clock = Stopwatch.StartNew();
        var samplesTaken = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(VrrpObservation.Seconds))
        {
            var problems = await SampleAsync();
            samplesTaken++;
            if (problems.Count > 0)
            {
                throw new StepFailedException($"{clock.Elapsed.TotalSeconds:0.0} s after the reloads: {string.Join("; ", problems)}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), Run.Env.Time, ct);
        }

        // The console's own probe (the topology page's) must agree.
        var observed = await Task.WhenAll(hosts.Select(h => Run.Env.Prober.ProbeAsync(Run.Env.ProbeTarget, h.Node, ct)));
        var probeProblems = VrrpObservation.Problems([.. observed.Select(o => new VipSample(o.Name, o.HoldsWriteVip, o.HoldsReadVip))], primary.Name, Cluster.WriteVip, Cluster.ReadVip);
        if (probeProblems.Count > 0)
        {
            throw new StepFailedException("the console's probe disagrees: " + string.Join("; ", probeProblems) + ".");
        }

        var summary = $"one holder per VIP in all {samplesTaken.ToString(CultureInfo.InvariantCulture)} looks over {VrrpObservation.Seconds.ToString(CultureInfo.InvariantCulture)} s after the reloads (write VIP on {primary.Name}, read VIP on {observed.First(o => o.HoldsReadVip).Name}); the console's probe agrees";
        log.Info(null, summary);
        return summary;
    }
}

/// <summary>Step 5: the new secret becomes the console's (the old one is forgotten); the pair as a client sees it.</summary>
public sealed class RotateCommitStep(RotateRun run) : RotateStep(run)
{
    private string? _verified;

    public override string Name => "commit";

    public override string Description => "The new secret becomes the console's (the old one is forgotten); then the pair as a client and the console's probe see it";

    public override Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("committed and verified at the end of every run"));

    public override async Task RunAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        if (Run.Pending is not null)
        {
            // Described while the store still tells the old from the new.
            log.Info(null, "where the secret is, before the store takes the new one: " + await RotatePlaces.DescribeAsync(Run, ct));
            await Run.Env.StoreSecretsAsync(Run.Committed(), ct);
            log.Info(null, $"the console's store holds the new {Run.SecretName} secret (encrypted); the old one and the pending copy are gone");
            if (Run.Secret == RotatableSecret.Monitoring && Run.RoleChanged is { } changed)
            {
                log.Info(null, $"monitoring window: for {changed.Elapsed.TotalMilliseconds:0} ms after ALTER ROLE the console's store still had the old password: a probe opening a new connection in that span was refused (open ones stayed logged in)");
            }
        }

        var (primary, standby) = await Run.RolesAsync(ct);
        _verified = await ClientCheck.VerifyAsync(Run.Env, [new(primary, NodeRole.Primary), new(standby, NodeRole.Standby, primary)], log, ct);
    }

    public override Task<StepVerification> VerifyAsync(IOperationContext context) =>
        Task.FromResult(_verified is { } v ? StepVerification.Passed(v) : StepVerification.Failed("not verified"));
}
