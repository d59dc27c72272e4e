using System.Data.Common;
using Dapper;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Identity;

/// <summary>
/// The right to create the store's first administrator, taken once per store (a single row, <c>id = 1</c>): two
/// consoles sharing a PostgreSQL store, or two visitors of one console, cannot both create a first admin. An
/// in-process lock could not hold across instances; the store's primary key does.
/// </summary>
public interface IFirstAdminClaim
{
    /// <summary>
    /// True when this caller now holds the claim. False when another caller holds it — or held it and created a user.
    /// A claim whose holder created no user within <see cref="FirstAdminClaim.StaleAfter"/> (it crashed half-way) may
    /// be taken over.
    /// </summary>
    Task<bool> TryClaimAsync(string claimant, CancellationToken ct);

    /// <summary>Gives the claim back (the first admin could not be created after all); only the holder's claim is removed.</summary>
    Task ReleaseAsync(string claimant, CancellationToken ct);
}

public sealed class FirstAdminClaim : IFirstAdminClaim
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(2);

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public FirstAdminClaim(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    public async Task<bool> TryClaimAsync(string claimant, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(claimant);
        var now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());
        await using var connection = await _factory.OpenAsync(ct);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO first_admin_claim (id, claimed_by, claimed_at) SELECT 1, @By, @Now WHERE NOT EXISTS (SELECT 1 FROM users)",
                new { By = claimant, Now = now },
                cancellationToken: ct));
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "first_admin_claim"))
        {
            // Held by someone: take it over only when stale and still no user exists (one UPDATE, so only one taker wins).
            return await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE first_admin_claim SET claimed_by = @By, claimed_at = @Now
                WHERE id = 1 AND claimed_at < @Stale AND NOT EXISTS (SELECT 1 FROM users)
                """,
                new { By = claimant, Now = now, Stale = now - StaleAfter },
                cancellationToken: ct)) == 1;
        }

        // The INSERT inserted nothing when users exist already.
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM first_admin_claim WHERE id = 1 AND claimed_by = @By", new { By = claimant }, cancellationToken: ct)) == 1;
    }

    public async Task ReleaseAsync(string claimant, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM first_admin_claim WHERE id = 1 AND claimed_by = @By", new { By = claimant }, cancellationToken: ct));
    }
}
