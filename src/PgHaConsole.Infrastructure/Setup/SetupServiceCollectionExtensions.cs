using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;

namespace PgHaConsole.Infrastructure.Setup;

public static class SetupServiceCollectionExtensions
{
    /// <summary>Registers the setup wizard's operation, the launcher and the Hangfire job that runs operations.</summary>
    public static IServiceCollection AddPgHaConsoleSetup(this IServiceCollection services)
    {
        services.TryAddSingleton<ClusterEnvironmentFactory>();
        services.TryAddScoped<OperationLauncher>();
        services.TryAddTransient<OperationJob>();
        services.TryAddScoped<Switchover.SwitchoverRollback>();
        services.AddSingleton<IOperationKind, SetupOperationKind>();
        services.AddSingleton<IOperationKind, Switchover.SwitchoverOperationKind>();
        services.AddSingleton<IOperationKind>(new Switchover.RejoinOperationKind(rebuild: false));
        services.AddSingleton<IOperationKind>(new Switchover.RejoinOperationKind(rebuild: true));
        return services;
    }
}

/// <summary>Setup as a launchable operation; its parameters are a <see cref="SetupParameters"/> in JSON (camelCase).</summary>
public sealed class SetupOperationKind : IOperationKind
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Kind => SetupOperation.Kind;

    public IReadOnlyList<string> StepNames => SetupOperation.StepNames;

    public OperationDefinition Create(ClusterEnvironment env, JsonElement parameters) =>
        SetupOperation.Create(env, parameters.ValueKind == JsonValueKind.Object ? parameters.Deserialize<SetupParameters>(Json) ?? new() : new());
}
