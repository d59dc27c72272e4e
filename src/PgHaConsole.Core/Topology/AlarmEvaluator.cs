using System.Globalization;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Topology;

/// <summary>
/// Reads a cluster picture and says what is wrong: each alarm with a one-line title, what it means and what to
/// do. Pure: the same picture always gives the same alarms, most severe first.
/// </summary>
public static class AlarmEvaluator
{
    public static IReadOnlyList<Alarm> Evaluate(ClusterSpec cluster, ClusterTopology observed, AlarmThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(thresholds);

        var alarms = new List<Alarm>();
        var nodes = observed.Nodes;
        var primaries = nodes.Where(n => n.Role == NodeRole.Primary).ToArray();

        // Split brain: two writable servers, or one address answered by two hosts.
        if (primaries.Length >= 2)
        {
            alarms.Add(new Alarm(AlarmCodes.SplitBrainPrimaries, AlarmSeverity.Critical, null,
                $"Split brain: {Names(primaries)} are all primaries",
                "More than one node is out of recovery and accepts writes; their data is diverging from the moment the second one was promoted.",
                "Stop PostgreSQL on the node that should not be primary (the one without the write VIP, or with fewer recent writes), then rejoin it from the Operations page."));
        }

        var writeHolders = nodes.Where(n => n.HoldsWriteVip).ToArray();
        var readHolders = nodes.Where(n => n.HoldsReadVip).ToArray();
        if (writeHolders.Length >= 2 || readHolders.Length >= 2)
        {
            var which = writeHolders.Length >= 2 && readHolders.Length >= 2 ? $"The write VIP {cluster.WriteVip} and the read VIP {cluster.ReadVip} are"
                : writeHolders.Length >= 2 ? $"The write VIP {cluster.WriteVip} is"
                : $"The read VIP {cluster.ReadVip} is";
            var holders = writeHolders.Length >= 2 ? writeHolders : readHolders;
            alarms.Add(new Alarm(AlarmCodes.SplitBrainVip, AlarmSeverity.Critical, null,
                $"Split brain: a VIP is on {Names(holders)} at once",
                $"{which} configured on more than one host, so clients reach whichever host answers ARP last. keepalived on both nodes believes it is MASTER: usually VRRP adverts do not get through (firewall, interface, router id or password mismatch).",
                $"Stop keepalived on the node that is not the primary (the VIP is removed with it), check that VRRP (protocol 112) passes on {cluster.Vrrp.Interface} between the hosts, then start it again."));
        }

        var primary = primaries.Length == 1 ? primaries[0] : null;
        if (primaries.Length == 0)
        {
            alarms.Add(new Alarm(AlarmCodes.NoPrimary, AlarmSeverity.Critical, null,
                "No primary: nothing accepts writes",
                nodes.All(n => n.Role is NodeRole.Down or NodeRole.Unknown)
                    ? "No node's PostgreSQL answered the console, so no node is known to accept writes."
                    : "Every PostgreSQL that answered is in recovery (a standby); writes through the write VIP fail.",
                "Find out why the primary stopped (its log, the host); start it again, or, if it is lost, press Failover… on the topology page (or let the automatic failover policy do it)."));
        }

        if (primary is not null && writeHolders.Length == 1 && writeHolders[0].Name != primary.Name)
        {
            alarms.Add(new Alarm(AlarmCodes.WriteVipNotOnPrimary, AlarmSeverity.Critical, writeHolders[0].Name,
                $"Write VIP {cluster.WriteVip} is on {writeHolders[0].Name}, but {primary.Name} is the primary",
                $"Clients that write through {cluster.WriteVip} reach {writeHolders[0].Name}, which is {Describe(writeHolders[0].Role)}: writes fail or go to the wrong server.",
                $"Move the VIP to {primary.Name}: check keepalived's priorities and its check script on both nodes (a standby must not win the election), or restart keepalived on {writeHolders[0].Name}."));
        }
        else if (primary is not null && writeHolders.Length == 0 && nodes.All(n => n.SshReachable))
        {
            // Only when every host could be asked: an unreachable host may well hold it.
            alarms.Add(new Alarm(AlarmCodes.WriteVipNotOnPrimary, AlarmSeverity.Critical, primary.Name,
                $"Write VIP {cluster.WriteVip} is on no host",
                $"{primary.Name} is the primary but no host carries {cluster.WriteVip}: clients cannot reach the primary through it.",
                $"Check keepalived on {primary.Name} (running, not in FAULT, its check script passes) and restart it there."));
        }

        foreach (var node in nodes)
        {
            if (node.HostKeyMismatch)
            {
                alarms.Add(new Alarm(AlarmCodes.HostKeyMismatch, AlarmSeverity.Critical, node.Name,
                    $"{node.Name}: SSH host key mismatch",
                    $"{node.Address} presented an SSH host key other than the pinned one: the host was reinstalled, or something intercepts the connection. The console refuses to run anything there.",
                    "Check the host's key on its console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); if it is expected, run Test connection on the cluster's page and confirm the new fingerprint."));
            }
            else if (!node.SshReachable)
            {
                alarms.Add(new Alarm(AlarmCodes.HostUnreachable, AlarmSeverity.Critical, node.Name,
                    node.PgReachable ? $"{node.Name}: SSH unreachable" : $"{node.Name}: host unreachable",
                    (node.PgReachable
                        ? $"PostgreSQL on {node.Address} answers, but SSH does not, so VIPs, keepalived and the balancer there cannot be seen. "
                        : $"Neither SSH nor PostgreSQL on {node.Address} answers the console. ")
                    + FirstError(node),
                    $"Check that {node.Name} is up and reachable from the console (network, firewall, sshd on port 22), and that its SSH credentials and pinned key are right (Test connection)."));
            }

            if (node.Role == NodeRole.Down && node.SshReachable)
            {
                alarms.Add(new Alarm(AlarmCodes.PostgresDown, AlarmSeverity.Critical, node.Name,
                    $"{node.Name}: PostgreSQL does not answer",
                    $"The host answers SSH, but PostgreSQL on {node.Address}:{cluster.Postgres.Port} does not accept the monitoring connection. {FirstError(node)}",
                    $"Look at PostgreSQL's log on {node.Name} and start it ({(cluster.Postgres.ServiceControl == ServiceControl.Systemd ? "systemctl start " + (cluster.Postgres.SystemdUnit ?? "postgresql") : "pg_ctl -D " + cluster.Postgres.DataDir + " start")}); if it was the primary, the standby may have to be promoted."));
            }

            if (node.Fenced is { } fence)
            {
                alarms.Add(new Alarm(AlarmCodes.NodeFenced, AlarmSeverity.Warning, node.Name,
                    $"{node.Name}: fenced, needs rejoin",
                    $"{node.Name} was fenced ({fence}): it accepts no writes, holds no VIP and will not win one back, and PostgreSQL there starts only as a standby. The pair has no standby until it rejoins.",
                    $"Rejoin {node.Name} from the topology page (pg_rewind when possible, else a re-clone)."));
            }

            if (cluster.Balancer == BalancerMode.Haproxy && node.SshReachable && node.HaproxyRunning == false)
            {
                var holds = node.HoldsWriteVip || node.HoldsReadVip;
                alarms.Add(new Alarm(AlarmCodes.HaproxyDown, holds ? AlarmSeverity.Critical : AlarmSeverity.Warning, node.Name,
                    $"{node.Name}: HAProxy is not running",
                    holds
                        ? $"{node.Name} holds {(node.HoldsWriteVip && node.HoldsReadVip ? "both VIPs" : node.HoldsWriteVip ? "the write VIP" : "the read VIP")}, which lead to its HAProxy: connections through them fail until keepalived moves the VIPs (it tracks HAProxy) or HAProxy is back."
                        : $"The VIPs cannot move to {node.Name} while its HAProxy is down: keepalived there stays in FAULT.",
                    $"Start HAProxy on {node.Name} (haproxy -f /etc/haproxy/haproxy.cfg -D -p /run/haproxy.pid, or systemctl start haproxy) and look at why it stopped (its log)."));
            }

            if (node.SshReachable && node.Keepalived is { } k)
            {
                if (!k.Running)
                {
                    alarms.Add(new Alarm(AlarmCodes.KeepalivedDown, AlarmSeverity.Warning, node.Name,
                        $"{node.Name}: keepalived is not running",
                        $"Without keepalived on {node.Name} the VIPs cannot move to or away from it.",
                        $"Start keepalived on {node.Name} (systemctl start keepalived, or keepalived -f /etc/keepalived/keepalived.conf) and check its log."));
                }
                else if (k.State == VrrpState.Fault && node.Role == NodeRole.Primary)
                {
                    // Only on a primary: the check script fails on a standby (in recovery) and on a stopped server by
                    // design, so FAULT is a standby's normal state (and a stopped one has its own alarm).
                    alarms.Add(new Alarm(AlarmCodes.KeepalivedDown, AlarmSeverity.Warning, node.Name,
                        $"{node.Name}: keepalived is in FAULT",
                        $"keepalived runs on {node.Name} but its VRRP instance is in FAULT (interface {cluster.Vrrp.Interface} down, or the check script fails although PostgreSQL answers as primary): the primary will not hold the VIPs.",
                        $"Check the interface {cluster.Vrrp.Interface} and keepalived's check script on {node.Name} (journal or syslog)."));
                }
            }
        }

        if (cluster.Balancer == BalancerMode.LvsDr)
        {
            alarms.AddRange(LvsAlarms(cluster, nodes));
        }

        foreach (var standby in nodes.Where(n => n.Role == NodeRole.Standby))
        {
            var row = primary is null ? null : TopologyAssembler.FindReplicationRow(primary, standby);
            var receiver = standby.WalReceiver?.Status;
            var notReported = primary is not null && primary.PgReachable && row is null;
            var receiverNotStreaming = !string.Equals(receiver, "streaming", StringComparison.OrdinalIgnoreCase);
            if (notReported || receiverNotStreaming || (row is not null && !string.Equals(row.State, "streaming", StringComparison.OrdinalIgnoreCase)))
            {
                var why = receiverNotStreaming
                    ? receiver is null ? "no WAL receiver runs on it" : $"its WAL receiver is '{receiver}'"
                    : row is null ? $"{primary!.Name} has no pg_stat_replication row for it" : $"{primary!.Name} reports it in state '{row.State}'";
                alarms.Add(new Alarm(AlarmCodes.StandbyNotStreaming, AlarmSeverity.Critical, standby.Name,
                    $"{standby.Name}: standby not streaming",
                    $"{standby.Name} is in recovery but not streaming from the primary: {why}. It falls further behind and a failover to it would lose data.",
                    $"Check primary_conninfo on {standby.Name}, the replication user's password and pg_hba.conf on the primary, and PostgreSQL's log on {standby.Name}; if the WAL it needs is gone, rebuild it from the Operations page."));
            }

            var overBytes = standby.LagBytes is { } b && b > thresholds.LagBytes;
            var overSeconds = standby.LagSeconds is { } s && s > thresholds.LagSeconds;
            if (overBytes || overSeconds)
            {
                alarms.Add(new Alarm(AlarmCodes.LagOverThreshold, AlarmSeverity.Warning, standby.Name,
                    $"{standby.Name}: replication lag {TopologyFormat.Lag(standby.LagBytes, standby.LagSeconds)}",
                    string.Create(CultureInfo.InvariantCulture,
                        $"{standby.Name} is behind the primary by more than the threshold ({TopologyFormat.Bytes(thresholds.LagBytes)} or {thresholds.LagSeconds:0.#} s); a failover now would lose what it has not received, and a switchover would wait for it."),
                    $"Look for a long query or lock conflict on {standby.Name} (pg_stat_activity), its disk and network throughput, and heavy writes on the primary."));
            }
        }

        return alarms.OrderByDescending(a => a.Severity).ToArray();
    }

    /// <summary>
    /// LVS-DR: on the director that holds the read VIP, the read service (its firewall mark) must list both nodes with
    /// a weight above 0. keepalived removes a real server whose check fails (missing) and an operator may set a
    /// weight of 0 (quiesced): either way the read VIP no longer reaches that node.
    /// </summary>
    private static IEnumerable<Alarm> LvsAlarms(ClusterSpec cluster, IReadOnlyList<NodeState> nodes)
    {
        foreach (var director in nodes.Where(n => n.HoldsReadVip && n.Balancer?.Ipvs is { IsAvailable: true }))
        {
            var spec = cluster.Nodes.FirstOrDefault(n => n.Name == director.Name);
            if (spec is null)
            {
                continue;
            }

            var mark = (uint)Lvs.LvsRenderer.FwMark(cluster, spec);
            var service = director.Balancer!.Ipvs!.Services.FirstOrDefault(s => s.Protocol == Parsing.IpvsProtocol.FirewallMark && s.FirewallMark == mark && !s.IsIPv6);
            foreach (var node in cluster.Nodes)
            {
                var server = service?.RealServers.FirstOrDefault(r => r.Endpoint.Host == node.Address);
                if (server is null)
                {
                    yield return new Alarm(AlarmCodes.LvsRealServerMissing, AlarmSeverity.Warning, node.Name,
                        $"{node.Name}: not in the read VIP's pool on {director.Name}",
                        service is null
                            ? $"{director.Name} holds the read VIP but its IPVS table has no FWM {mark} service: reads through {cluster.ReadVip} are not balanced."
                            : $"{director.Name}'s IPVS service FWM {mark} does not list {node.Address}: keepalived removed it because its check (a query as the monitoring role) failed, so reads through {cluster.ReadVip} no longer reach {node.Name}.",
                        $"Check that PostgreSQL on {node.Name} answers queries (pg_isready, its log, max_connections), and keepalived's log on {director.Name}; it returns to the pool by itself once the check passes.");
                }
                else if (server.IsQuiesced)
                {
                    yield return new Alarm(AlarmCodes.LvsRealServerQuiesced, AlarmSeverity.Warning, node.Name,
                        $"{node.Name}: quiesced in the read VIP's pool on {director.Name}",
                        $"{director.Name}'s IPVS service FWM {mark} lists {node.Address} with weight 0: no new reads through {cluster.ReadVip} go to {node.Name}.",
                        $"If that was not intended, restore its weight (ipvsadm -e -f {mark} -r {node.Address} -w 1, or reload keepalived on {director.Name}).");
                }
            }
        }
    }

    private static string Names(IEnumerable<NodeState> nodes) => string.Join(" and ", nodes.Select(n => n.Name));

    private static string Describe(NodeRole role) => role switch
    {
        NodeRole.Standby => "a standby (read-only)",
        NodeRole.Down => "down",
        NodeRole.Primary => "also a primary",
        _ => "in an unknown state",
    };

    private static string FirstError(NodeState node) => node.Errors.Count > 0 ? node.Errors[0] : string.Empty;
}
