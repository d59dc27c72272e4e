using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Web.Services;

/// <summary>API tokens: shown once at creation, stored hashed, revocable; every change audited.</summary>
public sealed class TokenService(IApiTokenRepository tokens, AuditService audit)
{
    public sealed record CreatedToken(Guid Id, string Name, string Role, string Token);

    public Task<IReadOnlyList<ApiTokenRecord>> ListAsync(CancellationToken ct) => tokens.ListAsync(ct);

    public async Task<ServiceResult<CreatedToken>> CreateAsync(string? name, string? role, string actor, CancellationToken ct)
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

        if (errors.Count > 0)
        {
            return ServiceResult<CreatedToken>.Invalid(errors);
        }

        var (token, record) = await tokens.CreateAsync(name!.Trim(), role!, actor, ct);
        await audit.WriteAsync(actor, "token.create", null, record.Name, "succeeded", $"role {record.Role}", ct);
        return ServiceResult<CreatedToken>.Ok(new CreatedToken(record.Id, record.Name, record.Role, token));
    }

    public async Task<bool> RevokeAsync(Guid id, string actor, CancellationToken ct)
    {
        var revoked = await tokens.RevokeAsync(id, ct);
        await audit.WriteAsync(actor, "token.revoke", null, id.ToString(), revoked ? "succeeded" : "not found", null, ct);
        return revoked;
    }
}
