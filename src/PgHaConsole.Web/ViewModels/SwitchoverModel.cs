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

    /// <summary>A node action (rejoin, rebuild) needs an Operator and, for a rebuild, the node's name typed.</summary>
    public static bool CanRunNodeAction(bool isOperator, bool rebuild, string node, string? typed, bool busy) =>
        isOperator && !busy && (!rebuild || string.Equals(typed, node, StringComparison.Ordinal));
}
