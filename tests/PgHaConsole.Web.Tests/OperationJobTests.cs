using System.Reflection;
using Hangfire;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// #17: the Hangfire job that runs operations held one lock for every cluster ([DisableConcurrentExecution] locks per
/// method), so a switchover on one pair waited for a setup on another. The per-cluster lock in the store stays the
/// only one; Hangfire must still never retry a cluster-changing job by itself.
/// </summary>
public sealed class OperationJobTests
{
    private static readonly MethodInfo Run = typeof(OperationJob).GetMethod(nameof(OperationJob.RunAsync))!;

    [Fact]
    public void Operations_on_different_clusters_are_not_serialized_by_a_process_wide_hangfire_lock() =>
        Assert.Null(Run.GetCustomAttribute<DisableConcurrentExecutionAttribute>());

    [Fact]
    public void Hangfire_never_retries_an_operation() =>
        Assert.Equal(0, Run.GetCustomAttribute<AutomaticRetryAttribute>()?.Attempts);
}
