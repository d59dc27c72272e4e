using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.IntegrationTests.Chaos;
using PgHaConsole.IntegrationTests.Infrastructure;

namespace PgHaConsole.IntegrationTests.Failover;

/// <summary>
/// A <see cref="PairFixture"/> with the topology prober and the failover capability (policy store, operation kind,
/// witness) registered. The prober and the witness run only once a test starts them (<see cref="StartWitnessAsync"/>);
/// operations the witness launches run in-process through the fixture (a job client standing in for Hangfire). The
/// failover tests and the chaos suite (each its own collection, so its own pair) use it.
/// </summary>
public sealed class FailoverPairFixture : PairFixture, IChaosPair
{
    private readonly List<Task> _jobs = [];
    private bool _started;

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddPgHaConsoleTopology();
        services.Configure<TopologyOptions>(o =>
        {
            o.PollInterval = TimeSpan.FromSeconds(1);
            o.ProbeTimeout = TimeSpan.FromSeconds(3);
        });
        services.AddFailoverWitness();
        services.AddSingleton<IBackgroundJobClient>(new InProcessJobs(this));
    }

    /// <summary>Starts the prober's polling and the witness (idempotent).</summary>
    public async Task StartWitnessAsync(CancellationToken ct)
    {
        if (_started)
        {
            return;
        }

        _started = true;

        // Not the test's token: a hosted service's loop is linked to the token it was started with.
        ct.ThrowIfCancellationRequested();
        await Get<TopologyMonitor>().StartAsync(CancellationToken.None);
        await Get<FailoverWitness>().StartAsync(CancellationToken.None);
    }

    public async Task<string> MonitorPasswordAsync(CancellationToken ct) =>
        (await Get<ClusterEnvironmentFactory>().CreateAsync(Cluster.Id, ct))!.Secrets.MonitorPassword!;

    public async Task StopWitnessAsync(CancellationToken ct)
    {
        if (!_started)
        {
            return;
        }

        _started = false;
        await Get<FailoverWitness>().StopAsync(ct);
        await Get<TopologyMonitor>().StopAsync(ct);
    }

    public override async Task DisposeAsync()
    {
        await StopWitnessAsync(CancellationToken.None);
        await Task.WhenAll(_jobs.ToArray());
        await base.DisposeAsync();
    }

    /// <summary>Runs what the launcher enqueues at once, in-process, through the fixture's runner.</summary>
    private sealed class InProcessJobs(FailoverPairFixture pair) : IBackgroundJobClient
    {
        public string Create(Job job, IState state)
        {
            var operationId = (Guid)job.Args[0];
            lock (pair._jobs)
            {
                pair._jobs.Add(Task.Run(() => pair.RunExistingAsync(operationId, null, CancellationToken.None)));
            }

            return operationId.ToString();
        }

        public bool ChangeState(string jobId, IState state, string expectedState) => true;
    }
}
