using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Components.Pages.Clusters;

public sealed partial class ClusterEdit
{
    [Parameter]
    public Guid? Id { get; set; }

    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required ConnectionTestService ConnectionTests { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private ClusterInput _input = new();
    private Dictionary<string, string> _errors = [];
    private bool _notFound;
    private bool _saving;
    private bool _testing;
    private ConnectionReport? _report;

    private bool IsNew => Id is null;

    protected override async Task OnParametersSetAsync()
    {
        _report = null;
        _errors = [];
        if (Id is { } id)
        {
            var cluster = await ClusterService.GetAsync(id, CancellationToken.None);
            _notFound = cluster is null;
            if (cluster is not null)
            {
                _input = ClusterInput.From(cluster);
            }
        }
        else
        {
            _input = new ClusterInput();
        }
    }

    private async Task<string> ActorAsync() => (await AuthState).User.Identity?.Name ?? "anonymous";

    private async Task SaveAsync()
    {
        _saving = true;
        try
        {
            var actor = await ActorAsync();
            var result = Id is { } id
                ? await ClusterService.UpdateAsync(id, _input, actor, CancellationToken.None)
                : await ClusterService.CreateAsync(_input, actor, CancellationToken.None);
            if (result.NotFound)
            {
                _notFound = true;
                return;
            }

            if (!result.Succeeded)
            {
                _errors = result.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => string.Join(" ", g.Select(e => e.Message)));
                Snackbar.Add("Nothing was saved: correct the fields marked in red.", Severity.Error);
                return;
            }

            _errors = [];
            Snackbar.Add($"Saved {result.Value!.Name}", Severity.Success);
            if (IsNew)
            {
                Navigation.NavigateTo($"clusters/{result.Value.Id}");
            }
        }
        finally
        {
            _saving = false;
        }
    }

    private async Task TestConnectionAsync()
    {
        _testing = true;
        try
        {
            _report = await ConnectionTests.TestAsync(Id!.Value, await ActorAsync(), CancellationToken.None);
        }
        finally
        {
            _testing = false;
        }
    }

    private async Task ConfirmAsync(NodeConnectionResult node)
    {
        var error = await ConnectionTests.ConfirmHostKeyAsync(Id!.Value, node.NodeId, node.Fingerprint ?? "", await ActorAsync(), CancellationToken.None);
        if (string.IsNullOrEmpty(error))
        {
            Snackbar.Add($"Host key of {node.Name} pinned", Severity.Success);
            await TestConnectionAsync();
        }
        else
        {
            Snackbar.Add(error, Severity.Error);
        }
    }
}
