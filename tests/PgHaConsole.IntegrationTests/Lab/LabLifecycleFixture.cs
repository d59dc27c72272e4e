using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Lab;

/// <summary>
/// The lab's names and addresses are fixed, so only one lab can exist at a time. These lifecycle tests
/// use their own temporary state dir (never the default <c>.lab/</c>) and run alone: the test script runs
/// the LabLifecycle category before the other integration tests. If a lab is already running when they
/// start (a developer's default lab), the fixture takes it down first and brings it back up with the same
/// state dir at the end (fresh keys and password: re-read lab.json afterwards).
/// </summary>
public sealed class LabLifecycleFixture : IAsyncLifetime
{
    private string? _previousStateDir;

    public LabController Controller { get; } = new(TextWriter.Null);

    public string NewStateDir() =>
        Path.Combine(Path.GetTempPath(), "pghalab-test-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var owner = LabController.FindRunningLabStateDir();
        if (owner is not null && Directory.Exists(owner))
        {
            _previousStateDir = owner;
            await Controller.DownAsync(new LabOptions(owner), cts.Token);
        }
    }

    public async Task DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var leftover = LabController.FindRunningLabStateDir();
        if (leftover is not null)
        {
            await Controller.DownAsync(new LabOptions(leftover), cts.Token);
        }

        if (_previousStateDir is not null)
        {
            await Controller.UpAsync(new LabOptions(_previousStateDir), cts.Token);
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabLifecycleCollection : ICollectionFixture<LabLifecycleFixture>
{
    public const string Name = "Lab lifecycle";
}
