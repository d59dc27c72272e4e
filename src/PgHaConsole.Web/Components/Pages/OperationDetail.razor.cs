using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>
/// One operation: its steps and status, its log live (backlog then new lines, from the one log store), the clone's
/// progress, its error and, for operators, Resume.
/// </summary>
public sealed partial class OperationDetail : IAsyncDisposable
{
    /// <summary>How often pending lines are drawn: a burst of pg_basebackup output must not redraw per line.</summary>
    private static readonly TimeSpan RenderInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Status and steps are re-read every 20 ticks (2 s) while the operation is not finished.</summary>
    private const int RefreshEveryTicks = 20;

    private readonly CancellationTokenSource _cts = new();
    private readonly OperationLogBuffer _log = new();
    private IReadOnlyList<OperationLogLine> _lines = [];
    private OperationView? _op;
    private string? _clusterName;
    private bool _notFound;
    private bool _isOperator;
    private System.Security.Claims.ClaimsPrincipal _user = new();

    /// <summary>The role that may start this kind may resume it (setup: Admin).</summary>
    private bool MayResume => _op is not null && Auth.ResumePolicy.MayResume(_user, _op.Kind);
    private volatile bool _following;
    private volatile bool _dirty;
    private bool _resuming;
    private string? _resumeWipeHost;
    private string? _resumeConfirm;
    private string? _resumeError;
    private PeriodicTimer? _timer;
    private Task? _timerTask;
    private Task? _watchTask;
    private int _refreshing;

    [Parameter]
    public Guid OperationId { get; set; }

    [Inject]
    public required OperationService Operations { get; init; }

    /// <summary>The topology monitor: its latest picture of the operation's cluster is shown beside a stopped operation.</summary>
    [Inject]
    public required Infrastructure.Topology.ITopologyMonitor Topology { get; init; }

    private Core.Topology.ClusterTopology? LivePair() => _op is null ? null : Topology.GetLatest(_op.ClusterId);

    [Inject]
    public required ClusterService Clusters { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private DateTimeOffset Now => Time.GetUtcNow();

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthState).User;
        _user = user;
        _isOperator = user.IsInRole(ConsoleRoles.Operator) || user.IsInRole(ConsoleRoles.Admin);

        var op = await Operations.GetAsync(OperationId, _cts.Token);
        if (op is null)
        {
            _notFound = true;
            return;
        }

        _clusterName = (await Clusters.GetAsync(op.ClusterId, _cts.Token))?.Name ?? op.ClusterId.ToString();
        Apply(op);
        if (!RendererInfo.IsInteractive)
        {
            // Prerendering: the journal's state is enough; the interactive render that follows does the following.
            _lines = await Operations.ReadLogAsync(OperationId, 0, OperationLogBuffer.DefaultCapacity, _cts.Token);
            return;
        }

        StartWatching();
        _timer = new PeriodicTimer(RenderInterval, Time);
        _timerTask = TickAsync(_timer, _cts.Token);
    }

    private void Apply(OperationView op)
    {
        _op = op;
        _log.CloneStepOrdinal = op.Steps.FirstOrDefault(s => s.Name == SetupWizardModel.CloneStandbyStep)?.Ordinal;
        _resumeWipeHost = SetupWizardModel.ResumeWipeHost(op);
        _lines = _log.Snapshot();
        _dirty = false;
    }

    private void StartWatching()
    {
        _following = true;
        var ct = _cts.Token;
        // A background task, so a long backlog or a quiet operation never holds the circuit's dispatcher.
        _watchTask = Task.Run(() => WatchAsync(ct), ct);
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var line in Operations.WatchLogAsync(OperationId, ct))
            {
                _dirty = true;
                if (_log.Add(line))
                {
                    // A new step started: its status and the previous step's outcome are in the journal now.
                    _ = RefreshAsync(ct);
                }
            }

            _following = false;
            await RefreshAsync(ct);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // the page went away
        }
        finally
        {
            _following = false;
        }
    }

    private async Task TickAsync(PeriodicTimer timer, CancellationToken ct)
    {
        var ticks = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                ticks++;
                if (ticks % RefreshEveryTicks == 0 && _op is { } op && !SetupWizardModel.IsFinished(op.Status))
                {
                    await RefreshAsync(ct);
                }
                else if (_dirty)
                {
                    await InvokeAsync(() =>
                    {
                        _dirty = false;
                        _lines = _log.Snapshot();
                        StateHasChanged();
                    });
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // the page went away
        }
    }

    /// <summary>Re-reads the operation (status, steps) and redraws; overlapping calls are dropped.</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return;
        }

        try
        {
            if (await Operations.GetAsync(OperationId, ct) is { } op)
            {
                await InvokeAsync(() =>
                {
                    Apply(op);
                    StateHasChanged();
                });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // the page went away
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>Back to the start of an interrupted switchover (refused once the standby was promoted).</summary>
    private async Task RollBackAsync()
    {
        _resuming = true;
        _resumeError = null;
        try
        {
            var actor = (await AuthState).User.Identity?.Name ?? "anonymous";
            await Operations.RollBackAsync(OperationId, actor, _cts.Token);
            if (await Operations.GetAsync(OperationId, _cts.Token) is { } op)
            {
                Apply(op);
            }
        }
        catch (Exception ex) when (ex is OperationRefusedException or StepFailedException)
        {
            _resumeError = ex.Message;
        }
        finally
        {
            _resuming = false;
        }
    }

    private async Task ResumeAsync()
    {
        if (!SetupWizardModel.CanResume(MayResume, _op, _resumeConfirm, _resuming))
        {
            return;
        }

        _resuming = true;
        _resumeError = null;
        try
        {
            await Operations.ResumeAsync(OperationId, SetupWizardModel.ResumeParameters(_resumeWipeHost, _resumeConfirm), (await AuthState).User, _cts.Token);
            _resumeConfirm = null;
            if (await Operations.GetAsync(OperationId, _cts.Token) is { } op)
            {
                Apply(op);
            }

            if (!_following)
            {
                // The earlier watch ended with the failure; the new run's lines follow the old ones (duplicates dropped).
                if (_watchTask is not null)
                {
                    await _watchTask;
                }

                StartWatching();
            }
        }
        catch (OperationRefusedException ex)
        {
            _resumeError = ex.Message;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _resumeError = "The operation could not be resumed: " + ex.Message;
        }
        finally
        {
            _resuming = false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _timer?.Dispose();
        foreach (var task in new[] { _watchTask, _timerTask })
        {
            if (task is not null)
            {
                try
                {
                    await task;
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    // expected on the way out
                }
            }
        }

        _cts.Dispose();
    }
}
