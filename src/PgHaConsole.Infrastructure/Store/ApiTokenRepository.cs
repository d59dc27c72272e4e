using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.WebUtilities;
using PgHaConsole.Infrastructure.Identity;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>An API token as stored: never the token itself, only its display prefix.</summary>
public sealed record ApiTokenRecord(
    Guid Id,
    string Name,
    string Prefix,
    string Role,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt)
{
    /// <summary>When the token stops working by itself; null = never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Not revoked (an expired token is still "active" here: see <see cref="IsUsableAt"/>).</summary>
    public bool IsActive => RevokedAt is null;

    /// <summary>Not revoked and not expired at <paramref name="now"/>.</summary>
    public bool IsUsableAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

/// <summary>A new token: <see cref="Token"/> is shown to the user once and cannot be recovered afterwards.</summary>
public sealed record CreatedApiToken(string Token, ApiTokenRecord Record);

/// <summary>Bearer tokens for the REST API and SignalR clients.</summary>
public interface IApiTokenRepository
{
    /// <summary>Creates a token <c>phc_</c> + 32 random bytes in base64url; only its SHA-256 is stored.</summary>
    Task<CreatedApiToken> CreateAsync(string name, string role, string createdBy, CancellationToken ct) =>
        CreateAsync(name, role, createdBy, null, ct);

    /// <summary>As <see cref="CreateAsync(string, string, string, CancellationToken)"/>, expiring at <paramref name="expiresAt"/> (null = never).</summary>
    Task<CreatedApiToken> CreateAsync(string name, string role, string createdBy, DateTimeOffset? expiresAt, CancellationToken ct);

    /// <summary>
    /// Stores a token whose value the caller chose (headless bootstrap: <c>PgHaConsole:Bootstrap:ApiToken</c>).
    /// At least <see cref="ApiTokenRepository.MinimumImportedLength"/> characters.
    /// </summary>
    Task<ApiTokenRecord> ImportAsync(string token, string name, string role, string createdBy, CancellationToken ct);

    /// <summary>The token's record when it exists, is not revoked and has not expired; null otherwise.</summary>
    Task<ApiTokenRecord?> FindActiveByTokenAsync(string token, CancellationToken ct);

    /// <summary>False when the token does not exist or was already revoked.</summary>
    Task<bool> RevokeAsync(Guid id, CancellationToken ct);

    /// <summary>All tokens, revoked ones included, newest first.</summary>
    Task<IReadOnlyList<ApiTokenRecord>> ListAsync(CancellationToken ct);

    /// <summary>Records a use. Writes at most once a minute per token, so that authenticating every request does not mean a write.</summary>
    Task TouchAsync(Guid id, CancellationToken ct);
}

public sealed class ApiTokenRepository : IApiTokenRepository
{
    public const string TokenPrefix = "phc_";
    public const int MinimumImportedLength = 16;
    private const int PrefixLength = 8;
    private static readonly TimeSpan TouchGranularity = TimeSpan.FromMinutes(1);

    private const string Columns = """
        id AS Id, name AS Name, prefix AS Prefix, role AS Role, created_by AS CreatedBy, created_at AS CreatedAt,
        last_used_at AS LastUsedAt, revoked_at AS RevokedAt, expires_at AS ExpiresAt
        """;

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public ApiTokenRepository(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    /// <summary>Lowercase hex SHA-256 of the token's UTF-8 bytes: what the store keeps.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public async Task<CreatedApiToken> CreateAsync(string name, string role, string createdBy, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        var token = TokenPrefix + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var record = await InsertAsync(token, name, role, createdBy, expiresAt, ct);
        return new CreatedApiToken(token, record);
    }

    public Task<ApiTokenRecord> ImportAsync(string token, string name, string role, string createdBy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length < MinimumImportedLength || token.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException(
                $"An API token needs at least {MinimumImportedLength} characters and no white space.", nameof(token));
        }

        return InsertAsync(token, name, role, createdBy, null, ct);
    }

    public async Task<ApiTokenRecord?> FindActiveByTokenAsync(string token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        // The lookup is by hash through a unique index, not a comparison of secrets: what timing could reveal is how
        // much of the SHA-256 of a guess matches a stored hash, and knowing that does not help to find a token whose
        // hash matches (preimage resistance over 256 random bits). So no constant-time comparison is needed here.
        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<TokenRow>(new CommandDefinition(
            $"SELECT {Columns} FROM api_tokens WHERE token_hash = @Hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @Now)",
            new { Hash = Hash(token), Now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow()) },
            cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).SingleOrDefault();
    }

    public async Task<bool> RevokeAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_tokens SET revoked_at = @Now WHERE id = @Id AND revoked_at IS NULL",
            new { Id = id, Now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow()) },
            cancellationToken: ct)) != 0;
    }

    public async Task<IReadOnlyList<ApiTokenRecord>> ListAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        var rows = await connection.QueryAsync<TokenRow>(new CommandDefinition(
            $"SELECT {Columns} FROM api_tokens ORDER BY created_at DESC, name", cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    public async Task TouchAsync(Guid id, CancellationToken ct)
    {
        var now = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());
        await using var connection = await _factory.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_tokens SET last_used_at = @Now WHERE id = @Id AND (last_used_at IS NULL OR last_used_at <= @Threshold)",
            new { Id = id, Now = now, Threshold = now - TouchGranularity },
            cancellationToken: ct));
    }

    private async Task<ApiTokenRecord> InsertAsync(string token, string name, string role, string createdBy, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(createdBy);
        var canonicalRole = ConsoleRoles.Canonical(role) ?? throw new ArgumentException($"Unknown role '{role}'.", nameof(role));
        var record = new ApiTokenRecord(
            Guid.NewGuid(),
            name.Trim(),
            token[..Math.Min(PrefixLength, token.Length)],
            canonicalRole,
            createdBy,
            StoreTypeHandlers.ToStoreTime(_time.GetUtcNow()),
            null,
            null)
        {
            ExpiresAt = expiresAt is { } e ? StoreTypeHandlers.ToStoreTime(e) : null,
        };

        await using var connection = await _factory.OpenAsync(ct);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO api_tokens (id, name, token_hash, prefix, role, created_by, created_at, last_used_at, revoked_at, expires_at)
                VALUES (@Id, @Name, @Hash, @Prefix, @Role, @CreatedBy, @CreatedAt, NULL, NULL, @ExpiresAt)
                """,
                new { record.Id, record.Name, Hash = Hash(token), record.Prefix, record.Role, record.CreatedBy, record.CreatedAt, record.ExpiresAt },
                cancellationToken: ct));
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "token_hash"))
        {
            // Only reachable through ImportAsync with a value already stored; the message names no token.
            throw new NameAlreadyExistsException("API token with this value", record.Prefix + "…", ex);
        }

        return record;
    }

    private sealed class TokenRow
    {
        public Guid Id { get; init; }

        public string Name { get; init; } = "";

        public string Prefix { get; init; } = "";

        public string Role { get; init; } = "";

        public string CreatedBy { get; init; } = "";

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset? LastUsedAt { get; init; }

        public DateTimeOffset? RevokedAt { get; init; }

        public DateTimeOffset? ExpiresAt { get; init; }

        public ApiTokenRecord ToRecord() => new(Id, Name, Prefix, Role, CreatedBy, CreatedAt, LastUsedAt, RevokedAt) { ExpiresAt = ExpiresAt };
    }
}
