using System.Globalization;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Postgres;

namespace PgHaConsole.Infrastructure.Pair;

/// <summary>
/// State shared by the steps of an operation that moves the primary role (switchover, failover): the two nodes fixed
/// when it starts (so a resume knows who was who), the pair's actions, the journal the report reads, and the optional
/// write probe through the write VIP.
/// </summary>
public abstract class PrimaryChangeRun : IAsyncDisposable
{
    private readonly string _probeTag;
    private readonly bool _probeWrites;

    protected PrimaryChangeRun(ClusterEnvironment env, IOperationJournal journal, string? from, string? to, string operation, bool probeWrites)
    {
        Env = env;
        Journal = journal;
        Actions = new PairActions(env);
        var old = env.Cluster.Nodes.FirstOrDefault(n => n.Name == from);
        var next = env.Cluster.Nodes.FirstOrDefault(n => n.Name == to);
        if (old is null || next is null || old.Id == next.Id)
        {
            throw new ArgumentException($"A {operation} needs 'from' and 'to': the two nodes of the cluster, the {(operation == "failover" ? "lost" : "current")} primary first.");
        }

        OldPrimary = env.Host(old);
        NewPrimary = env.Host(next);
        _probeTag = operation + "-probe";
        _probeWrites = probeWrites;
    }

    public ClusterEnvironment Env { get; }

    /// <summary>The journal the report step reads the steps' durations from and writes the report to.</summary>
    public IOperationJournal Journal { get; }

    public PairActions Actions { get; }

    public NodeHost OldPrimary { get; }

    public NodeHost NewPrimary { get; }

    public WriteProbe? Probe { get; private set; }

    /// <summary>Starts writing through the write VIP (once per run, only when asked and the monitoring password is known).</summary>
    public void StartProbe()
    {
        if (!_probeWrites || Probe is not null || Env.Secrets.MonitorPassword is not { } password)
        {
            return;
        }

        Probe = new WriteProbe(Env.Cluster, password, _probeTag, Env.Time);
        Probe.Start();
    }

    public async ValueTask DisposeAsync()
    {
        if (Probe is not null)
        {
            await Probe.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Seconds as the reports print them ("1.07 s").</summary>
    public static string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}

/// <summary>Base of the steps of a primary change: the old primary and the standby to promote.</summary>
public abstract class PrimaryChangeStep<TRun>(TRun run) : OperationStep<TRun>(run)
    where TRun : PrimaryChangeRun
{
    protected NodeHost Old => Run.OldPrimary;

    protected NodeHost New => Run.NewPrimary;
}
