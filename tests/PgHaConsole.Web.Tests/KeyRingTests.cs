using System.Net.Http.Json;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// #17: an instance pointed at a store whose secrets another key ring encrypted used to report Healthy and fail every
/// probe and action with a decryption error every 2 s. It must refuse to start and say how to fix it.
/// </summary>
public sealed class KeyRingTests
{
    [Fact]
    public async Task An_instance_without_the_key_ring_of_the_store_refuses_to_start_and_says_how_to_fix_it()
    {
        using var first = new ConsoleFactory();
        using (var admin = first.CreateClientWithToken(ConsoleFactory.AdminToken))
        {
            using var created = await admin.PostAsJsonAsync("/api/clusters", InventoryApiTests.ValidCluster("keyring-" + Guid.NewGuid().ToString("N")[..6]));
            created.EnsureSuccessStatusCode();
        }

        var otherKeys = Directory.CreateTempSubdirectory("pghaconsole-keys-").FullName;
        try
        {
            using var wrongKeys = ConsoleFactory.OnStoreOf(first.DataDirectory, otherKeys);
            var ex = Assert.ThrowsAny<Exception>(() => wrongKeys.CreateClient());
            var mismatch = Unwrap<KeyRingMismatchException>(ex);
            Assert.NotNull(mismatch);
            Assert.Contains(otherKeys, mismatch.Message, StringComparison.Ordinal);
            Assert.Contains("PgHaConsole:DataProtection:KeyRingDirectory", mismatch.Message, StringComparison.Ordinal);

            // The same store with the key ring that wrote it starts and serves.
            using var rightKeys = ConsoleFactory.OnStoreOf(first.DataDirectory);
            using var client = rightKeys.CreateClientWithToken(ConsoleFactory.AdminToken);
            using var health = await client.GetAsync("/healthz");
            Assert.True(health.IsSuccessStatusCode, $"healthz {(int)health.StatusCode}");
        }
        finally
        {
            Directory.Delete(otherKeys, recursive: true);
        }
    }

    private static T? Unwrap<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException ?? (ex as AggregateException)?.InnerExceptions.FirstOrDefault())
        {
            if (ex is T match)
            {
                return match;
            }
        }

        return null;
    }
}
