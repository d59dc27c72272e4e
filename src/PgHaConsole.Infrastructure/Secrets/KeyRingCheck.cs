using Dapper;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Secrets;

/// <summary>
/// Refuses to start an instance whose Data Protection key ring cannot read the store's secrets (another instance's
/// store, a lost or unshared key ring). Without it the console looked healthy while every probe and action failed
/// to decrypt its credentials (#17). One stored secret, the newest, is enough to tell: every secret is encrypted with
/// the same key ring.
/// </summary>
public sealed class KeyRingCheck(IStoreConnectionFactory store, ISecretProtector protector)
{
    public async Task EnsureStoreSecretsReadableAsync(string keyRingDirectory, CancellationToken ct)
    {
        string? sample;
        await using (var conn = await store.OpenAsync(ct))
        {
            sample = await conn.QueryFirstOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT protected_value FROM secrets ORDER BY updated_at DESC LIMIT 1", cancellationToken: ct));
        }

        if (sample is null)
        {
            return;
        }

        try
        {
            protector.Unprotect(sample);
        }
        catch (SecretUnprotectException ex)
        {
            throw new KeyRingMismatchException(
                $"The store holds secrets that the Data Protection key ring in '{keyRingDirectory}' cannot decrypt: this instance "
                + "does not have the key ring that encrypted them. Point PgHaConsole:DataProtection:KeyRingDirectory at the key ring "
                + "the store was written with (shared by every instance on this store, e.g. a shared directory), or restore it from the "
                + "backup taken with the store. The console does not start without it: every probe and action would fail.",
                ex);
        }
    }
}

public sealed class KeyRingMismatchException(string message, Exception inner) : Exception(message, inner);
