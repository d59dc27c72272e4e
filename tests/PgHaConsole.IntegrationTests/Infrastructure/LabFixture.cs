using System.Runtime.CompilerServices;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Core.Model;
using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// Makes sure the two-host lab runs (bringing it up when it does not: <c>up</c> is idempotent) and exposes its
/// <c>lab.json</c>. Shared by every test class in the "lab" collection; it never takes the lab down, because the
/// lab outlives a test run (the console, other test projects and people use it).
/// </summary>
public sealed class LabFixture : IAsyncLifetime
{
    public LabController Controller { get; } = new(Console.Out);

    public LabInfo Info { get; private set; } = null!;

    public string StateDir { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _gate = await LabGate.HoldAsync(CancellationToken.None);
        try
        {
            await StartAsync();
        }
        catch
        {
            _gate.Dispose();
            throw;
        }
    }

    private IDisposable? _gate;

    private async Task StartAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var stateDir = DefaultStateDir();

        // Only one lab can exist. If another state dir owns it (the lab's own lifecycle tests use a temporary
        // one and restore the default lab when they finish), wait for it instead of tearing down a lab that
        // someone else is using.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (LabController.FindRunningLabStateDir() is { } owner && !SamePath(owner, stateDir))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException(
                    $"The lab on this machine belongs to {owner}, not {stateDir}; the integration tests will not take it over. " +
                    "Wait for whoever runs it, or set PGHA_LAB_STATE to that state dir.");
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
        }

        var result = await Controller.UpAsync(new LabOptions(stateDir), cts.Token);
        StateDir = result.StateDir;
        Info = result.Info;
    }

    /// <summary>
    /// PGHA_LAB_STATE, else <c>.lab/</c> of the repository holding the current directory, else of the repository
    /// this file was compiled from (test binaries may live outside the repository, e.g. under PGHA_ARTIFACTS).
    /// </summary>
    public static string DefaultStateDir([CallerFilePath] string sourceFile = "")
    {
        if (Environment.GetEnvironmentVariable("PGHA_LAB_STATE") is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        var root = LabPaths.FindRepositoryRoot() ?? LabPaths.FindRepositoryRoot(Path.GetDirectoryName(sourceFile))
            ?? throw new InvalidOperationException("Cannot find the repository root; set PGHA_LAB_STATE to the lab's state dir.");
        return Path.Combine(root, LabPaths.DefaultStateDirName);
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);

    public Task DisposeAsync()
    {
        _gate?.Dispose();
        return Task.CompletedTask;
    }

    public LabNode Node(string name) => Info.Node(name);

    /// <summary>An SSH target for a lab host with the lab's key and its pinned host key.</summary>
    public SshTarget Target(string name)
    {
        var n = Info.Node(name);
        return new SshTarget
        {
            Name = n.Name,
            Host = n.Address,
            Port = n.SshPort,
            User = n.SshUser,
            PrivateKeyPath = n.SshKeyPath,
            HostKeySha256 = n.HostKeySha256,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
    }
}

/// <summary>Tests in this collection share one <see cref="LabFixture"/> and never run in parallel with each other.</summary>
[CollectionDefinition(Name)]
public sealed class LabCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "lab";
}
