using System.Globalization;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using MudBlazor.Charts;
using PgHaConsole.Core.History;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages;

/// <summary>Graphs of lag, connections and availability per node, and the event timeline, on one time range.</summary>
public sealed partial class History
{
    private readonly List<ChartModel> _charts = [];
    private IReadOnlyList<(Guid Id, string Name)> _clusters = [];
    private Guid? _selected;
    private string _rangeKey = "1h";
    private string? _customFrom;
    private string? _customTo;
    private HistoryView? _view;
    private string? _error;
    private bool _loaded;

    [Parameter]
    public Guid? ClusterId { get; set; }

    [Inject]
    public required HistoryService Service { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    protected override async Task OnParametersSetAsync()
    {
        if (!_loaded)
        {
            _clusters = await Service.ListClustersAsync(CancellationToken.None);
            _loaded = true;
        }

        _selected = ClusterId is { } id && _clusters.Any(c => c.Id == id) ? id : _selected ?? (_clusters.Count > 0 ? _clusters[0].Id : null);
        await LoadAsync();
    }

    private async Task SelectClusterAsync(Guid? id)
    {
        _selected = id;
        if (id is { } value)
        {
            Navigation.NavigateTo($"/history/{value}", replace: true);
        }

        await LoadAsync();
    }

    private async Task SelectRangeAsync(string key)
    {
        _rangeKey = key;
        if (key == "custom")
        {
            // Start from what is shown, so the pickers hold sensible values.
            var now = Service.Now;
            _customFrom ??= (_view?.From ?? now.AddHours(-1)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
            _customTo ??= (_view?.To ?? now).UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
            return;
        }

        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        _error = null;
        if (_selected is not { } clusterId)
        {
            _view = null;
            return;
        }

        DateTimeOffset from, to;
        if (_rangeKey == "custom")
        {
            if (!TryParseUtc(_customFrom, out from) || !TryParseUtc(_customTo, out to))
            {
                _error = "Enter both dates and times.";
                return;
            }
        }
        else
        {
            to = Service.Now;
            from = to - HistoryService.Ranges.First(r => r.Key == _rangeKey).Length;
        }

        if (HistoryService.ValidateRange(from, to) is { } error)
        {
            _error = error;
            return;
        }

        try
        {
            _view = await Service.GetAsync(clusterId, from, to, CancellationToken.None);
            BuildCharts(_view);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _error = "The history could not be read: " + ex.Message;
        }
    }

    private void BuildCharts(HistoryView view)
    {
        _charts.Clear();
        var format = (view.To - view.From) > TimeSpan.FromDays(2) ? "MM-dd HH:mm" : "HH:mm";
        _charts.Add(Chart("chart-lag-bytes", "Replication lag (bytes)", view, p => p.LagBytes, format));
        _charts.Add(Chart("chart-lag-seconds", "Replication lag (seconds)", view, p => p.LagSeconds, format));
        _charts.Add(Chart("chart-connections", "Connections", view, p => p.Connections, format));
        _charts.Add(Chart("chart-availability", "Availability (%)", view, p => p.Availability * 100, format));
    }

    private static ChartModel Chart(string testId, string title, HistoryView view, Func<HistoryPoint, double?> value, string timeFormat)
    {
        var series = view.Nodes.Select(n => new ChartSeries<double>
        {
            Name = n.Key,
            Data = n.Value
                .Where(p => value(p) is not null)
                .Select(p => new TimeValue<double>(DateTimeOffset.FromUnixTimeMilliseconds(p.AtMs).UtcDateTime, value(p)!.Value))
                .ToList(),
        }).ToList();
        var options = new TimeSeriesChartOptions { TimeLabelFormat = timeFormat };
        return new ChartModel(testId, title, series, options);
    }

    private static bool TryParseUtc(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    private static string ResolutionText(int seconds) => seconds switch
    {
        0 => "raw samples",
        60 => "1-minute averages",
        _ => "1-hour averages",
    };

    private static Color SeverityColor(HealthEventSeverity severity) => severity switch
    {
        HealthEventSeverity.Critical => Color.Error,
        HealthEventSeverity.Warning => Color.Warning,
        _ => Color.Info,
    };

    private sealed record ChartModel(string TestId, string Title, List<ChartSeries<double>> Series, TimeSeriesChartOptions Options);
}
