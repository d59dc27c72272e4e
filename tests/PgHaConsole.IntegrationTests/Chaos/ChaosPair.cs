using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Chaos;

/// <summary>
/// What the chaos scenarios need of a pair built by the wizard in the lab, with the console's services (topology
/// monitor, failover witness) running: the integration tests' <c>FailoverPairFixture</c> and the benchmarks'
/// <c>LabPairHarness</c> both are one. Compiled into both projects (the benchmarks link this folder).
/// </summary>
public interface IChaosPair
{
    ClusterSpec Cluster { get; }

    LabController Controller { get; }

    T Get<T>()
        where T : notnull;

    /// <summary>The monitoring role's password (known once the setup ran).</summary>
    Task<string> MonitorPasswordAsync(CancellationToken ct);

    /// <summary>The setup wizard run once on the fresh lab (a no-op when it already succeeded).</summary>
    Task EnsureSetUpAsync(CancellationToken ct);

    /// <summary>The topology monitor's polling and the failover witness running.</summary>
    Task StartWitnessAsync(CancellationToken ct);

    /// <summary>Creates and runs an operation of the console to its end; its journal record.</summary>
    Task<OperationRecord> RunAsync(string kind, object? parameters, CancellationToken ct);

    Task<string> LogTextAsync(Guid operationId, CancellationToken ct);

    /// <summary>A command as root inside a lab host: the test's own hands, not the console's.</summary>
    Task<CommandResult> ExecAsync(string host, CancellationToken ct, params string[] argv);
}
