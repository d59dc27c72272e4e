using System.Text.Json;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Postgres;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Adopt;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Core.Rotate;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Web.Services;

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
    JsonElement? Report,
    string? RunningOn = null,
    DateTimeOffset? HeartbeatAt = null)
{
    /// <param name="r">The journal's record; <c>runningOn</c> names the console instance that runs (or last ran) it.</param>
    public static OperationView From(OperationRecord r) => new(
        r.Id, r.ClusterId, r.Kind, ApiStatus(r.Status), r.CurrentStep, r.RequestedBy, r.CreatedAt, r.StartedAt, r.FinishedAt, r.Error,
        [.. r.Steps.Select(s => new OperationStepView(s.Ordinal, s.Name, s.Status.ToString().ToLowerInvariant(), s.StartedAt, s.FinishedAt, s.Message))],
        r.ReportJson is { Length: > 0 } json ? JsonDocument.Parse(json).RootElement.Clone() : null,
        r.OwnerName,
        r.HeartbeatAt);

    /// <summary>running, succeeded, failed, interrupted (and pending, cancelled).</summary>
    public static string ApiStatus(OperationStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>The body of <c>POST /api/clusters/{id}/rotate-secret</c>.</summary>
/// <param name="Secret">replication, monitoring or vrrp.</param>
/// <param name="Confirm">The cluster's name, typed.</param>
/// <param name="NewSecret">Optional: the new secret (else the console generates one); never journaled or logged.</param>
public sealed record RotateSecretRequest(string? Secret, string? Confirm, string? NewSecret = null);

/// <summary>Parameters that failed validation: a 400 with <see cref="Errors"/> keyed by field; nothing ran or was stored.</summary>
public sealed class InvalidParametersException(IReadOnlyList<ValidationError> errors)
    : Exception(string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}

/// <summary>
/// Starting, planning, following and resuming operations for the pages and the API; every start and resume is
/// audited. Pages and endpoints never touch the journal or the hosts themselves.
/// </summary>
public sealed class OperationService(
    OperationLauncher launcher,
    OperationPlanner planner,
    IOperationJournal journal,
    OperationLogStore logs,
    SwitchoverGate switchover,
    IClusterRepository clusters,
    AuditService audit,
    SwitchoverRollback rollback,
    RotateGate rotate)
{
    public Task<OperationPlanView?> PlanAsync(Guid clusterId, string kind, JsonElement parameters, CancellationToken ct) =>
        planner.PlanAsync(clusterId, kind, parameters, ct);

    /// <summary>
    /// Setup's plan with the application's endpoints and pg_hba.conf lines (for the networks given, else those stored
    /// with the cluster). Throws <see cref="InvalidParametersException"/> for invalid networks; nothing is stored.
    /// </summary>
    public async Task<OperationPlanView?> PlanSetupAsync(Guid clusterId, SetupParameters parameters, CancellationToken ct)
    {
        parameters = CheckSetupParameters(parameters);
        if (await clusters.GetAsync(clusterId, ct) is not { } stored)
        {
            return null;
        }

        var plan = await PlanAsync(clusterId, SetupOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), ct);
        return plan is null ? null : plan with { ClientAccess = ClientAccess.Render(stored.Spec, parameters.ClientCidrs ?? stored.Spec.ClientCidrs) };
    }

    /// <summary>The parameters with their client networks validated and in canonical form; throws <see cref="InvalidParametersException"/>.</summary>
    public static SetupParameters CheckSetupParameters(SetupParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.ClientCidrs is not { } cidrs)
        {
            return parameters;
        }

        var errors = ClientNetworks.Validate(cidrs, parameters.AllowAnyClientAddress);
        if (errors.Count > 0)
        {
            throw new InvalidParametersException(errors);
        }

        return parameters with { ClientCidrs = ClientNetworks.Normalize(cidrs) };
    }

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

    /// <summary>
    /// Starts setup. Client networks given in <paramref name="parameters"/> are validated first (nothing starts when one
    /// is invalid: <see cref="InvalidParametersException"/>, audited) and, once setup started, stored with the cluster
    /// (audited with the old and new lists); without them the run uses the networks stored with the cluster.
    /// </summary>
    public async Task<Guid> StartSetupAsync(Guid clusterId, SetupParameters parameters, string actor, CancellationToken ct)
    {
        var stored = await clusters.GetAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        try
        {
            parameters = CheckSetupParameters(parameters);
        }
        catch (InvalidParametersException ex)
        {
            await audit.WriteAsync(actor, "operation." + SetupOperation.Kind, clusterId, stored.Spec.Name, "refused", ex.Message, ct);
            throw;
        }

        var id = await StartAsync(clusterId, SetupOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), actor, ct);
        if (parameters.ClientCidrs is { } cidrs && !cidrs.SequenceEqual(stored.Spec.ClientCidrs, StringComparer.Ordinal))
        {
            await clusters.SetClientCidrsAsync(clusterId, cidrs, ct);
            await audit.WriteAsync(actor, "cluster.client-networks", clusterId, stored.Spec.Name, "changed",
                $"[{string.Join(", ", stored.Spec.ClientCidrs)}] -> [{string.Join(", ", cidrs)}] (setup operation {id})", ct);
        }

        return id;
    }

    /// <summary>The switchover preflight report (read-only); null when the cluster does not exist.</summary>
    public Task<SwitchoverPreflightReport?> SwitchoverPreflightAsync(Guid clusterId, CancellationToken ct) => switchover.PreflightAsync(clusterId, ct);

    /// <summary>Starts a switchover after the operator typed the cluster's name and the preflight passed (see <see cref="SwitchoverGate"/>).</summary>
    public async Task<Guid> StartSwitchoverAsync(Guid clusterId, string? confirm, string actor, CancellationToken ct)
    {
        SwitchoverParameters parameters;
        try
        {
            parameters = await switchover.ParametersAsync(clusterId, confirm, ct);
        }
        catch (OperationRefusedException ex) when (ex.StatusCode != 404)
        {
            var name = (await clusters.GetAsync(clusterId, ct))?.Spec.Name ?? clusterId.ToString();
            await audit.WriteAsync(actor, "operation.switchover", clusterId, name, "refused", ex.AuditDetail, ct);
            throw;
        }

        return await StartAsync(clusterId, SwitchoverOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), actor, ct);
    }

    /// <summary>Adopts a running pair without rotating its secrets; 400 for bad parameters (before anything runs on a host).</summary>
    public Task<Guid> StartAdoptAsync(Guid clusterId, AdoptParameters parameters, string actor, CancellationToken ct) =>
        parameters.Validate() is { } problem
            ? throw new OperationRefusedException(problem, 400)
            : StartAsync(clusterId, AdoptOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), actor, ct);

    /// <summary>The adoption's plan (read-only): what the console would read and add.</summary>
    public Task<OperationPlanView?> PlanAdoptAsync(Guid clusterId, AdoptParameters parameters, CancellationToken ct) =>
        parameters.Validate() is { } problem
            ? throw new OperationRefusedException(problem, 400)
            : PlanAsync(clusterId, AdoptOperation.Kind, JsonSerializer.SerializeToElement(parameters, OperationJson.Options), ct);

    /// <summary>
    /// Rotates one secret of a running pair (Admin): the request validated first (400 naming the field: the secret, the
    /// typed cluster name, a given new secret), then the preflight against the hosts (409 with its reasons), then the
    /// operation. A new secret the Admin gives is stored encrypted as the pending one before the start, never in the
    /// journaled parameters. Every refusal and the start are audited (never with a secret).
    /// </summary>
    public async Task<Guid> StartRotateSecretAsync(Guid clusterId, RotateSecretRequest request, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var stored = await clusters.GetAsync(clusterId, ct) ?? throw new OperationRefusedException("No such cluster.", 404);
        var errors = SecretRotation.ValidateRequest(request.Secret, request.Confirm, stored.Spec.Name, request.NewSecret);
        if (errors.Count > 0)
        {
            await audit.WriteAsync(actor, "operation." + RotateOperation.Kind, clusterId, stored.Spec.Name, "refused",
                string.Join(" ", errors.Select(e => $"{e.Field}: {e.Message}")), ct);
            throw new InvalidParametersException(errors);
        }

        SecretRotation.TryParse(request.Secret, out var secret);
        try
        {
            await rotate.CheckAsync(clusterId, secret, ct);
        }
        catch (OperationRefusedException ex) when (ex.StatusCode != 404)
        {
            await audit.WriteAsync(actor, "operation." + RotateOperation.Kind, clusterId, stored.Spec.Name, "refused", $"{request.Secret}: {ex.AuditDetail}", ct);
            throw;
        }

        var parameters = JsonSerializer.SerializeToElement(new RotateSecretParameters { Secret = request.Secret, Confirm = request.Confirm }, OperationJson.Options);
        if (request.NewSecret is not { } given)
        {
            return await StartAsync(clusterId, RotateOperation.Kind, parameters, actor, ct);
        }

        var before = await rotate.StagePendingAsync(clusterId, secret, given, ct);
        try
        {
            return await StartAsync(clusterId, RotateOperation.Kind, parameters, actor, ct);
        }
        catch (OperationRefusedException)
        {
            await rotate.UnstageAsync(clusterId, before, CancellationToken.None);
            throw;
        }
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
            JsonSerializer.SerializeToElement(new RejoinParameters { Node = node, ConfirmHost = confirmHost }, OperationJson.Options), actor, ct);
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
}
