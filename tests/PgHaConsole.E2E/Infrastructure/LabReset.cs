using PgHaConsole.Lab;

namespace PgHaConsole.E2E.Infrastructure;

/// <summary>The lab back to the runbook's starting state (pg1 standalone, pg2 empty): down, then up.</summary>
public static class LabReset
{
    public static string LabFile => Path.Combine(RepoPaths.Root, ".lab", "lab.json");

    public static async Task ResetAsync(CancellationToken ct)
    {
        var controller = new LabController(Console.Out);
        var options = new LabOptions(Path.Combine(RepoPaths.Root, ".lab"));
        await controller.DownAsync(options, ct);
        await controller.UpAsync(options, ct);
    }

    public static Task<CommandResult> ExecAsync(string host, CancellationToken ct, params string[] argv) =>
        new LabController(Console.Out).ExecInHostAsync(host, argv, ct);
}

/// <summary>Every E2E test that uses (or resets) the lab is in this collection: they never run at the same time.</summary>
[CollectionDefinition(Name)]
public sealed class LabE2ECollection
{
    public const string Name = "lab-e2e";
}
