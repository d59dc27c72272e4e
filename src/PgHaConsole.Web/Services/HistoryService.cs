using PgHaConsole.Core.History;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>A cluster's history over a range: graph points per node and the event timeline.</summary>
public sealed record HistoryView(
    Guid ClusterId,
    DateTimeOffset From,
    DateTimeOffset To,
    int ResolutionSeconds,
    IReadOnlyDictionary<string, IReadOnlyList<HistoryPoint>> Nodes,
    IReadOnlyList<HealthEvent> Events);

/// <summary>A named choice of the history page: 1h, 24h, 7d, 30d.</summary>
public sealed record HistoryRange(string Key, string Label, TimeSpan Length);

/// <summary>What the history page and the history API read; the page never touches the store.</summary>
public sealed class HistoryService(IHistoryStore store, IClusterRepository clusters, TimeProvider time)
{
    public const int MaximumEvents = 2000;

    /// <summary>The longest range a request may ask for (hour rollups are kept a year by default).</summary>
    public static readonly TimeSpan MaximumRange = TimeSpan.FromDays(400);

    public static readonly IReadOnlyList<HistoryRange> Ranges =
    [
        new("1h", "1 hour", TimeSpan.FromHours(1)),
        new("24h", "24 hours", TimeSpan.FromHours(24)),
        new("7d", "7 days", TimeSpan.FromDays(7)),
        new("30d", "30 days", TimeSpan.FromDays(30)),
    ];

    public DateTimeOffset Now => time.GetUtcNow();

    public async Task<IReadOnlyList<(Guid Id, string Name)>> ListClustersAsync(CancellationToken ct) =>
        (await clusters.ListAsync(ct)).Select(c => (c.Spec.Id, c.Spec.Name)).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Null when the range is not valid (from ≥ to, or longer than <see cref="MaximumRange"/>).</summary>
    public static string? ValidateRange(DateTimeOffset from, DateTimeOffset to) =>
        from >= to ? "'from' must be before 'to'."
        : to - from > MaximumRange ? $"The range is at most {MaximumRange.TotalDays} days."
        : null;

    public async Task<HistoryView> GetAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var series = await store.QueryGraphAsync(clusterId, from, to, ct);
        var events = await store.GetEventsAsync(clusterId, from, to, MaximumEvents, ct);
        var nodes = series.Points
            .GroupBy(p => p.Node, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<HistoryPoint>)g.OrderBy(p => p.AtMs).ToList(), StringComparer.Ordinal);
        return new HistoryView(clusterId, from, to, series.ResolutionSeconds, nodes, events);
    }

    public Task<IReadOnlyList<HealthEvent>> GetEventsAsync(Guid clusterId, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct) =>
        store.GetEventsAsync(clusterId, from, to, Math.Clamp(limit, 1, HistoryStore.MaximumEvents), ct);
}
