using Microsoft.AspNetCore.Components;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>The live picture of one cluster: subscribes to the monitor and redraws on every new picture.</summary>
public sealed partial class Topology : IDisposable
{
    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required ITopologyMonitor Monitor { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Parameter]
    public Guid? ClusterId { get; set; }

    private IReadOnlyList<ClusterSpec>? _clusters;
    private ClusterSpec? _selected;
    private ClusterTopology? _topology;
    private CancellationTokenSource? _watch;

    protected override async Task OnInitializedAsync() =>
        _clusters = await ClusterService.ListAsync(CancellationToken.None);

    protected override void OnParametersSet()
    {
        if (_clusters is null)
        {
            return;
        }

        var wanted = ClusterId is { } id ? _clusters.FirstOrDefault(c => c.Id == id) : _clusters.FirstOrDefault();
        if (wanted?.Id == _selected?.Id && _watch is not null)
        {
            return;
        }

        _selected = wanted;
        _topology = wanted is null ? null : Monitor.GetLatest(wanted.Id);
        StartWatching();
    }

    private void StartWatching()
    {
        _watch?.Cancel();
        _watch?.Dispose();
        _watch = null;
        if (_selected is null)
        {
            return;
        }

        _watch = new CancellationTokenSource();
        _ = WatchAsync(_selected.Id, _watch.Token);
    }

    private async Task WatchAsync(Guid clusterId, CancellationToken ct)
    {
        try
        {
            if (Monitor.GetLatest(clusterId) is null)
            {
                // Before the first poll of a new cluster: ask for a picture now rather than wait for the next round.
                _ = Monitor.ProbeNowAsync(clusterId, ct);
            }

            await foreach (var topology in Monitor.WatchAsync(clusterId, ct))
            {
                _topology = topology;
                await InvokeAsync(StateHasChanged);
            }
        }
        catch (OperationCanceledException)
        {
            // page left or another cluster selected
        }
        catch (ObjectDisposedException)
        {
            // circuit gone
        }
    }

    private void SelectAsync(Guid id) => Navigation.NavigateTo($"topology/{id}");

    public void Dispose()
    {
        _watch?.Cancel();
        _watch?.Dispose();
    }
}
