using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Web.ViewModels;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>The on-call page: switchover (preflight, typed confirmation, button), failover when the primary is lost, rejoin and rebuild per node.</summary>
public sealed partial class Switchover : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Dictionary<string, string?> _nodeConfirm = new(StringComparer.Ordinal);
    private ClusterSpec? _cluster;
    private bool _loaded;
    private bool _isOperator;
    private bool _checking;
    private bool _starting;
    private SwitchoverPreflightReport? _report;
    private string? _confirm;
    private string? _error;
    private bool _checkingFailover;
    private FailoverPreflightReport? _failoverReport;
    private int _failoverRechecks;
    private bool _failoverRecheckPending;
    private string? _failoverConfirm;

    [Parameter]
    public Guid ClusterId { get; set; }

    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required OperationService OperationService { get; init; }

    [Inject]
    public required FailoverService FailoverService { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private string? Typed(string node) => _nodeConfirm.GetValueOrDefault(node);

    protected override async Task OnInitializedAsync()
    {
        var user = (await AuthState).User;
        _isOperator = user.IsInRole(ConsoleRoles.Operator) || user.IsInRole(ConsoleRoles.Admin);
        _cluster = await ClusterService.GetAsync(ClusterId, _cts.Token);
        _loaded = true;
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender && _cluster is not null)
        {
            await PreflightAsync();
            if (_report is { CanSwitch: false })
            {
                // No healthy pair to switch over: the on-call engineer is probably here for the failover.
                await FailoverPreflightAsync();
            }
        }
    }

    private async Task PreflightAsync()
    {
        _checking = true;
        _error = null;
        StateHasChanged();
        try
        {
            _report = await OperationService.SwitchoverPreflightAsync(ClusterId, _cts.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _error = "The preflight could not run: " + ex.Message;
        }
        finally
        {
            _checking = false;
            StateHasChanged();
        }
    }

    /// <summary>The engineer's check: the page's own re-checks start counting again from it.</summary>
    private Task FailoverPreflightAsync()
    {
        _failoverRechecks = 0;
        return CheckFailoverAsync();
    }

    private async Task CheckFailoverAsync()
    {
        if (_checkingFailover)
        {
            return;
        }

        _checkingFailover = true;
        _error = null;
        StateHasChanged();
        try
        {
            _failoverReport = await FailoverService.PreflightAsync(ClusterId, _cts.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _error = "The failover preflight could not run: " + ex.Message;
        }
        finally
        {
            _checkingFailover = false;
            StateHasChanged();
        }

        ScheduleFailoverRecheck();
    }

    /// <summary>Checks again in a few seconds while the failover is not possible yet (see <see cref="SwitchoverModel.ShouldRecheckFailover"/>).</summary>
    private void ScheduleFailoverRecheck()
    {
        if (_failoverRecheckPending || _cts.IsCancellationRequested || !SwitchoverModel.ShouldRecheckFailover(_failoverReport, _failoverRechecks))
        {
            return;
        }

        _failoverRecheckPending = true;
        var token = _cts.Token;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(SwitchoverModel.FailoverRecheckInterval, Time, token);
                await InvokeAsync(async () =>
                {
                    if (token.IsCancellationRequested)
                    {
                        return;
                    }

                    _failoverRecheckPending = false;
                    _failoverRechecks++;
                    await CheckFailoverAsync();
                });
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // The page was left.
            }
        }, CancellationToken.None);
    }

    private Task FailOverAsync() =>
        StartAsync(async actor => await FailoverService.StartAsync(ClusterId, _failoverConfirm, actor, _cts.Token));

    private async Task SwitchAsync()
    {
        await StartAsync(async actor => await OperationService.StartSwitchoverAsync(ClusterId, _confirm, actor, _cts.Token));
    }

    private Task NodeActionAsync(string node, bool rebuild) =>
        StartAsync(async actor => await OperationService.StartRejoinAsync(ClusterId, node, Typed(node), rebuild, actor, _cts.Token));

    private async Task StartAsync(Func<string, Task<Guid>> start)
    {
        _starting = true;
        _error = null;
        try
        {
            var actor = (await AuthState).User.Identity?.Name ?? "unknown";
            var id = await start(actor);
            Navigation.NavigateTo($"/operations/{id}");
        }
        catch (OperationRefusedException ex)
        {
            _error = ex.Message;
        }
        finally
        {
            _starting = false;
        }
    }

    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
    }
}
