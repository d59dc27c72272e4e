namespace PgHaConsole.IntegrationTests.Infrastructure;

/// <summary>
/// The lab is one per machine, and xUnit runs test collections in parallel: every collection that uses the lab holds
/// this gate from its fixture's start to its end, so one collection never resets the lab under another's feet.
/// </summary>
public static class LabGate
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static Task EnterAsync(CancellationToken ct) => Gate.WaitAsync(ct);

    public static void Leave() => Gate.Release();

    /// <summary>Held until disposed, released exactly once (a fixture whose start failed may or may not be disposed).</summary>
    public static async Task<IDisposable> HoldAsync(CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        return new Holder();
    }

    private sealed class Holder : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Gate.Release();
            }
        }
    }
}
