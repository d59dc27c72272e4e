using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Web.ViewModels;

/// <summary>The rules of the switchover page, testable without rendering.</summary>
public static class SwitchoverModel
{
    /// <summary>The button is enabled only for an Operator, after a passing preflight, with the cluster's name typed exactly.</summary>
    public static bool CanSwitch(bool isOperator, SwitchoverPreflightReport? report, string clusterName, string? typed, bool busy) =>
        isOperator && !busy && report is { CanSwitch: true } && string.Equals(typed, clusterName, StringComparison.Ordinal);

    /// <summary>The failover button: an Operator, a preflight that allows it (the primary lost, the standby healthy), the name typed.</summary>
    public static bool CanFailOver(bool isOperator, FailoverPreflightReport? report, string clusterName, string? typed, bool busy) =>
        isOperator && !busy && report is { CanFailOver: true } && string.Equals(typed, clusterName, StringComparison.Ordinal);

    /// <summary>How often the page checks the failover again by itself while it is not possible yet.</summary>
    public static readonly TimeSpan FailoverRecheckInterval = TimeSpan.FromSeconds(3);

    /// <summary>How many times it does so after the engineer's last check (a minute at the interval above).</summary>
    public const int FailoverRecheckLimit = 20;

    /// <summary>
    /// Whether the page checks the failover again by itself: a failover not possible yet although the primary is not
    /// healthy (right after a crash the old primary's last processes are on their way out, the standby's WAL receiver
    /// has not noticed yet), a limited number of times. Not when it is possible (the engineer decides), not while the
    /// primary answers as the primary (that is a switchover), not without a report.
    /// </summary>
    public static bool ShouldRecheckFailover(FailoverPreflightReport? report, int rechecksSoFar) =>
        report is { CanFailOver: false, PrimaryHealthy: false } && rechecksSoFar < FailoverRecheckLimit;

    /// <summary>A node action (rejoin, rebuild) needs an Operator and, for a rebuild, the node's name typed.</summary>
    public static bool CanRunNodeAction(bool isOperator, bool rebuild, string node, string? typed, bool busy) =>
        isOperator && !busy && (!rebuild || string.Equals(typed, node, StringComparison.Ordinal));
}
