using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>API tokens: shown once at creation, stored hashed, revocable; every change audited.</summary>
public sealed class TokenService(IApiTokenRepository tokens, AuditService audit, TimeProvider time)
{
    public sealed record CreatedToken(Guid Id, string Name, string Role, string Token)
    {
        public DateTimeOffset? ExpiresAt { get; init; }
    }

    public Task<IReadOnlyList<ApiTokenRecord>> ListAsync(CancellationToken ct) => tokens.ListAsync(ct);

    public Task<ServiceResult<CreatedToken>> CreateAsync(string? name, string? role, string actor, CancellationToken ct) =>
        CreateAsync(name, role, null, actor, ct);

    /// <summary>A token that expires after <paramref name="expiresInDays"/> days (null: never).</summary>
    public async Task<ServiceResult<CreatedToken>> CreateAsync(string? name, string? role, int? expiresInDays, string actor, CancellationToken ct)
    {
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            errors.Add(new ValidationError("name", "Give the token a name of 1 to 100 characters."));
        }

        if (!ConsoleRoles.All.Contains(role ?? ""))
        {
            errors.Add(new ValidationError("role", $"The role must be one of {string.Join(", ", ConsoleRoles.All)}."));
        }

        if (expiresInDays is < 1 or > 3650)
        {
            errors.Add(new ValidationError("expiresInDays", "A token expires after 1 to 3650 days (or never: leave it out)."));
        }

        if (errors.Count > 0)
        {
            return ServiceResult<CreatedToken>.Invalid(errors);
        }

        DateTimeOffset? expiresAt = expiresInDays is { } days ? time.GetUtcNow().AddDays(days) : null;
        var (token, record) = await tokens.CreateAsync(name!.Trim(), role!, actor, expiresAt, ct);
        await audit.WriteAsync(actor, "token.create", null, record.Name, "succeeded",
            record.ExpiresAt is { } e ? $"role {record.Role}, expires {e:yyyy-MM-dd HH:mm}Z" : $"role {record.Role}", ct);
        return ServiceResult<CreatedToken>.Ok(new CreatedToken(record.Id, record.Name, record.Role, token) { ExpiresAt = record.ExpiresAt });
    }

    public async Task<bool> RevokeAsync(Guid id, string actor, CancellationToken ct)
    {
        var revoked = await tokens.RevokeAsync(id, ct);
        await audit.WriteAsync(actor, "token.revoke", null, id.ToString(), revoked ? "succeeded" : "not found", null, ct);
        return revoked;
    }
}
