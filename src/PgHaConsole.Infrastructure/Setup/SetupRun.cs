using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Text;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup;

/// <summary>What the operator chose when starting the wizard.</summary>
public sealed record SetupParameters
{
    /// <summary>
    /// The standby host's name, typed by the operator after seeing what step 6 would remove; without it the clone
    /// refuses to touch a data directory that holds anything other than a clone of the primary.
    /// </summary>
    public string? ConfirmWipeHost { get; init; }

    /// <summary>Install keepalived/HAProxy from the distribution when preflight finds them missing.</summary>
    public bool InstallPackages { get; init; }

    /// <summary>
    /// The application's client networks (CIDR, IPv4 or IPv6) given access to every database in pg_hba.conf, with the
    /// node addresses HAProxy connects from (see <see cref="ClientAccess"/>); null means the networks stored with the
    /// cluster. Validated by <see cref="Core.Validation.ClientNetworks"/> before anything runs.
    /// </summary>
    public IReadOnlyList<string>? ClientCidrs { get; init; }

    /// <summary>The operator's explicit consent to a network of every address (0.0.0.0/0, ::/0) in <see cref="ClientCidrs"/>.</summary>
    public bool AllowAnyClientAddress { get; init; }
}

/// <summary>
/// State shared by the steps of one setup run: the cluster environment, the operator's choices and what was learnt
/// (which node is primary). Nothing here survives the run: a resumed run learns it again from the hosts.
/// </summary>
public sealed class SetupRun(ClusterEnvironment env, SetupParameters parameters)
{
    private (NodeHost Primary, NodeHost Standby)? _roles;

    public ClusterEnvironment Env { get; } = env;

    public SetupParameters Parameters { get; } = parameters;

    public ClusterSpec Cluster => Env.Cluster;

    /// <summary>The client networks this run writes: the operator's for this run, else those stored with the cluster.</summary>
    public IReadOnlyList<string> ClientCidrs => Parameters.ClientCidrs ?? Cluster.ClientCidrs;

    /// <summary>Set by every step that changed something; the final verification then always runs.</summary>
    public bool ChangedSomething { get; set; }

    /// <summary>
    /// The node whose PostgreSQL runs as a primary, and the other. Setup needs a running primary; two primaries (split
    /// brain) stop the wizard. Not necessarily node 1: after a switchover a re-run must find the pair as it is.
    /// </summary>
    public async Task<(NodeHost Primary, NodeHost Standby)> RolesAsync(CancellationToken ct)
    {
        if (_roles is { } known)
        {
            return known;
        }

        var hosts = Env.Hosts.ToList();
        var states = await Task.WhenAll(hosts.Select(h => h.GetPgStateAsync(ct)));
        var primaries = hosts.Zip(states).Where(p => p.Second.IsPrimary).Select(p => p.First).ToList();
        if (primaries.Count == 2 && states[0].SystemIdentifier != states[1].SystemIdentifier)
        {
            // Two unrelated servers (different system identifiers): not a split brain of this pair. The configured
            // first node is the primary; the other's data is what step 6 refuses to remove without confirmation.
            primaries = [hosts.First(h => h.Node.Id == Cluster.Node1.Id)];
        }

        if (primaries.Count == 2)
        {
            throw new StepFailedException(
                $"Both {hosts[0].Name} and {hosts[1].Name} run a PostgreSQL primary (split brain). Choose the survivor, stop the other, then run the wizard again.");
        }

        if (primaries.Count == 0)
        {
            throw new StepFailedException(
                "No running PostgreSQL primary was found: " + string.Join("; ", hosts.Zip(states).Select(p => $"{p.First.Name}: {p.Second.Describe()}"))
                + $". Start PostgreSQL on the node that holds the data ({Cluster.Node1.Name} in the runbook's starting state) and run the wizard again.");
        }

        var primary = primaries[0];
        var standby = hosts.First(h => h != primary);
        _roles = (primary, standby);
        return (primary, standby);
    }

    private ulong? _primarySystemId;

    /// <summary>
    /// Whether the node's data directory is this pair's: the primary's, or a clone of it (same system identifier).
    /// Steps 4 and 5 touch only those; anything else on the standby is step 6's to judge (and to refuse).
    /// </summary>
    public async Task<bool> BelongsToPairAsync(NodeHost host, PgState state, CancellationToken ct)
    {
        var (primary, _) = await RolesAsync(ct);
        if (host == primary)
        {
            return true;
        }

        _primarySystemId ??= (await primary.GetPgStateAsync(ct)).SystemIdentifier;
        return state.DataDir == DataDirState.PgData && state.SystemIdentifier is { } id && id == _primarySystemId;
    }

    /// <summary>A file change for a plan, with its diff (secrets masked).</summary>
    public PlannedAction FileChange(NodeHost host, string path, string? current, string desired, string? note = null) =>
        PlannedAction.ForFile(host.Name, path, current == desired ? "(unchanged)" : UnifiedDiff.Render(path, current, desired), Env.Masker, note);

    public PlannedAction Command(NodeHost host, Core.Shell.RemoteCommand command, string? note = null) =>
        PlannedAction.ForCommand(host.Name, host.Display(command), Env.Masker, note);

    public PlannedAction Note(string host, string text) => new() { Host = host, Note = Env.Masker.Apply(text) };

    // ---- paths shared by several steps ----

    public string DataPath(string relative) => Cluster.Postgres.DataDir.TrimEnd('/') + "/" + relative;

    public string PassFile => RecoveryConfigRenderer.DefaultPassFile(Cluster.Postgres);
}

/// <summary>Base of the wizard's steps: a run that changes something always ends with the final verification.</summary>
public abstract class SetupStep(SetupRun run) : OperationStep<SetupRun>(run)
{
    protected ClusterSpec Cluster => Run.Cluster;

    public sealed override async Task RunAsync(IOperationContext context)
    {
        Run.ChangedSomething = true;
        await ExecuteAsync(context);
    }

    protected abstract Task ExecuteAsync(IOperationContext context);
}
