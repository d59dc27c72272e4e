using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Adopt;
using PgHaConsole.Infrastructure.Rotate;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Rejoin;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The step names the journal records come from the step definitions; they are keys of journaled operations (a resume
/// matches them), so they must stay what earlier versions wrote.
/// </summary>
public class OperationKindsTests
{
    [Fact]
    public void Step_names_come_from_the_definitions_and_keep_their_journal_values()
    {
        Assert.Equal(
            ["preflight", "firewall", "roles", "pg-hba", "postgresql-conf", "clone-standby", "recovery-config", "start-standby", "keepalived", "read-balancer", "final-verification"],
            SetupOperation.StepNames);
        Assert.Equal(["preflight", "fence-old-primary", "wait-for-standby", "promote", "move-vips", "rejoin-old-primary", "verify", "report"], SwitchoverOperation.StepNames);
        Assert.Equal(["preflight", "fence-node", "rewind-or-reclone", "recovery-config", "start-standby", "keepalived", "verify"], RejoinOperation.StepNames);
        Assert.Equal(["preflight", "fence-old-primary", "promote", "move-vips", "verify", "report"], FailoverOperation.StepNames);
        Assert.Equal(["discover", "store-secrets", "monitoring-role", "pg-hba", "verify"], AdoptOperation.StepNames);
        Assert.Equal(["preflight", "new-secret", "apply", "verify-new-secret", "commit"], RotateOperation.StepNames);
    }

    [Fact]
    public void Each_capability_registers_its_own_kinds_once()
    {
        var services = new ServiceCollection().AddSingleton<IOperationJournal>(_ => null!).AddSingleton<PgHaConsole.Infrastructure.Store.IClusterRepository>(_ => null!);
        services.AddPgHaConsoleOperationKinds().AddPgHaConsoleOperationKinds();
        using var provider = services.BuildServiceProvider();
        Assert.Equal(
            [SetupOperation.Kind, SwitchoverOperation.Kind, RejoinOperation.RejoinKind, RejoinOperation.RebuildKind, FailoverOperation.Kind, AdoptOperation.Kind, RotateOperation.Kind],
            provider.GetServices<IOperationKind>().Select(k => k.Kind));
    }
}
