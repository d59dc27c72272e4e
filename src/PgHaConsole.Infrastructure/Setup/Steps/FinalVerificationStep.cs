using System.Globalization;
using Npgsql;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Pair;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Setup.Steps;

/// <summary>
/// Step 11: end to end, from the console, as a client would: a write through the write VIP lands on the primary, and a
/// series of connections through the read VIP is answered by both nodes. When nothing changed in this run the check
/// performs the same verification, and a pair that passes is reported as already done.
/// </summary>
public sealed class FinalVerificationStep(SetupRun run) : SetupStep(run)
{
    private const int ReadConnections = 8;

    /// <summary>How long the read VIP may answer from one node only: 10 s, or two real-server check rounds at a slower pace.</summary>
    private TimeSpan BalanceWait => TimeSpan.FromSeconds(Math.Max(10, 2 * PgHaConsole.Core.Lvs.LvsVirtualServerRenderer.DelayLoop(Cluster.Vrrp)));

    public override string Name => "final-verification";

    public override string Description => "A write through the write VIP lands on the primary; connections through the read VIP reach both nodes";

    private NpgsqlConnectionStringBuilder Connection(string host)
    {
        var seconds = ClientTimeoutSeconds(Cluster.Vrrp);
        return NodeConnections.Monitor(Cluster, host, Run.Env.Secrets.MonitorPassword, "pghaconsole-setup-verify", timeout: seconds, commandTimeout: seconds);
    }

    /// <summary>
    /// How long the verification's client waits to connect and for an answer: what keepalived's real-server check gives
    /// a node at the pair's pace (<see cref="PgHaConsole.Core.Lvs.LvsVirtualServerRenderer.CheckTimeout"/>): 5 s at the
    /// default pace, as before; 11 s at the UML lab's 10 s pace, where the 03:41 clean-clone CI's verification write
    /// timed out at 5 s in a busy guest whose own checks took up to 10 s.
    /// </summary>
    public static int ClientTimeoutSeconds(VrrpSettings vrrp) => PgHaConsole.Core.Lvs.LvsVirtualServerRenderer.CheckTimeout(vrrp);

    private async Task<(bool Ok, string Detail)> VerifyEndToEndAsync(StepLog log, CancellationToken ct)
    {
        if (Run.Env.Secrets.MonitorPassword is null)
        {
            return (false, "the monitoring role has no password yet (step 3)");
        }

        var (primary, standby) = await Run.RolesAsync(ct);
        string writtenOn;
        bool recovery;
        try
        {
            await using var conn = new NpgsqlConnection(Connection(Cluster.WriteVip).ConnectionString);
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand(
                $"INSERT INTO {RolesStep.ProbeTable} (written_by) VALUES ('setup-verification') RETURNING host(inet_server_addr()), pg_is_in_recovery()", conn);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            writtenOn = reader.GetString(0);
            recovery = reader.GetBoolean(1);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return (false, $"a write through the write VIP {Cluster.WriteVip} failed: {Run.Env.Masker.Apply(ex.Message)}");
        }

        var writeNode = NodeName(writtenOn, recovery, primary, standby);
        log.Info(null, $"write through {Cluster.WriteVip}: committed on {writeNode} (in recovery: {(recovery ? "yes" : "no")})");
        if (writeNode != primary.Name || recovery)
        {
            return (false, $"a write through the write VIP landed on {writeNode}, not on the primary {primary.Name}");
        }

        // A balancer whose health checks have not yet marked a node up (HAProxy: rise 2 at 2 s) sends every connection
        // to the other one for a few seconds: try a few rounds before calling the read VIP unbalanced.
        var started = Run.Env.Time.GetTimestamp();
        while (true)
        {
            var (failure, seen) = await ReadRoundAsync(primary, standby, ct);
            if (failure is not null)
            {
                return (false, failure);
            }

            var counts = string.Join(", ", seen.GroupBy(s => s).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count().ToString(CultureInfo.InvariantCulture)}"));
            log.Info(null, $"{ReadConnections.ToString(CultureInfo.InvariantCulture)} connections through {Cluster.ReadVip} answered by: {counts}");
            if (Cluster.Nodes.All(n => seen.Contains(n.Name)))
            {
                // Each node on its own address, in its role, and the console's own probe agrees (#13: the VIPs alone
                // can hide a node that answers on no address of its own).
                string nodes;
                try
                {
                    nodes = await ClientCheck.VerifyAsync(Run.Env, [new(primary, NodeRole.Primary), new(standby, NodeRole.Standby, primary)], log, ct);
                }
                catch (StepFailedException ex)
                {
                    return (false, ex.Message);
                }

                return (true, $"write through {Cluster.WriteVip} landed on the primary {primary.Name}; reads through {Cluster.ReadVip} answered by {counts}; {nodes}");
            }

            if (Run.Env.Time.GetElapsedTime(started) >= BalanceWait)
            {
                return (false, $"reads through {Cluster.ReadVip} were answered only by {counts} for {BalanceWait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: the read VIP does not balance over both nodes");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), Run.Env.Time, ct);
        }
    }

    /// <summary>
    /// Which node answered: by the server's address, or, where that is a VIP (LVS-DR delivers packets still addressed
    /// to the VIP, so the server sees the VIP as its own address), by its role: of a pair only the primary is not in
    /// recovery.
    /// </summary>
    private string NodeName(string serverAddress, bool inRecovery, NodeHost primary, NodeHost standby) =>
        Cluster.Nodes.FirstOrDefault(n => n.Address == serverAddress)?.Name
        ?? (serverAddress == Cluster.WriteVip || serverAddress == Cluster.ReadVip ? (inRecovery ? standby : primary).Name : serverAddress);

    private async Task<(string? Failure, List<string> Seen)> ReadRoundAsync(NodeHost primary, NodeHost standby, CancellationToken ct)
    {
        var seen = new List<string>();
        for (var i = 0; i < ReadConnections; i++)
        {
            try
            {
                await using var conn = new NpgsqlConnection(Connection(Cluster.ReadVip).ConnectionString);
                await conn.OpenAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT host(inet_server_addr()), pg_is_in_recovery()", conn);
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                seen.Add(NodeName(reader.GetString(0), reader.GetBoolean(1), primary, standby));
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                return ($"connection {(i + 1).ToString(CultureInfo.InvariantCulture)} through the read VIP {Cluster.ReadVip} failed: {Run.Env.Masker.Apply(ex.Message)}", seen);
            }
        }

        return (null, seen);
    }

    public override Task<StepPlan> PlanAsync(IOperationContext context) =>
        Task.FromResult(new StepPlan([
            Run.Note("console", $"INSERT INTO {RolesStep.ProbeTable} through {Cluster.WriteVip}:{Cluster.Postgres.Port.ToString(CultureInfo.InvariantCulture)} as {Cluster.Postgres.MonitorUser}; must land on the primary"),
            Run.Note("console", $"{ReadConnections.ToString(CultureInfo.InvariantCulture)} new connections through {Cluster.ReadVip}: SELECT inet_server_addr(); both nodes must answer"),
        ]));

    public override async Task<StepCheck> CheckAsync(IOperationContext context)
    {
        if (Run.ChangedSomething)
        {
            return StepCheck.NotDone("this run changed the pair: verify it end to end");
        }

        var (ok, detail) = await VerifyEndToEndAsync(Log(context), context.CancellationToken);
        return ok ? StepCheck.Done("verified again: " + detail) : StepCheck.NotDone(detail);
    }

    protected override Task ExecuteAsync(IOperationContext context) => Task.CompletedTask;

    public override async Task<StepVerification> VerifyAsync(IOperationContext context)
    {
        var (ok, detail) = await VerifyEndToEndAsync(Log(context), context.CancellationToken);
        return ok ? StepVerification.Passed(detail) : StepVerification.Failed(detail);
    }
}
