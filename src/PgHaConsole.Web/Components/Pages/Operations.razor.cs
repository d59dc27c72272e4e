using Microsoft.AspNetCore.Components;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>Recent operations over every cluster, newest first; each links to its journal and live log.</summary>
public sealed partial class Operations
{
    private const int Limit = 100;

    private IReadOnlyList<OperationView>? _operations;
    private Dictionary<Guid, string> _clusterNames = [];

    [Inject]
    public required OperationService OperationService { get; init; }

    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    protected override async Task OnInitializedAsync() => await LoadAsync();

    private async Task LoadAsync()
    {
        _clusterNames = (await ClusterService.ListAsync(CancellationToken.None)).ToDictionary(c => c.Id, c => c.Name);
        _operations = await OperationService.ListAllAsync(Limit, CancellationToken.None);
    }

    private string ClusterName(Guid id) => _clusterNames.TryGetValue(id, out var name) ? name : id.ToString();
}
