using System.Text.Json;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Web.Model;

/// <summary>One step of a plan, as shown before anything runs.</summary>
public sealed record PlannedStepView(int Ordinal, string Name, string Description, IReadOnlyList<PlannedAction> Actions, string? Error);

/// <summary>The whole plan of an operation for a cluster, computed from the hosts as they are (read-only).</summary>
public sealed record OperationPlanView(Guid ClusterId, string Kind, IReadOnlyList<PlannedStepView> Steps)
{
    /// <summary>The host whose data step 6 would remove (the operator must type its name), or null.</summary>
    public string? WipeConfirmationHost { get; init; }
}

/// <summary>A step's state, as the API and the pages show it.</summary>
public sealed record OperationStepView(int Ordinal, string Name, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Message);

/// <summary>An operation as the API returns it (<c>GET /api/operations/{id}</c>).</summary>
public sealed record OperationView(
    Guid Id,
    Guid ClusterId,
    string Kind,
    string Status,
    int? CurrentStep,
    string RequestedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Error,
    IReadOnlyList<OperationStepView> Steps,
    JsonElement? Report)
{
    public static OperationView From(OperationRecord r) => new(
        r.Id, r.ClusterId, r.Kind, ApiStatus(r.Status), r.CurrentStep, r.RequestedBy, r.CreatedAt, r.StartedAt, r.FinishedAt, r.Error,
        [.. r.Steps.Select(s => new OperationStepView(s.Ordinal, s.Name, s.Status.ToString().ToLowerInvariant(), s.StartedAt, s.FinishedAt, s.Message))],
        r.ReportJson is { Length: > 0 } json ? JsonDocument.Parse(json).RootElement.Clone() : null);

    /// <summary>running, succeeded, failed, interrupted (and pending, cancelled).</summary>
    public static string ApiStatus(OperationStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>
/// Starting, planning, following and resuming operations for the pages and the API; every start and resume is
/// audited. Pages and endpoints never touch the journal or the hosts themselves.
/// </summary>
public sealed class OperationService(
    OperationLauncher launcher,
    IOperationJournal journal,
    OperationLogStore logs,
    ClusterEnvironmentFactory environments,
    IClusterRepository clusters,
    AuditService audit,
    SwitchoverRollback rollback)
{
    public async Task<OperationPlanView?> PlanAsync(Guid clusterId, string kind, JsonElement parameters, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        if (env is null)
        {
            return null;
        }

        var definition = launcher.KindOf(kind).Create(env, parameters);
        var context = new PlanContext(env.Cluster, env.Masker, ct);
        var steps = new List<PlannedStepView>();
        string? wipeHost = null;
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            try
            {
                var plan = await step.PlanAsync(context);
                steps.Add(new PlannedStepView(i + 1, step.Name, step.Description, plan.Actions, null));
                wipeHost ??= plan.Actions.FirstOrDefault(a => a.Note?.StartsWith("WILL REMOVE", StringComparison.Ordinal) == true)?.Host;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A plan that cannot be computed (host unreachable, no primary yet) is shown as such; preflight will say why.
                steps.Add(new PlannedStepView(i + 1, step.Name, step.Description, [], env.Masker.Apply(ex.Message)));
            }
        }

        return new OperationPlanView(clusterId, kind, steps) { WipeConfirmationHost = wipeHost };
    }

    public Task<OperationPlanView?> PlanSetupAsync(Guid clusterId, SetupParameters parameters, CancellationToken ct) =>
        PlanAsync(clusterId, SetupOperation.Kind, JsonSerializer.SerializeToElement(parameters, SetupOperationKind.Json), ct);

    /// <summary>Starts an operation; throws <see cref="OperationRefusedException"/> (404, 409) when it cannot.</summary>
    public async Task<Guid> StartAsync(Guid clusterId, string kind, JsonElement parameters, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        try
        {
            var id = await launcher.StartAsync(kind, clusterId, parameters, actor, ct);
            await audit.WriteAsync(actor, "operation." + kind, clusterId, stored.Spec.Name, "started", $"operation {id}", ct);
            return id;
        }
        catch (OperationRefusedException ex)
        {
            await audit.WriteAsync(actor, "operation." + kind, clusterId, stored.Spec.Name, "refused", ex.Message, ct);
            throw;
        }
    }

    public Task<Guid> StartSetupAsync(Guid clusterId, SetupParameters parameters, string actor, CancellationToken ct) =>
        StartAsync(clusterId, SetupOperation.Kind, JsonSerializer.SerializeToElement(parameters, SetupOperationKind.Json), actor, ct);

    /// <summary>The switchover preflight report (read-only); null when the cluster does not exist.</summary>
    public async Task<SwitchoverPreflightReport?> SwitchoverPreflightAsync(Guid clusterId, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct);
        return env is null ? null : await SwitchoverPreflight.RunAsync(env, new SwitchoverParameters(), ct);
    }

    /// <summary>
    /// Starts a switchover after the operator typed the cluster's name and the preflight passed; From/To are fixed
    /// now (the current primary and standby) so that a resume after a restart knows who was who.
    /// </summary>
    public async Task<Guid> StartSwitchoverAsync(Guid clusterId, string? confirm, string actor, CancellationToken ct)
    {
        var env = await environments.CreateAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        if (!string.Equals(confirm, env.Cluster.Name, StringComparison.Ordinal))
        {
            await audit.WriteAsync(actor, "operation.switchover", clusterId, env.Cluster.Name, "refused", "confirmation did not match the cluster name", ct);
            throw new OperationRefusedException($"Type the cluster's name ('{env.Cluster.Name}') to confirm the switchover.", 400);
        }

        var report = await SwitchoverPreflight.RunAsync(env, new SwitchoverParameters(), ct);
        if (!report.CanSwitch)
        {
            var failed = string.Join("; ", report.Checks.Where(c => !c.Ok).Select(c => (c.Host is null ? "" : c.Host + ": ") + c.Detail));
            await audit.WriteAsync(actor, "operation.switchover", clusterId, env.Cluster.Name, "refused", "preflight: " + failed, ct);
            throw new OperationRefusedException("The preflight failed: " + failed, 409);
        }

        var parameters = new SwitchoverParameters { Confirm = confirm, From = report.Primary, To = report.Standby };
        return await StartAsync(clusterId, SwitchoverOperation.Kind, JsonSerializer.SerializeToElement(parameters, SetupOperationKind.Json), actor, ct);
    }

    /// <summary>Rejoin (rewind, or a guarded re-clone) or rebuild (re-clone, typed confirmation) a node as the standby.</summary>
    public async Task<Guid> StartRejoinAsync(Guid clusterId, string node, string? confirmHost, bool rebuild, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        if (stored.Spec.Nodes.All(n => n.Name != node))
        {
            throw new OperationRefusedException($"'{node}' is not a node of {stored.Spec.Name} ({string.Join(", ", stored.Spec.Nodes.Select(n => n.Name))}).", 400);
        }

        return await StartAsync(clusterId, rebuild ? RejoinOperation.RebuildKind : RejoinOperation.RejoinKind,
            JsonSerializer.SerializeToElement(new RejoinParameters { Node = node, ConfirmHost = confirmHost }, SetupOperationKind.Json), actor, ct);
    }

    /// <summary>Resumes as <paramref name="user"/>: the role and the fields <see cref="Auth.ResumePolicy"/> allows for the kind.</summary>
    public async Task ResumeAsync(Guid operationId, JsonElement parameters, System.Security.Claims.ClaimsPrincipal user, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct) ?? throw new OperationRefusedException("No such operation.", 404);
        var name = (await clusters.GetAsync(op.ClusterId, ct))?.Spec.Name ?? op.ClusterId.ToString();
        var actor = user.Identity?.Name ?? "anonymous";
        try
        {
            Auth.ResumePolicy.Check(user, op.Kind, parameters);
        }
        catch (OperationRefusedException ex)
        {
            await audit.WriteAsync(actor, "operation." + op.Kind + ".resume", op.ClusterId, name, "refused", ex.Message, ct);
            throw;
        }

        await launcher.ResumeAsync(operationId, parameters, actor, ct);
        await audit.WriteAsync(actor, "operation." + op.Kind + ".resume", op.ClusterId, name, "resumed", $"operation {operationId}", ct);
    }

    /// <summary>Rolls an interrupted or failed switchover back (only while nothing was promoted); audited.</summary>
    public async Task<string> RollBackAsync(Guid operationId, string actor, CancellationToken ct)
    {
        var op = await journal.GetAsync(operationId, ct) ?? throw new OperationRefusedException("No such operation.", 404);
        var name = (await clusters.GetAsync(op.ClusterId, ct))?.Spec.Name ?? op.ClusterId.ToString();
        try
        {
            var message = await rollback.RollBackAsync(operationId, actor, ct);
            await audit.WriteAsync(actor, "operation." + op.Kind + ".rollback", op.ClusterId, name, "rolled back", message, ct);
            return message;
        }
        catch (Exception ex) when (ex is OperationRefusedException or StepFailedException)
        {
            await audit.WriteAsync(actor, "operation." + op.Kind + ".rollback", op.ClusterId, name, "refused", ex.Message, ct);
            throw;
        }
    }

    public async Task<OperationView?> GetAsync(Guid operationId, CancellationToken ct) =>
        await journal.GetAsync(operationId, ct) is { } r ? OperationView.From(r) : null;

    public async Task<IReadOnlyList<OperationView>> ListAsync(Guid clusterId, int limit, CancellationToken ct) =>
        [.. (await journal.ListByClusterAsync(clusterId, Math.Clamp(limit, 1, 500), ct)).Select(OperationView.From)];

    /// <summary>Every cluster's recent operations, newest first.</summary>
    public async Task<IReadOnlyList<OperationView>> ListAllAsync(int limit, CancellationToken ct)
    {
        var all = new List<OperationView>();
        foreach (var c in await clusters.ListAsync(ct))
        {
            all.AddRange(await ListAsync(c.Spec.Id, limit, ct));
        }

        return [.. all.OrderByDescending(o => o.CreatedAt).Take(limit)];
    }

    public Task<IReadOnlyList<OperationLogLine>> ReadLogAsync(Guid operationId, long afterSeq, int limit, CancellationToken ct) =>
        journal.ReadLogAsync(operationId, afterSeq, Math.Clamp(limit, 1, OperationJournal.MaximumLimit), ct);

    /// <summary>The log so far, then live lines until the operation ends (or <paramref name="ct"/> is cancelled).</summary>
    public IAsyncEnumerable<OperationLogLine> WatchLogAsync(Guid operationId, CancellationToken ct) => logs.WatchAsync(operationId, ct);

    private sealed class PlanContext(ClusterSpec cluster, SecretMasker masker, CancellationToken ct) : IOperationContext
    {
        public Guid OperationId => Guid.Empty;

        public ClusterSpec Cluster => cluster;

        public CancellationToken CancellationToken => ct;

        public SecretMasker Masker => masker;

        public IServiceProvider Services => throw new NotSupportedException("Plans do not use services.");

        public void Log(string stepName, string? host, LogStream stream, string line)
        {
        }
    }
}
