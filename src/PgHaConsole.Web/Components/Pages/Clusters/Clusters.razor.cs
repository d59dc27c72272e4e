using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using PgHaConsole.Core.Model;
using PgHaConsole.Web.Components.Dialogs;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages.Clusters;

public sealed partial class Clusters
{
    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private IReadOnlyList<ClusterSpec>? _clusters;

    protected override async Task OnInitializedAsync() => await LoadAsync();

    private async Task LoadAsync() => _clusters = await ClusterService.ListAsync(CancellationToken.None);

    private async Task<string> ActorAsync() => (await AuthState).User.Identity?.Name ?? "anonymous";

    private async Task OpenImportLab()
    {
        var dialog = await Dialogs.ShowAsync<ImportLabDialog>("Import the lab's cluster");
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: ClusterSpec imported })
        {
            Snackbar.Add($"Imported {imported.Name}: host keys pinned from lab.json", Severity.Success);
            Navigation.NavigateTo($"clusters/{imported.Id}");
        }
    }

    private async Task RemoveAsync(ClusterSpec cluster)
    {
        var confirmed = await Dialogs.ShowMessageBoxAsync(
            "Remove cluster",
            $"Remove {cluster.Name} from the console? Nothing changes on its hosts; its stored secrets are deleted.",
            yesText: "Remove", cancelText: "Cancel");
        if (confirmed != true)
        {
            return;
        }

        await ClusterService.DeleteAsync(cluster.Id, await ActorAsync(), CancellationToken.None);
        Snackbar.Add($"Removed {cluster.Name}", Severity.Info);
        await LoadAsync();
    }
}
