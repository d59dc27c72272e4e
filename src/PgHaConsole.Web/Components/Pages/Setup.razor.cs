using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>The setup wizard: pick a cluster, see the plan (read from the hosts, nothing changes), confirm a wipe if any, run.</summary>
public sealed partial class Setup : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private IReadOnlyList<ClusterSpec>? _clusters;
    private Guid? _selected;
    private bool _installPackages;
    private string _actor = "anonymous";
    private bool _isAdmin;
    private bool _planning;
    private bool _starting;
    private OperationPlanView? _plan;
    private string? _confirm;
    private string? _error;
    private string? _networksText;
    private bool _allowAny;
    private ClientNetworksInput _networks = SetupWizardModel.ReadClientNetworks(null, false);

    [Parameter]
    public Guid? ClusterId { get; set; }

    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required OperationService OperationService { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private bool CanRun => _networks.Valid && SetupWizardModel.CanRun(_isAdmin, _plan, _confirm, _starting || _planning);

    protected override async Task OnInitializedAsync()
    {
        _isAdmin = (await AuthState).User.IsInRole(ConsoleRoles.Admin);
        _actor = (await AuthState).User.Identity?.Name ?? "anonymous";
        _clusters = await ClusterService.ListAsync(_cts.Token);
    }

    protected override void OnParametersSet()
    {
        if (_clusters is null)
        {
            return;
        }

        var wanted = ClusterId is { } id && _clusters.Any(c => c.Id == id) ? id : _selected ?? _clusters.FirstOrDefault()?.Id;
        if (wanted != _selected)
        {
            _selected = wanted;
            LoadNetworks();
            ResetPlan();
        }
    }

    /// <summary>The field starts with the networks stored with the selected cluster.</summary>
    private void LoadNetworks()
    {
        var stored = _clusters?.FirstOrDefault(c => c.Id == _selected)?.ClientCidrs ?? [];
        _networksText = string.Join('\n', stored);
        _allowAny = stored.Any(ClientNetworks.IsAnyAddress);
        _networks = SetupWizardModel.ReadClientNetworks(_networksText, _allowAny);
    }

    private void SetNetworksText(string? value)
    {
        // The plan shows the lines for these networks: show it again.
        _networksText = value;
        _networks = SetupWizardModel.ReadClientNetworks(value, _allowAny);
        ResetPlan();
    }

    private void SetAllowAny(bool value)
    {
        _allowAny = value;
        _networks = SetupWizardModel.ReadClientNetworks(_networksText, value);
        ResetPlan();
    }

    private Task SelectClusterAsync(Guid? id)
    {
        _selected = id;
        LoadNetworks();
        ResetPlan();
        if (id is { } value)
        {
            Navigation.NavigateTo($"/setup/{value}", replace: true);
        }

        return Task.CompletedTask;
    }

    private void SetInstallPackages(bool value)
    {
        // The plan depends on the choice (preflight's installs): show it again.
        _installPackages = value;
        ResetPlan();
    }

    private void ResetPlan()
    {
        _plan = null;
        _confirm = null;
        _error = null;
    }

    private async Task ShowPlanAsync()
    {
        if (_selected is not { } clusterId || _planning || !_networks.Valid)
        {
            return;
        }

        ResetPlan();
        _planning = true;
        StateHasChanged();
        try
        {
            _plan = await OperationService.PlanSetupAsync(clusterId, SetupWizardModel.Parameters(_installPackages, null, null, _networks), _cts.Token);
            if (_plan is null)
            {
                _error = "The cluster no longer exists.";
            }
        }
        catch (InvalidParametersException ex)
        {
            _error = ex.Message;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _error = "The plan could not be computed: " + ex.Message;
        }
        finally
        {
            _planning = false;
        }
    }

    private async Task RunAsync()
    {
        if (_selected is not { } clusterId || !CanRun)
        {
            return;
        }

        _starting = true;
        _error = null;
        try
        {
            var actor = (await AuthState).User.Identity?.Name ?? "anonymous";
            var id = await OperationService.StartSetupAsync(clusterId, SetupWizardModel.Parameters(_installPackages, _plan, _confirm, _networks), actor, _cts.Token);
            Navigation.NavigateTo($"/operations/{id}");
        }
        catch (OperationRefusedException ex)
        {
            _error = ex.Message;
        }
        catch (InvalidParametersException ex)
        {
            _error = ex.Message;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _error = "Setup could not be started: " + ex.Message;
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
