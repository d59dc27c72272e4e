using System.Globalization;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Core.History;

/// <summary>Names of the alert rules (what the webhook's <c>rule</c> field says).</summary>
public static class AlertRuleNames
{
    public const string Lag = "lag";
    public const string StandbyNotStreaming = "standby-not-streaming";
    public const string SplitBrain = "split-brain";
    public const string WriteVipNotOnPrimary = "write-vip-not-on-primary";
    public const string HostDown = "host-down";
}

/// <summary>Thresholds of the alert rules.</summary>
public sealed record AlertThresholds
{
    /// <summary>A standby lagging more than this many bytes is lagging; null disables the byte criterion.</summary>
    public long? LagBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>A standby lagging more than this many seconds is lagging; null disables the seconds criterion.</summary>
    public double? LagSeconds { get; init; } = 30;

    /// <summary>How long lag, a standby not streaming, a host down or the write VIP off the primary must last before the alert fires.</summary>
    public TimeSpan For { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long split brain must last before it fires; 0 = at once.</summary>
    public TimeSpan SplitBrainFor { get; init; } = TimeSpan.Zero;
}

public enum AlertStatus
{
    Firing,
    Resolved,
}

/// <summary>One message to send: an alert started firing, or it resolved.</summary>
public sealed record AlertNotification
{
    public required Guid ClusterId { get; init; }

    public required string Cluster { get; init; }

    public required string Rule { get; init; }

    public required AlertStatus Status { get; init; }

    public string? Node { get; init; }

    public required string Title { get; init; }

    public required string Message { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>When the condition was first seen (firing) or when the alert fired (resolved).</summary>
    public DateTimeOffset Since { get; init; }

    /// <summary>Identity of the alert for dedup: cluster, rule and node.</summary>
    public string Key => ClusterId.ToString("N") + "/" + Rule + "/" + (Node ?? "*");
}

/// <summary>
/// Evaluates the alert rules on each picture. Per (cluster, rule, node) a small state machine: a condition seen first
/// is pending; held for the rule's duration it fires (one notification); while it keeps holding nothing more is sent;
/// when it clears a firing alert sends one "resolved" and a pending one is forgotten silently. Not thread-safe: one
/// recorder calls it.
/// </summary>
public sealed class AlertEvaluator(AlertThresholds thresholds)
{
    private readonly Dictionary<string, AlertState> _states = new(StringComparer.Ordinal);

    /// <summary>Alerts currently firing (for the API and metrics).</summary>
    public IReadOnlyList<AlertNotification> Firing => _states.Values.Where(s => s.Fired is not null).Select(s => s.Fired!).ToList();

    public IReadOnlyList<AlertNotification> Evaluate(ClusterTopology picture, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(picture);
        var notifications = new List<AlertNotification>();
        var holding = Conditions(picture).ToDictionary(c => Key(picture.ClusterId, c.Rule, c.Node), StringComparer.Ordinal);

        foreach (var (key, condition) in holding)
        {
            if (!_states.TryGetValue(key, out var state))
            {
                state = new AlertState(now);
                _states[key] = state;
            }

            var hold = condition.Rule == AlertRuleNames.SplitBrain ? thresholds.SplitBrainFor : thresholds.For;
            if (state.Fired is null && now - state.Since >= hold)
            {
                state.Fired = new AlertNotification
                {
                    ClusterId = picture.ClusterId,
                    Cluster = picture.ClusterName,
                    Rule = condition.Rule,
                    Status = AlertStatus.Firing,
                    Node = condition.Node,
                    Title = condition.Title,
                    Message = condition.Message,
                    At = now,
                    Since = state.Since,
                };
                notifications.Add(state.Fired);
            }
        }

        var prefix = picture.ClusterId.ToString("N") + "/";
        foreach (var key in _states.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !holding.ContainsKey(k)).ToList())
        {
            if (_states[key].Fired is { } fired)
            {
                notifications.Add(fired with
                {
                    Status = AlertStatus.Resolved,
                    Title = "Resolved: " + fired.Title,
                    Message = "The condition has cleared: " + fired.Message,
                    At = now,
                    Since = fired.At,
                });
            }

            _states.Remove(key);
        }

        return notifications;
    }

    private static string Key(Guid clusterId, string rule, string? node) => clusterId.ToString("N") + "/" + rule + "/" + (node ?? "*");

    private IEnumerable<Condition> Conditions(ClusterTopology p)
    {
        bool HasAlarm(string code, string? node) => p.Alarms.Any(a => a.Code == code && (node is null || a.Node == node));

        foreach (var node in p.Nodes)
        {
            if (!node.SshReachable || HasAlarm(AlarmCodes.HostUnreachable, node.Name))
            {
                yield return new Condition(AlertRuleNames.HostDown, node.Name, $"{node.Name} is down", $"Host {node.Name} ({node.Address}) does not answer over SSH.");

                // A host that cannot be reached says nothing about its standby: do not add lag or streaming alerts.
                continue;
            }

            if (node.Role != NodeRole.Standby)
            {
                continue;
            }

            if (HasAlarm(AlarmCodes.StandbyNotStreaming, node.Name) || !EventDeriver.IsStreaming(node))
            {
                yield return new Condition(AlertRuleNames.StandbyNotStreaming, node.Name, $"{node.Name} is not streaming",
                    $"Standby {node.Name} is not streaming from the primary (WAL receiver: {node.WalReceiver?.Status ?? "none"}).");
            }

            var overBytes = thresholds.LagBytes is { } maxBytes && node.LagBytes is { } lb && lb > maxBytes;
            var overSeconds = thresholds.LagSeconds is { } maxSeconds && node.LagSeconds is { } ls && ls > maxSeconds;
            if (overBytes || overSeconds)
            {
                yield return new Condition(AlertRuleNames.Lag, node.Name, $"{node.Name} lags behind",
                    string.Create(CultureInfo.InvariantCulture,
                        $"Standby {node.Name} lags {node.LagBytes?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes, {node.LagSeconds?.ToString("0.###", CultureInfo.InvariantCulture) ?? "?"} s (thresholds {thresholds.LagBytes?.ToString(CultureInfo.InvariantCulture) ?? "-"} bytes, {thresholds.LagSeconds?.ToString(CultureInfo.InvariantCulture) ?? "-"} s)."));
            }
        }

        var primaries = p.Nodes.Where(n => n.Role == NodeRole.Primary).Select(n => n.Name).ToList();
        if (primaries.Count > 1 || HasAlarm(AlarmCodes.SplitBrainPrimaries, null) || HasAlarm(AlarmCodes.SplitBrainVip, null))
        {
            var what = primaries.Count > 1 ? $"{string.Join(" and ", primaries)} are both primary" : "both nodes hold the write VIP";
            yield return new Condition(AlertRuleNames.SplitBrain, null, "Split brain", $"Split brain in {p.ClusterName}: {what}.");
        }

        if ((p.Primary is { } primary && p.WriteVipHolder is var holder && !string.Equals(holder, primary.Name, StringComparison.Ordinal))
            || HasAlarm(AlarmCodes.WriteVipNotOnPrimary, null))
        {
            yield return new Condition(AlertRuleNames.WriteVipNotOnPrimary, null, "Write VIP not on the primary",
                $"The write VIP is on {p.WriteVipHolder ?? "no node"}, the primary is {p.Primary?.Name ?? "unknown"}.");
        }
    }

    private sealed record Condition(string Rule, string? Node, string Title, string Message);

    private sealed class AlertState(DateTimeOffset since)
    {
        public DateTimeOffset Since { get; } = since;

        public AlertNotification? Fired { get; set; }
    }
}
