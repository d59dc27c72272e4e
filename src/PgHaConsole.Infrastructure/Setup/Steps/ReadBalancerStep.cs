using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using PgHaConsole.Core.Boot;
using PgHaConsole.Core.Haproxy;
using PgHaConsole.Core.Keepalived;
using PgHaConsole.Core.Lvs;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 10: the read VIP balanced over both nodes. HAProxy mode: HAProxy on both hosts (writes to the local primary,
/// reads round robin), allowed to bind the VIPs where keepalived is BACKUP through ip_nonlocal_bind; PostgreSQL
/// listens on the node's address and localhost only (step 5), so the VIP's port is free for HAProxy. LVS-DR mode (the
/// runbook): keepalived's virtual servers (step 9), the mangle marks with the peer's MAC discovered over SSH, and the
/// real-server loopback VIPs with arp_ignore/arp_announce; refused plainly where the kernel has no IPVS. Either is
/// enabled at boot: <c>systemctl enable</c> (HAProxy, the real-server unit) on systemd hosts, an entry of
/// <see cref="HostBootRenderer.BootDirectory"/> elsewhere; the non-local binds HAProxy needs persist in /etc/sysctl.d.
/// </summary>
public sealed class ReadBalancerStep(SetupRun run) : SetupStep(run)
{
    public const string HaproxyPidFile = "/run/haproxy.pid";
    private static readonly HaproxyOptions Haproxy = new();

    /// <summary>How long the balancer may take to answer: 15 s, plus three real-server check rounds at the pair's pace.</summary>
    private TimeSpan PortWait => TimeSpan.FromSeconds(15 + (3 * KeepalivedConfigRenderer.CheckInterval(Cluster.Vrrp)));

    public override string Name => "read-balancer";

    public override string Description => "Read balancing: HAProxy on both hosts, or LVS-DR (fwmark, mangle rules, real-server loopback VIPs)";

    private string Port => Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture);

    private string Endpoints => Cluster.Balancer == BalancerMode.Haproxy
        ? $"writes → {Cluster.WriteVip}:{Port} (HAProxy → the local primary), reads → {Cluster.ReadVip}:{Port} (HAProxy round robin over {string.Join(", ", Cluster.Nodes.Select(n => $"{n.Name} {n.Address}:{Port}"))}); PostgreSQL itself listens on each node's address and localhost"
        : $"writes → {Cluster.WriteVip}:{Port} (LVS-DR to the primary), reads → {Cluster.ReadVip}:{Port} (LVS-DR fwmark round robin over both nodes, each checked with SELECT 1); PostgreSQL listens on * so it accepts the packets DR delivers to the VIPs on lo";

    // ---------------- HAProxy ----------------

    private bool Systemd => Cluster.Postgres.ServiceControl == ServiceControl.Systemd;

    private static readonly string HaproxyBootEntry = HostBootRenderer.RenderHaproxyEntry(Haproxy.ConfigFile, HaproxyPidFile);

    private static readonly string RealServerBootEntry = HostBootRenderer.RenderRealServerEntry();

    /// <param name="BootEntry">The boot directory's HAProxy entry (hosts without systemd), or whether HAProxy is enabled (systemd: "enabled").</param>
    private sealed record HaState(NodeHost Host, string? Config, string? Sysctl, bool Running, string NonLocalBind, string? BootEntry);

    private async Task<string?> HaproxyBootAsync(NodeHost host, CancellationToken ct) => Systemd
        ? (await host.RunAsync(RemoteCommand.Exec("systemctl", "is-enabled", "--quiet", "haproxy"), null, ct)).Succeeded ? "enabled" : null
        : await host.ReadTextAsync(HostBootRenderer.HaproxyEntry, ct);

    private string DesiredHaproxyBoot => Systemd ? "enabled" : HaproxyBootEntry;

    private async Task<List<HaState>> InspectHaproxyAsync(CancellationToken ct)
    {
        var list = new List<HaState>();
        foreach (var host in Run.Env.Hosts)
        {
            var nonlocal = (await host.RunAsync(RemoteCommand.Exec("sysctl", "-n", "net.ipv4.ip_nonlocal_bind"), null, ct)).StdOut.Trim();
            list.Add(new HaState(host, await host.ReadTextAsync(Haproxy.ConfigFile, ct), await host.ReadTextAsync(HaproxyConfigRenderer.SysctlFile, ct),
                await host.DaemonPidAsync(HaproxyPidFile, "haproxy", ct) is not null, nonlocal, await HaproxyBootAsync(host, ct)));
        }

        return list;
    }

    private bool HaproxyOk(HaState s) =>
        s.Config == HaproxyConfigRenderer.Render(Cluster, s.Host.Node, Haproxy) && s.Sysctl == HaproxyConfigRenderer.SysctlContent && s.Running && s.NonLocalBind == "1"
        && s.BootEntry == DesiredHaproxyBoot;

    private async Task RunHaproxyAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        foreach (var s in await InspectHaproxyAsync(ct))
        {
            var host = s.Host;
            if (s.Sysctl != HaproxyConfigRenderer.SysctlContent)
            {
                await host.WriteTextAsync(HaproxyConfigRenderer.SysctlFile, HaproxyConfigRenderer.SysctlContent, "0644", "root:root", log, ct);
            }

            if (s.NonLocalBind != "1")
            {
                await host.RunCheckedAsync("Allowing non-local binds", RemoteCommand.Exec(HaproxyConfigRenderer.SysctlApplyArgs[0], HaproxyConfigRenderer.SysctlApplyArgs.Skip(1)), log, ct);
            }

            var desired = HaproxyConfigRenderer.Render(Cluster, host.Node, Haproxy);
            var changed = s.Config != desired;
            if (changed)
            {
                var candidate = Haproxy.ConfigFile + ".pghaconsole-new";
                await host.RunCheckedAsync("Creating HAProxy's directories", RemoteCommand.Exec("install", "-d", "-m", "0755", "--", "/etc/haproxy", "/run/haproxy"), null, ct);
                await host.WriteTextAsync(candidate, desired, "0644", "root:root", log, ct);
                var test = await host.RunAsync(RemoteCommand.Exec("haproxy", "-c", "-q", "-f", candidate), log, ct);
                if (!test.Succeeded)
                {
                    await host.RemoveFilesAsync([candidate], null, ct);
                    throw new StepFailedException($"haproxy -c rejected the generated configuration on {host.Name}: {test.StdErr.Trim()}");
                }

                if (s.Config is not null)
                {
                    await host.RunCheckedAsync("Keeping a copy of haproxy.cfg", RemoteCommand.Exec("cp", "-p", "--", Haproxy.ConfigFile, Haproxy.ConfigFile + ".pghaconsole-previous"), log, ct);
                }

                await host.RunCheckedAsync("Installing haproxy.cfg", RemoteCommand.Exec("mv", "-f", "--", candidate, Haproxy.ConfigFile), log, ct);
            }

            if (!Systemd && s.BootEntry != HaproxyBootEntry)
            {
                await WriteBootEntryAsync(host, HostBootRenderer.HaproxyEntry, HaproxyBootEntry, log, ct);
            }

            await StartHaproxyAsync(host, Cluster, s.Running, changed, log, ct);
        }
    }

    /// <summary>
    /// HAProxy running on <paramref name="host"/> with the installed configuration: enabled and started (systemd), or
    /// started as a daemon; reloaded where it runs and its configuration <paramref name="changed"/>. The keepalived step
    /// uses it too: the VIPs track HAProxy, so a HAProxy the console set up that died keeps them away until it runs.
    /// </summary>
    internal static async Task StartHaproxyAsync(NodeHost host, ClusterSpec cluster, bool running, bool changed, StepLog? log, CancellationToken ct)
    {
        if (cluster.Postgres.ServiceControl == ServiceControl.Systemd)
        {
            await host.RunCheckedAsync("Enabling HAProxy", RemoteCommand.Exec("systemctl", "enable", "--now", "haproxy"), log, ct);
            if (changed && running)
            {
                await host.RunCheckedAsync("Reloading HAProxy", RemoteCommand.Exec("systemctl", "reload", "haproxy"), log, ct);
            }
        }
        else if (!running || changed)
        {
            // -sf: a reload hands the listening sockets over to the new process and lets the old one finish its sessions.
            const string script = """
                set -eu
                cfg=$1; pidfile=$2
                mkdir -p /run/haproxy
                if [ -f "$pidfile" ] && old=$(head -n 1 -- "$pidfile") && [ "$(cat "/proc/$old/comm" 2>/dev/null)" = haproxy ]; then
                  haproxy -f "$cfg" -D -p "$pidfile" -sf "$old" </dev/null >/dev/null 2>&1
                else
                  haproxy -f "$cfg" -D -p "$pidfile" </dev/null >/dev/null 2>&1
                fi
                """;
            await host.RunCheckedAsync(running ? "Reloading HAProxy" : "Starting HAProxy", RemoteCommand.BashScript(script, Haproxy.ConfigFile, HaproxyPidFile), log, ct);
        }
    }

    private static async Task WriteBootEntryAsync(NodeHost host, string path, string content, StepLog log, CancellationToken ct)
    {
        await host.RunCheckedAsync("Creating " + HostBootRenderer.BootDirectory, RemoteCommand.Exec("install", "-d", "-m", "0755", "--", HostBootRenderer.BootDirectory), null, ct);
        await host.WriteTextAsync(path, content, "0755", "root:root", log, ct);
    }

    // ---------------- LVS-DR ----------------

    private async Task<string> PeerMacAsync(NodeHost host, CancellationToken ct)
    {
        var peer = Run.Env.Host(Cluster.Peer(host.Node));
        var result = await peer.RunCheckedAsync("Reading the peer's MAC address", RemoteCommand.Exec("ip", "-j", "link", "show", "dev", Cluster.Vrrp.Interface), null, ct);
        using var doc = JsonDocument.Parse(result.StdOut);
        var mac = doc.RootElement.EnumerateArray().Select(e => e.TryGetProperty("address", out var a) ? a.GetString() : null).FirstOrDefault(a => a is not null)
            ?? throw new StepFailedException($"{peer.Name} has no MAC address on {Cluster.Vrrp.Interface}.");
        return LvsRenderer.NormalizeMac(mac);
    }

    private async Task<List<string>> LvsProblemsAsync(CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var host in Run.Env.Hosts)
        {
            var ipvs = await host.RunAsync(RemoteCommand.Exec("ipvsadm", "-Ln"), null, ct);
            if (!ipvs.Succeeded)
            {
                throw new StepFailedException($"IPVS is not available on {host.Name} ({ipvs.StdErr.Trim()}): LVS-DR cannot work on this kernel. Choose HAProxy as the read balancer in the cluster's settings and run the wizard again.");
            }

            var mac = await PeerMacAsync(host, ct);
            if (await host.ReadTextAsync(LvsRenderer.RealServerScriptPath, ct) != LvsRenderer.RenderRealServerScript(Cluster, host.Node, mac))
            {
                problems.Add($"{host.Name}: real-server script missing or different");
            }
            else if (!(await host.RunAsync(RemoteCommand.Exec(LvsRenderer.RealServerScriptPath, "status"), null, ct)).Succeeded)
            {
                problems.Add($"{host.Name}: VIPs not on lo or the read-VIP mangle rule missing");
            }

            if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd
                && (await host.ReadTextAsync(LvsRenderer.RealServerUnitPath, ct) != LvsRenderer.RenderRealServerUnit(Cluster)
                    || !(await host.RunAsync(RemoteCommand.Exec("systemctl", "is-enabled", "--quiet", LvsRenderer.RealServerUnitName), null, ct)).Succeeded))
            {
                problems.Add($"{host.Name}: boot unit {LvsRenderer.RealServerUnitName} missing or not enabled");
            }

            if (!Systemd && await host.ReadTextAsync(HostBootRenderer.RealServerEntry, ct) != RealServerBootEntry)
            {
                problems.Add($"{host.Name}: boot entry {HostBootRenderer.RealServerEntry} missing or different");
            }
        }

        return problems;
    }

    private async Task RunLvsAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var log = Log(context);
        foreach (var host in Run.Env.Hosts)
        {
            var mac = await PeerMacAsync(host, ct);
            await host.WriteTextAsync(LvsRenderer.RealServerScriptPath, LvsRenderer.RenderRealServerScript(Cluster, host.Node, mac), "0755", "root:root", log, ct);
            await host.RunCheckedAsync("Binding the VIPs on lo, ARP settings, marking read-VIP packets", RemoteCommand.Exec(LvsRenderer.RealServerScriptPath, "start"), log, ct);
            if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
            {
                // Restored at every boot, before keepalived and PostgreSQL start.
                await host.WriteTextAsync(LvsRenderer.RealServerUnitPath, LvsRenderer.RenderRealServerUnit(Cluster), "0644", "root:root", log, ct);
                await host.RunCheckedAsync("Reloading systemd", RemoteCommand.Exec("systemctl", "daemon-reload"), log, ct);
                await host.RunCheckedAsync("Enabling the real-server unit", RemoteCommand.Exec("systemctl", "enable", LvsRenderer.RealServerUnitName), log, ct);
            }
            else
            {
                await WriteBootEntryAsync(host, HostBootRenderer.RealServerEntry, RealServerBootEntry, log, ct);
            }
        }
    }

    // ---------------- step ----------------

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var actions = new List<PlannedAction>();
        if (Cluster.Balancer == BalancerMode.Haproxy)
        {
            foreach (var s in await InspectHaproxyAsync(ct))
            {
                actions.Add(Run.FileChange(s.Host, HaproxyConfigRenderer.SysctlFile, s.Sysctl, HaproxyConfigRenderer.SysctlContent));
                actions.Add(Run.Command(s.Host, RemoteCommand.Exec(HaproxyConfigRenderer.SysctlApplyArgs[0], HaproxyConfigRenderer.SysctlApplyArgs.Skip(1))));
                actions.Add(Run.FileChange(s.Host, Haproxy.ConfigFile, s.Config, HaproxyConfigRenderer.Render(Cluster, s.Host.Node, Haproxy), "tested with haproxy -c before it is installed"));
                actions.Add(Run.Note(s.Host.Name, s.Running ? "reload HAProxy (-sf) if its configuration changed" : $"haproxy -f {Haproxy.ConfigFile} -D -p {HaproxyPidFile}"));
                actions.Add(Systemd
                    ? Run.Command(s.Host, RemoteCommand.Exec("systemctl", "enable", "--now", "haproxy"))
                    : Run.FileChange(s.Host, HostBootRenderer.HaproxyEntry, s.BootEntry, HaproxyBootEntry, "HAProxy at boot (the host's init runs " + HostBootRenderer.BootDirectory + ")"));
            }
        }
        else
        {
            foreach (var host in Run.Env.Hosts)
            {
                var mac = await PeerMacAsync(host, ct);
                actions.Add(Run.FileChange(host, LvsRenderer.RealServerScriptPath, await host.ReadTextAsync(LvsRenderer.RealServerScriptPath, ct), LvsRenderer.RenderRealServerScript(Cluster, host.Node, mac),
                    "VIPs on lo, arp_ignore/arp_announce, and iptables -t mangle PREROUTING (read VIP, not from the peer's MAC " + mac + ") -j MARK --set-mark " + LvsRenderer.FwMark(Cluster, host.Node).ToString(CultureInfo.InvariantCulture)));
                actions.Add(Run.Command(host, RemoteCommand.Exec(LvsRenderer.RealServerScriptPath, "start")));
                if (Cluster.Postgres.ServiceControl == ServiceControl.Systemd)
                {
                    actions.Add(Run.FileChange(host, LvsRenderer.RealServerUnitPath, await host.ReadTextAsync(LvsRenderer.RealServerUnitPath, ct), LvsRenderer.RenderRealServerUnit(Cluster), "restores the above at boot"));
                    actions.Add(Run.Command(host, RemoteCommand.Exec("systemctl", "enable", LvsRenderer.RealServerUnitName)));
                }
                else
                {
                    actions.Add(Run.FileChange(host, HostBootRenderer.RealServerEntry, await host.ReadTextAsync(HostBootRenderer.RealServerEntry, ct), RealServerBootEntry,
                        "restores the above at boot, before PostgreSQL and keepalived (the host's init runs " + HostBootRenderer.BootDirectory + ")"));
                }
            }
        }

        actions.Add(Run.Note("console", "endpoints: " + Endpoints));
        return new StepPlan(actions);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        List<string> problems;
        if (Cluster.Balancer == BalancerMode.Haproxy)
        {
            problems = [.. (await InspectHaproxyAsync(ct)).Where(s => !HaproxyOk(s)).Select(s => $"{s.Host.Name}: HAProxy {(s.Running ? "configuration differs" : "not running or not configured")}")];
        }
        else
        {
            problems = await LvsProblemsAsync(ct);
        }

        if (problems.Count == 0 && await PortsAnswerAsync(ct) is { Length: > 0 } closed)
        {
            problems.Add(closed);
        }

        return problems.Count == 0 ? StepCheck.Done("in place; endpoints: " + Endpoints) : StepCheck.NotDone(string.Join("; ", problems));
    }

    protected override Task ExecuteAsync(IOperationContext context) =>
        Cluster.Balancer == BalancerMode.Haproxy ? RunHaproxyAsync(context) : RunLvsAsync(context);

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var ct = context.CancellationToken;
        var check = await CheckAsync(context);
        var started = Run.Env.Time.GetTimestamp();
        while (!check.AlreadyDone && Run.Env.Time.GetElapsedTime(started) < PortWait)
        {
            // At the pair's pace: each look runs programs on the hosts, which keepalived's real-server checks need too.
            await Task.Delay(KeepalivedStep.VerifyPollInterval(Cluster.Vrrp), Run.Env.Time, ct);
            check = await CheckAsync(context);
        }

        Log(context).Info(null, "endpoints: " + Endpoints);
        return check.AlreadyDone ? StepVerification.Passed("endpoints answer: " + Endpoints) : StepVerification.Failed(check.Reason);
    }

    /// <summary>Empty when both VIP ports accept a TCP connection from the console; else which do not.</summary>
    private async Task<string> PortsAnswerAsync(CancellationToken ct)
    {
        var closed = new List<string>();
        foreach (var vip in new[] { Cluster.WriteVip, Cluster.ReadVip })
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await client.ConnectAsync(vip, Cluster.Postgres.Port, timeout.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                closed.Add($"{vip}:{Port} does not accept connections");
            }
        }

        return string.Join("; ", closed);
    }
}
