using System.Globalization;
using System.Text.Json;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Core.Shell;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>One preflight finding. <paramref name="Blocking"/> findings that fail stop the wizard.</summary>
public sealed record PreflightFinding(string Host, string Check, bool Ok, string Detail, bool Blocking = true);

/// <summary>
/// Step 1: read-only checks of both hosts before anything changes. Its check runs them all; when they pass there is
/// nothing to do. When keepalived/HAProxy are missing and the operator allowed it, the run installs them.
/// </summary>
public sealed class PreflightStep(SetupRun run) : SetupStep(run)
{
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(2);

    public const string StepName = "preflight";

    public override string Name => StepName;

    public override string Description => "SSH and privileges, PostgreSQL version and paths, disk, clocks, reachability, interface, VIPs free, IPVS, keepalived/HAProxy installed";

    public override Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var actions = Run.Env.Hosts.Select(h => Run.Note(h.Name, "read-only checks: id -u; postgres --version; ip -j addr; df; date; /dev/tcp probes; ipvsadm -Ln; command -v keepalived haproxy")).ToList();
        if (Run.Parameters.InstallPackages)
        {
            actions.AddRange(Run.Env.Hosts.Select(h => Run.Command(h, InstallCommand(), "only if keepalived or HAProxy is missing")));
        }

        return Task.FromResult(new StepPlan(actions));
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var findings = await CheckAllAsync(context);
        Report(context, findings);
        var failed = findings.Where(f => f.Blocking && !f.Ok).ToList();
        return failed.Count == 0
            ? StepCheck.Done($"all {findings.Count.ToString(CultureInfo.InvariantCulture)} preflight checks passed (read-only step, nothing to change)")
            : StepCheck.NotDone($"{failed.Count.ToString(CultureInfo.InvariantCulture)} check(s) failed: " + string.Join("; ", failed.Select(f => $"{f.Host}: {f.Detail}")));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var findings = await CheckAllAsync(context);
        var missing = findings.Where(f => !f.Ok && f.Check == "packages").ToList();
        if (missing.Count > 0 && Run.Parameters.InstallPackages)
        {
            foreach (var host in Run.Env.Hosts.Where(h => missing.Any(m => m.Host == h.Name)))
            {
                await host.RunCheckedAsync("Installing keepalived and HAProxy", InstallCommand(), Log(context), ct, TimeSpan.FromMinutes(10));
            }

            findings = await CheckAllAsync(context);
        }

        var failed = findings.Where(f => f.Blocking && !f.Ok).ToList();
        if (failed.Count > 0)
        {
            throw new StepFailedException("Preflight failed: " + string.Join("; ", failed.Select(f => $"{f.Host}: {f.Detail}"))
                + (failed.Any(f => f.Check == "packages") && !Run.Parameters.InstallPackages ? " (start the wizard with 'install packages' to install them from the distribution)" : ""));
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var findings = await CheckAllAsync(context);
        var failed = findings.Where(f => f.Blocking && !f.Ok).ToList();
        return failed.Count == 0
            ? StepVerification.Passed($"all {findings.Count.ToString(CultureInfo.InvariantCulture)} checks pass")
            : StepVerification.Failed(string.Join("; ", failed.Select(f => $"{f.Host}: {f.Detail}")));
    }

    private static RemoteCommand InstallCommand() =>
        RemoteCommand.Exec("apt-get", "install", "-y", "--no-install-recommends", "keepalived", "haproxy")
            .WithEnvironment("DEBIAN_FRONTEND", "noninteractive");

    private void Report(IOperationContext context, IEnumerable<PreflightFinding> findings)
    {
        foreach (var f in findings)
        {
            var mark = f.Ok ? "ok  " : f.Blocking ? "FAIL" : "warn";
            context.Log(Name, f.Host, LogStream.Info, $"[{mark}] {f.Check}: {f.Detail}");
        }
    }

    /// <summary>Every check, on both hosts; never throws for a failed check (it becomes a finding).</summary>
    public async Task<IReadOnlyList<PreflightFinding>> CheckAllAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var findings = new List<PreflightFinding>();
        var hosts = Run.Env.Hosts.ToList();

        // SSH and privilege first: without them nothing else can be asked.
        var reachable = new List<NodeHost>();
        foreach (var host in hosts)
        {
            try
            {
                var id = await host.RunAsync(RemoteCommand.Exec("id", "-u"), null, ct);
                var root = id.Succeeded && id.StdOut.Trim() == "0";
                findings.Add(new(host.Name, "ssh", root,
                    root ? $"SSH as {host.Node.SshUser}, commands run as root{(host.Node.Privilege == PrivilegeMode.Sudo ? " through sudo -n" : "")}"
                         : $"SSH works but commands do not run as root ({(host.Node.Privilege == PrivilegeMode.Sudo ? "sudo -n refused" : "not root")}): {id.StdErr.Trim()}"));
                if (root)
                {
                    reachable.Add(host);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                findings.Add(new(host.Name, "ssh", false, "cannot connect: " + Run.Env.Masker.Apply(ex.Message)));
            }
        }

        if (reachable.Count < hosts.Count)
        {
            return findings;
        }

        var states = await Task.WhenAll(hosts.Select(h => h.GetPgStateAsync(ct)));
        var stateOf = hosts.Zip(states).ToDictionary(p => p.First, p => p.Second);
        (NodeHost Primary, NodeHost Standby)? roles = null;
        try
        {
            roles = await Run.RolesAsync(ct);
            findings.Add(new(roles.Value.Primary.Name, "primary", true, $"PostgreSQL runs as the primary; {roles.Value.Standby.Name}: {stateOf[roles.Value.Standby].Describe()}"));
        }
        catch (StepFailedException ex)
        {
            findings.Add(new("cluster", "primary", false, ex.Message));
        }

        foreach (var host in hosts)
        {
            findings.Add(await PostgresVersionAsync(host, ct));
            findings.Add(await InterfaceAsync(host, ct));
            findings.AddRange(await ToolsAsync(host, ct));
        }

        findings.Add(await ClocksAsync(hosts, ct));
        if (roles is { } r)
        {
            findings.Add(await DiskAsync(r.Primary, r.Standby, stateOf[r.Standby], ct));
            findings.Add(await TcpAsync(r.Standby, r.Primary.Node.Address, Cluster.Postgres.Port, "PostgreSQL port of " + r.Primary.Name, ct));
            findings.Add(await TcpAsync(r.Primary, r.Standby.Node.Address, r.Standby.Node.SshPort, "SSH port of " + r.Standby.Name + " (same network)", ct));
            findings.Add(SameSubnet());
            findings.Add(await VipFreeAsync(hosts, r.Primary, Cluster.WriteVip, "write VIP", ct));
            findings.Add(await VipFreeAsync(hosts, r.Primary, Cluster.ReadVip, "read VIP", ct));
        }

        return findings;
    }

    private async Task<PreflightFinding> PostgresVersionAsync(NodeHost host, CancellationToken ct)
    {
        var result = await host.RunAsync(RemoteCommand.Exec(host.Bin("postgres"), "--version"), null, ct);
        if (!result.Succeeded)
        {
            return new(host.Name, "postgresql", false, $"{host.Bin("postgres")} not found: install PostgreSQL {Cluster.Postgres.MajorVersion.ToString(CultureInfo.InvariantCulture)} or correct the binary directory");
        }

        // "postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
        var words = result.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var version = words.Length >= 3 ? words[2] : result.StdOut.Trim();
        var major = int.TryParse(version.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : 0;
        var ok = major == Cluster.Postgres.MajorVersion;
        return new(host.Name, "postgresql", ok, ok
            ? $"PostgreSQL {version} in {Cluster.Postgres.BinDir}, data directory {Cluster.Postgres.DataDir}"
            : $"PostgreSQL {version} found, but the cluster is configured for {Cluster.Postgres.MajorVersion.ToString(CultureInfo.InvariantCulture)}");
    }

    private async Task<PreflightFinding> InterfaceAsync(NodeHost host, CancellationToken ct)
    {
        var interfaces = await host.InterfacesAsync(ct);
        var iface = interfaces.FirstOrDefault(i => i.Name == Cluster.Vrrp.Interface);
        if (iface is null)
        {
            return new(host.Name, "interface", false, $"interface {Cluster.Vrrp.Interface} does not exist (has: {string.Join(", ", interfaces.Select(i => i.Name))})");
        }

        var hasAddress = IpAddrParser.HoldsAddress([iface], host.Node.Address);
        return new(host.Name, "interface", hasAddress, hasAddress
            ? $"{Cluster.Vrrp.Interface} is up with {host.Node.Address}"
            : $"{Cluster.Vrrp.Interface} exists but does not carry {host.Node.Address}");
    }

    private async Task<IReadOnlyList<PreflightFinding>> ToolsAsync(NodeHost host, CancellationToken ct)
    {
        const string script = """
            for p in keepalived haproxy ipvsadm iptables; do
              if command -v "$p" >/dev/null 2>&1; then echo "$p=yes"; else echo "$p=no"; fi
            done
            if command -v ipvsadm >/dev/null 2>&1; then
              if out=$(ipvsadm -Ln 2>&1); then echo "ipvs=yes"; else echo "ipvs=no ${out//$'\n'/ }"; fi
            else echo "ipvs=no ipvsadm is not installed"; fi
            """;
        var result = await host.RunAsync(RemoteCommand.BashScript(script), null, ct);
        var kv = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1]);
        var list = new List<PreflightFinding>();
        var needHaproxy = Cluster.Balancer == BalancerMode.Haproxy;
        var missing = new List<string>();
        if (kv.GetValueOrDefault("keepalived") != "yes")
        {
            missing.Add("keepalived");
        }

        if (needHaproxy && kv.GetValueOrDefault("haproxy") != "yes")
        {
            missing.Add("haproxy");
        }

        list.Add(new(host.Name, "packages", missing.Count == 0, missing.Count == 0
            ? "keepalived" + (needHaproxy ? " and HAProxy" : "") + " installed"
            : string.Join(" and ", missing) + " not installed"));

        var ipvs = kv.GetValueOrDefault("ipvs") ?? "no";
        var ipvsOk = ipvs == "yes";
        if (Cluster.Balancer == BalancerMode.LvsDr)
        {
            list.Add(new(host.Name, "ipvs", ipvsOk, ipvsOk ? "IPVS available"
                : "IPVS is not available (" + ipvs[2..].Trim() + "): LVS-DR cannot work here; choose HAProxy as the read balancer in the cluster's settings"));
        }
        else
        {
            list.Add(new(host.Name, "ipvs", true, ipvsOk ? "IPVS available (HAProxy chosen)" : "IPVS not available: HAProxy balances the read VIP", Blocking: false));
        }

        return list;
    }

    private async Task<PreflightFinding> ClocksAsync(IReadOnlyList<NodeHost> hosts, CancellationToken ct)
    {
        var skews = new List<string>();
        var worst = TimeSpan.Zero;
        foreach (var host in hosts)
        {
            // The remote clock is read between two local readings; a slow round trip (a loaded console, a new SSH
            // channel) blurs that window. A sample within the limit settles it; otherwise, of up to three samples,
            // the one with the shortest round trip counts.
            var skew = TimeSpan.Zero;
            var bestRoundTrip = TimeSpan.MaxValue;
            for (var sample = 0; sample < 3 && (sample == 0 || skew.Duration() > MaxClockSkew); sample++)
            {
                var before = Run.Env.Time.GetUtcNow();
                var result = await host.RunAsync(RemoteCommand.Exec("date", "+%s.%N"), null, ct);
                var after = Run.Env.Time.GetUtcNow();
                if (!result.Succeeded || !decimal.TryParse(result.StdOut.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var secs))
                {
                    return new("cluster", "clocks", false, $"cannot read the clock of {host.Name}");
                }

                var remote = DateTimeOffset.UnixEpoch.AddTicks((long)(secs * TimeSpan.TicksPerSecond));
                if (after - before < bestRoundTrip)
                {
                    bestRoundTrip = after - before;
                    skew = remote - (before + ((after - before) / 2));
                }
            }

            worst = skew.Duration() > worst ? skew.Duration() : worst;
            skews.Add($"{host.Name} {skew.TotalMilliseconds.ToString("+0;-0", CultureInfo.InvariantCulture)} ms");
        }

        return new("cluster", "clocks", worst <= MaxClockSkew,
            (worst <= MaxClockSkew ? "in sync with the console: " : "out of sync (lag in seconds and logs would mislead): ") + string.Join(", ", skews));
    }

    private async Task<PreflightFinding> DiskAsync(NodeHost primary, NodeHost standby, PgState standbyState, CancellationToken ct)
    {
        var size = await primary.RunAsync(RemoteCommand.Exec("du", "-sb", "--", Cluster.Postgres.DataDir), null, ct);
        const string availScript = "d=$1; while [ ! -e \"$d\" ]; do d=$(dirname -- \"$d\"); done; df -B1 --output=avail -- \"$d\" | tail -n 1";
        var avail = await standby.RunAsync(RemoteCommand.BashScript(availScript, Cluster.Postgres.DataDir), null, ct);
        if (!long.TryParse(size.StdOut.Split('\t', ' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var need)
            || !long.TryParse(avail.StdOut.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var free))
        {
            return new(standby.Name, "disk", false, "cannot measure the data directory or the free space");
        }

        // A clone already there is replaced in place; otherwise the base backup needs the primary's size and headroom.
        var required = (long)(need * 1.2);
        var ok = free >= required || standbyState.DataDir == DataDirState.PgData;
        return new(standby.Name, "disk", ok,
            $"{Mb(free)} free for a base backup of {Mb(need)} from {primary.Name}{(ok ? "" : $" (needs {Mb(required)})")}");
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.#", CultureInfo.InvariantCulture) + " MB";

    private static async Task<PreflightFinding> TcpAsync(NodeHost from, string address, int port, string what, CancellationToken ct)
    {
        var result = await from.RunAsync(RemoteCommand.BashScript("exec 3<>\"/dev/tcp/$1/$2\"", address, port.ToString(CultureInfo.InvariantCulture)), null, ct, TimeSpan.FromSeconds(4));
        return new(from.Name, "reach", result.Succeeded,
            result.Succeeded ? $"reaches the {what} at {address}:{port.ToString(CultureInfo.InvariantCulture)}"
                : $"cannot reach the {what} at {address}:{port.ToString(CultureInfo.InvariantCulture)}{(result.TimedOut ? " (timed out: a firewall drops it?)" : "")}");
    }

    private PreflightFinding SameSubnet()
    {
        // VRRP (IP protocol 112) advertisements are multicast on the link: both nodes and the VIPs must share it.
        var prefix = Cluster.VipPrefixLength;
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        bool Net(string a, out uint n)
        {
            var ok = ClusterValidator.TryParseIpv4(a, out var v);
            n = v & mask;
            return ok;
        }

        var ok = Net(Cluster.Node1.Address, out var n1) && Net(Cluster.Node2.Address, out var n2) && Net(Cluster.WriteVip, out var w) && Net(Cluster.ReadVip, out var r)
            && n1 == n2 && n1 == w && n1 == r;
        return new("cluster", "vrrp", ok, ok
            ? $"both nodes and both VIPs on one /{prefix.ToString(CultureInfo.InvariantCulture)} network: VRRP (protocol 112) multicast reaches the peer unless a firewall drops it (step 2 opens it where one is active)"
            : $"the nodes and VIPs are not on one /{prefix.ToString(CultureInfo.InvariantCulture)} network: VRRP cannot work");
    }

    private async Task<PreflightFinding> VipFreeAsync(IReadOnlyList<NodeHost> hosts, NodeHost probeFrom, string vip, string what, CancellationToken ct)
    {
        foreach (var host in hosts)
        {
            if (IpAddrParser.HoldsAddress(await host.InterfacesAsync(ct), vip))
            {
                return new(host.Name, "vip", true, $"{what} {vip} is held by {host.Name} (set up by an earlier run)");
            }
        }

        // Nobody of ours holds it: does anything on the link answer ARP for it? Touch it, then read the neighbour table.
        const string script = """
            (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
            sleep 0.3
            ip -j neigh show to "$1"
            """;
        var result = await probeFrom.RunAsync(RemoteCommand.BashScript(script, vip, Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)), null, ct, TimeSpan.FromSeconds(6));
        var answered = false;
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrWhiteSpace(result.StdOut) ? "[]" : result.StdOut);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                if (entry.TryGetProperty("lladdr", out _))
                {
                    answered = true;
                }
            }
        }
        catch (JsonException)
        {
            return new(probeFrom.Name, "vip", false, $"cannot tell whether something answers on the {what} {vip}");
        }

        return new(probeFrom.Name, "vip", !answered, answered
            ? $"something already answers on the {what} {vip} (it has a MAC address on the link): choose a free address"
            : $"nothing answers on the {what} {vip}");
    }
}
