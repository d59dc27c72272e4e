using System.Globalization;
using PgHaConsole.Core.Boot;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 2: open PostgreSQL's port and VRRP (IP protocol 112, from the peer) where a firewall is active. iptables
/// rules are checked with <c>-C</c> before they are inserted (idempotent) and carry a comment naming the console;
/// firewalld gets permanent rules and a reload. A host without an active firewall is left alone. iptables rules do not
/// survive a reboot: they are restored at boot by a console-owned script (<see cref="HostBootRenderer.RenderFirewallScript"/>),
/// run by a systemd unit or a boot.d entry.
/// </summary>
public sealed class FirewallStep(SetupRun run) : SetupStep(run)
{
    public override string Name => "firewall";

    public override string Description => "Open PostgreSQL's port and VRRP (protocol 112) where a firewall is active";

    private enum FirewallKind
    {
        None,
        Iptables,
        Firewalld,
    }

    /// <param name="BootFiles">iptables only: the files that restore the rules at boot, with their current content.</param>
    /// <param name="BootEnabled">systemd hosts: the firewall unit is enabled (elsewhere the boot entry is one of <paramref name="BootFiles"/>).</param>
    private sealed record HostFirewall(NodeHost Host, FirewallKind Kind, string Detail, IReadOnlyList<IReadOnlyList<string>> MissingRules,
        IReadOnlyList<(string Path, string Content, string Mode, string? Current)> BootFiles, bool BootEnabled)
    {
        public bool BootOk => BootEnabled && BootFiles.All(f => f.Content == f.Current);
    }

    private bool Systemd => Cluster.Postgres.ServiceControl == ServiceControl.Systemd;

    private async Task<(IReadOnlyList<(string, string, string, string?)> Files, bool Enabled)> BootStateAsync(NodeHost host, CancellationToken ct)
    {
        var wanted = new List<(string Path, string Content, string Mode)> { (HostBootRenderer.FirewallScriptPath, HostBootRenderer.RenderFirewallScript(Rules(host)), "0755") };
        wanted.Add(Systemd
            ? (HostBootRenderer.FirewallUnitPath, HostBootRenderer.RenderFirewallUnit(Cluster), "0644")
            : (HostBootRenderer.FirewallEntry, HostBootRenderer.RenderFirewallEntry(), "0755"));
        var files = new List<(string, string, string, string?)>();
        foreach (var (path, content, mode) in wanted)
        {
            files.Add((path, content, mode, await host.ReadTextAsync(path, ct)));
        }

        var enabled = !Systemd || (await host.RunAsync(RemoteCommand.Exec("systemctl", "is-enabled", "--quiet", HostBootRenderer.FirewallUnitName), null, ct)).Succeeded;
        return (files, enabled);
    }

    private IReadOnlyList<IReadOnlyList<string>> Rules(NodeHost host)
    {
        var peer = Cluster.Peer(host.Node).Address;
        var port = Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture);
        return
        [
            ["INPUT", "-p", "tcp", "--dport", port, "-m", "comment", "--comment", "pghaconsole postgresql", "-j", "ACCEPT"],
            ["INPUT", "-p", "vrrp", "-s", peer, "-m", "comment", "--comment", "pghaconsole vrrp", "-j", "ACCEPT"],
        ];
    }

    private async Task<HostFirewall> InspectAsync(NodeHost host, CancellationToken ct)
    {
        var firewalld = await host.RunAsync(RemoteCommand.BashScript("command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state 2>/dev/null"), null, ct);
        if (firewalld.Succeeded && firewalld.StdOut.Trim() == "running")
        {
            var have = await host.RunAsync(RemoteCommand.BashScript(
                "firewall-cmd --query-port=\"$1/tcp\" >/dev/null && firewall-cmd --query-protocol=vrrp >/dev/null",
                Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)), null, ct);
            return new(host, FirewallKind.Firewalld, "firewalld is running", have.Succeeded ? [] : [["firewalld"]], [], true);
        }

        var rules = await host.RunAsync(RemoteCommand.BashScript("command -v iptables >/dev/null 2>&1 || exit 3; iptables -S INPUT"), null, ct);
        if (rules.ExitCode == 3 || !rules.Succeeded)
        {
            return new(host, FirewallKind.None, "no iptables and no firewalld: no firewall to open", [], [], true);
        }

        var lines = rules.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var active = lines.Any(l => l is "-P INPUT DROP" or "-P INPUT REJECT" || l.Contains("-j DROP", StringComparison.Ordinal) || l.Contains("-j REJECT", StringComparison.Ordinal));
        if (!active)
        {
            return new(host, FirewallKind.None, "iptables INPUT accepts everything (no firewall active): nothing to open", [], [], true);
        }

        var missing = new List<IReadOnlyList<string>>();
        foreach (var rule in Rules(host))
        {
            var check = await host.RunAsync(RemoteCommand.Exec("iptables", ["-C", .. rule]), null, ct);
            if (!check.Succeeded)
            {
                missing.Add(rule);
            }
        }

        var (bootFiles, enabled) = await BootStateAsync(host, ct);
        return new(host, FirewallKind.Iptables, "iptables INPUT filters traffic", missing, bootFiles, enabled);
    }

    private IEnumerable<RemoteCommand> Commands(HostFirewall fw)
    {
        if (fw.Kind == FirewallKind.Firewalld)
        {
            var port = Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture) + "/tcp";
            yield return RemoteCommand.Exec("firewall-cmd", "--permanent", "--add-port=" + port);
            yield return RemoteCommand.Exec("firewall-cmd", "--permanent", "--add-protocol=vrrp");
            yield return RemoteCommand.Exec("firewall-cmd", "--reload");
            yield break;
        }

        foreach (var rule in fw.MissingRules)
        {
            // -I INPUT 1: before any DROP/REJECT already in the chain.
            yield return RemoteCommand.Exec("iptables", ["-I", rule[0], "1", .. rule.Skip(1)]);
        }
    }

    public override async Task<StepPlan> PlanAsync(IOperationContext context)
    {
        var actions = new List<PlannedAction>();
        foreach (var host in Run.Env.Hosts)
        {
            var fw = await InspectAsync(host, context.CancellationToken);
            var commands = Commands(fw).ToList();
            if (commands.Count == 0)
            {
                actions.Add(Run.Note(host.Name, fw.Detail + (fw.Kind == FirewallKind.None ? "" : "; the rules are already there")));
            }

            actions.AddRange(commands.Select(c => Run.Command(host, c)));
            actions.AddRange(fw.BootFiles.Select(f => Run.FileChange(host, f.Path, f.Current, f.Content, "restores the rules at boot (iptables rules do not survive one)")));
            if (fw.Kind == FirewallKind.Iptables && Systemd)
            {
                actions.Add(Run.Command(host, RemoteCommand.Exec("systemctl", "enable", HostBootRenderer.FirewallUnitName)));
            }
        }

        return new StepPlan(actions);
    }

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        var all = await Task.WhenAll(Run.Env.Hosts.Select(h => InspectAsync(h, context.CancellationToken)));
        foreach (var fw in all)
        {
            context.Log(Name, fw.Host.Name, LogStream.Info, fw.Detail);
        }

        var todo = all.Where(f => f.MissingRules.Count > 0 || !f.BootOk).ToList();
        return todo.Count == 0
            ? StepCheck.Done(string.Join("; ", all.Select(f => $"{f.Host.Name}: {(f.Kind == FirewallKind.None ? "no active firewall" : "PostgreSQL and VRRP already open")}")))
            : StepCheck.NotDone(string.Join("; ", todo.Select(f => $"{f.Host.Name}: {f.MissingRules.Count.ToString(CultureInfo.InvariantCulture)} opening(s) missing{(f.BootOk ? "" : ", not restored at boot")}")));
    }

    protected override async Task ExecuteAsync(IOperationContext context)
    {
        foreach (var host in Run.Env.Hosts)
        {
            var fw = await InspectAsync(host, context.CancellationToken);
            foreach (var command in Commands(fw))
            {
                await host.RunCheckedAsync("Opening the firewall", command, Log(context), context.CancellationToken);
            }

            if (fw.BootOk)
            {
                continue;
            }

            var bootDir = Systemd ? "/etc/systemd/system" : HostBootRenderer.BootDirectory;
            await host.RunCheckedAsync("Creating " + bootDir, RemoteCommand.Exec("install", "-d", "-m", "0755", "--", bootDir, "/usr/local/sbin"), null, context.CancellationToken);
            foreach (var f in fw.BootFiles.Where(f => f.Content != f.Current))
            {
                await host.WriteTextAsync(f.Path, f.Content, f.Mode, "root:root", Log(context), context.CancellationToken);
            }

            if (Systemd)
            {
                await host.RunCheckedAsync("Reloading systemd", RemoteCommand.Exec("systemctl", "daemon-reload"), Log(context), context.CancellationToken);
                await host.RunCheckedAsync("Enabling the firewall unit", RemoteCommand.Exec("systemctl", "enable", HostBootRenderer.FirewallUnitName), Log(context), context.CancellationToken);
            }
        }
    }

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var all = await Task.WhenAll(Run.Env.Hosts.Select(h => InspectAsync(h, context.CancellationToken)));
        var left = all.Where(f => f.MissingRules.Count > 0 || !f.BootOk).ToList();
        return left.Count == 0
            ? StepVerification.Passed("PostgreSQL and VRRP are open on every host with an active firewall")
            : StepVerification.Failed("still closed on " + string.Join(", ", left.Select(f => f.Host.Name)));
    }
}
