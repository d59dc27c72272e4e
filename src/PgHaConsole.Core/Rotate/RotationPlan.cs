using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Rotate;

/// <summary>One change or check of a rotation, in the order it is made.</summary>
public sealed record RotationAction(string Host, string What);

/// <summary>
/// The order of a rotation's changes (what the plan shows and the steps follow). The order is the safety argument:
/// <list type="bullet">
/// <item>replication: the role first (one atomic statement on the primary; it replicates to the standby), then the
/// pass files, the standby's before the primary's. A streaming walreceiver authenticated at connect time and is not
/// affected by ALTER ROLE, so streaming stays alive throughout; only a reconnect in the few hundred milliseconds
/// between the role and the standby's file would be refused (and retried by the walreceiver every
/// wal_retrieve_retry_interval, which then succeeds). The other order would write the files on two hosts before the
/// one change the server can still refuse (a password check hook, a read-only primary): a failure there would leave
/// files no server accepts, where a failing ALTER ROLE leaves everything as it was.</item>
/// <item>monitoring: the role, then (LVS-DR) the real-server check's pass file; the console's store last, after its
/// own probe logged in with the new password.</item>
/// <item>vrrp: both configurations tested (<c>keepalived -t</c>) and staged first, then both installed and reloaded
/// at the same moment (VRRPv2 peers with different auth_pass ignore each other's adverts: the window between the two
/// reloads must stay well under the master-down interval, 3 × advert_int).</item>
/// </list>
/// </summary>
public static class RotationPlan
{
    public static IReadOnlyList<RotationAction> For(RotatableSecret secret, ClusterSpec cluster, NodeSpec primary, NodeSpec standby, string consolePassFile)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(standby);
        var pg = cluster.Postgres;
        var store = "console";
        return secret switch
        {
            RotatableSecret.Replication =>
            [
                new(store, "generate the new password; store it encrypted as pending (the current one stays until the end)"),
                new(primary.Name, $"ALTER ROLE {pg.ReplicationUser} PASSWORD '<SCRAM secret>' (replicates to {standby.Name})"),
                new(standby.Name, $"{consolePassFile}: the new password (and any pass file or inline primary_conninfo the standby's connection uses)"),
                new(primary.Name, $"{consolePassFile}: the new password (used when it follows {standby.Name} after a switchover, by pg_rewind and the boot guard)"),
                new(primary.Name, $"terminate the walsender of {standby.Name}: its walreceiver reconnects with the new password"),
                new(standby.Name, "verify: streaming again on a new connection; each node logs in to its peer as the replication role with its pass file"),
                new(store, "the new password becomes the console's; the old one is forgotten"),
            ],
            RotatableSecret.Monitoring =>
            [
                new(store, "generate the new password; store it encrypted as pending (the current one stays until the end)"),
                new(primary.Name, $"ALTER ROLE {pg.MonitorUser} PASSWORD '<SCRAM secret>' (replicates to {standby.Name})"),
                .. cluster.Balancer == BalancerMode.LvsDr
                    ? new[] { new RotationAction(primary.Name, "the real-server check's pass file"), new RotationAction(standby.Name, "the real-server check's pass file") }
                    : [],
                new(store, "verify: the console's probe logs in with the new password on both nodes"),
                new(store, "the new password becomes the console's; the old one is forgotten"),
            ],
            _ =>
            [
                new(store, $"generate the new auth_pass ({SecretRotation.VrrpMaxLength} characters); store it encrypted as pending"),
                new(primary.Name, "keepalived.conf with the new auth_pass, staged beside the old one and tested (keepalived -t)"),
                new(standby.Name, "keepalived.conf with the new auth_pass, staged beside the old one and tested (keepalived -t)"),
                new($"{primary.Name}, {standby.Name}", "both installed and keepalived reloaded (SIGHUP) on both at the same moment; the window between the two reloads is logged"),
                new(store, $"verify: for {VrrpObservation.Seconds} s, exactly one holder per VIP, the write VIP on the primary; the console's probe agrees"),
                new(store, "the new auth_pass becomes the console's; the old one is forgotten"),
            ],
        };
    }
}

/// <summary>What one look at the VIPs found on each node.</summary>
public sealed record VipSample(string Node, bool HoldsWrite, bool HoldsRead);

/// <summary>The VRRP rotation's verification: exactly one holder per VIP, the write VIP on the primary, in every sample.</summary>
public static class VrrpObservation
{
    /// <summary>How long the VIPs are watched after the reloads: more than keepalived's master-down interval (3 × advert_int + skew) at advert_int 1 s.</summary>
    public const int Seconds = 5;

    /// <summary>The problems of one sample (empty when it is right).</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<VipSample> sample, string primary, string writeVip, string readVip)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var problems = new List<string>();
        var writers = sample.Where(s => s.HoldsWrite).Select(s => s.Node).ToList();
        var readers = sample.Where(s => s.HoldsRead).Select(s => s.Node).ToList();
        if (writers.Count != 1)
        {
            problems.Add($"write VIP {writeVip} held by {Holders(writers)}");
        }
        else if (writers[0] != primary)
        {
            problems.Add($"write VIP {writeVip} on {writers[0]}, not on the primary {primary}");
        }

        if (readers.Count != 1)
        {
            problems.Add($"read VIP {readVip} held by {Holders(readers)}");
        }

        return problems;
    }

    private static string Holders(List<string> nodes) => nodes.Count == 0 ? "nobody" : string.Join(" and ", nodes);
}
