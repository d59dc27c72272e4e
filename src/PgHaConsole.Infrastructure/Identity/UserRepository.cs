using System.Data.Common;
using Dapper;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.Infrastructure.Identity;

/// <summary>Users in the store (used by <see cref="ConsoleUserStore"/> and by the users page).</summary>
public interface IUserRepository
{
    /// <summary>Number of users: zero means the first visit creates the first admin.</summary>
    Task<int> CountAsync(CancellationToken ct);

    /// <summary>Number of enabled users whose role is exactly <paramref name="role"/> (e.g. to refuse removing the last admin).</summary>
    Task<int> CountEnabledInRoleAsync(string role, CancellationToken ct);

    Task<IReadOnlyList<ConsoleUser>> ListAsync(CancellationToken ct);

    /// <summary>Users whose role includes <paramref name="role"/> (Admins are returned for Operator).</summary>
    Task<IReadOnlyList<ConsoleUser>> ListIncludingRoleAsync(string role, CancellationToken ct);

    Task<ConsoleUser?> FindByIdAsync(Guid id, CancellationToken ct);

    Task<ConsoleUser?> FindByNormalizedNameAsync(string normalizedUserName, CancellationToken ct);

    /// <summary>Throws <see cref="NameAlreadyExistsException"/> when the normalized name is taken. Sets <c>CreatedAt</c> when unset.</summary>
    Task CreateAsync(ConsoleUser user, CancellationToken ct);

    /// <summary>False when the user does not exist. Throws <see cref="NameAlreadyExistsException"/> on a rename to a taken name.</summary>
    Task<bool> UpdateAsync(ConsoleUser user, CancellationToken ct);

    Task<bool> DeleteAsync(Guid id, CancellationToken ct);
}

public sealed class UserRepository : IUserRepository
{
    private const string Columns = """
        id AS Id, user_name AS UserName, normalized_user_name AS NormalizedUserName, password_hash AS PasswordHash,
        security_stamp AS SecurityStamp, role AS Role, created_at AS CreatedAt,
        CASE WHEN disabled THEN 1 ELSE 0 END AS DisabledFlag, access_failed_count AS AccessFailedCount, lockout_end AS LockoutEnd
        """;

    private readonly IStoreConnectionFactory _factory;
    private readonly TimeProvider _time;

    public UserRepository(IStoreConnectionFactory factory, TimeProvider time)
    {
        StoreTypeHandlers.Register();
        _factory = factory;
        _time = time;
    }

    public async Task<int> CountAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM users", cancellationToken: ct));
    }

    public async Task<int> CountEnabledInRoleAsync(string role, CancellationToken ct)
    {
        var canonical = ConsoleRoles.Canonical(role) ?? throw new ArgumentException($"Unknown role '{role}'.", nameof(role));
        await using var connection = await _factory.OpenAsync(ct);
        return (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM users WHERE role = @Role AND NOT disabled", new { Role = canonical }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<ConsoleUser>> ListAsync(CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await QueryAsync(connection, $"SELECT {Columns} FROM users ORDER BY normalized_user_name", null, ct);
    }

    public async Task<IReadOnlyList<ConsoleUser>> ListIncludingRoleAsync(string role, CancellationToken ct)
    {
        var rank = ConsoleRoles.Rank(role);
        if (rank == 0)
        {
            throw new ArgumentException($"Unknown role '{role}'.", nameof(role));
        }

        var roles = ConsoleRoles.All.Skip(rank - 1).ToArray();
        await using var connection = await _factory.OpenAsync(ct);
        var users = await QueryAsync(connection, $"SELECT {Columns} FROM users ORDER BY normalized_user_name", null, ct);
        return users.Where(u => roles.Contains(u.Role, StringComparer.Ordinal)).ToList();
    }

    public async Task<ConsoleUser?> FindByIdAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (await QueryAsync(connection, $"SELECT {Columns} FROM users WHERE id = @Id", new { Id = id }, ct)).SingleOrDefault();
    }

    public async Task<ConsoleUser?> FindByNormalizedNameAsync(string normalizedUserName, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return (await QueryAsync(
            connection,
            $"SELECT {Columns} FROM users WHERE normalized_user_name = @Name",
            new { Name = normalizedUserName },
            ct)).SingleOrDefault();
    }

    public async Task CreateAsync(ConsoleUser user, CancellationToken ct)
    {
        Check(user);
        if (user.CreatedAt == default)
        {
            user.CreatedAt = StoreTypeHandlers.ToStoreTime(_time.GetUtcNow());
        }

        await using var connection = await _factory.OpenAsync(ct);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO users (id, user_name, normalized_user_name, password_hash, security_stamp, role, created_at, disabled,
                    access_failed_count, lockout_end)
                VALUES (@Id, @UserName, @NormalizedUserName, @PasswordHash, @SecurityStamp, @Role, @CreatedAt, @Disabled,
                    @AccessFailedCount, @LockoutEnd)
                """,
                Parameters(user),
                cancellationToken: ct));
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "normalized_user_name"))
        {
            throw new NameAlreadyExistsException("user", user.UserName, ex);
        }
    }

    public async Task<bool> UpdateAsync(ConsoleUser user, CancellationToken ct)
    {
        Check(user);
        await using var connection = await _factory.OpenAsync(ct);
        try
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE users SET user_name = @UserName, normalized_user_name = @NormalizedUserName,
                    password_hash = @PasswordHash, security_stamp = @SecurityStamp, role = @Role, disabled = @Disabled,
                    access_failed_count = @AccessFailedCount, lockout_end = @LockoutEnd
                WHERE id = @Id
                """,
                Parameters(user),
                cancellationToken: ct));
            return changed != 0;
        }
        catch (DbException ex) when (StoreErrors.IsUniqueViolation(ex, "normalized_user_name"))
        {
            throw new NameAlreadyExistsException("user", user.UserName, ex);
        }
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await _factory.OpenAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM users WHERE id = @Id", new { Id = id }, cancellationToken: ct)) != 0;
    }

    private static void Check(ConsoleUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentException.ThrowIfNullOrWhiteSpace(user.UserName);
        ArgumentException.ThrowIfNullOrWhiteSpace(user.NormalizedUserName);
        user.Role = ConsoleRoles.Canonical(user.Role) ?? throw new ArgumentException($"Unknown role '{user.Role}'.", nameof(user));
    }

    private static DynamicParameters Parameters(ConsoleUser user)
    {
        var p = new DynamicParameters();
        p.Add("Id", user.Id);
        p.Add("UserName", user.UserName);
        p.Add("NormalizedUserName", user.NormalizedUserName);
        p.Add("PasswordHash", user.PasswordHash, System.Data.DbType.String);
        p.Add("SecurityStamp", user.SecurityStamp, System.Data.DbType.String);
        p.Add("Role", user.Role);
        p.Add("CreatedAt", user.CreatedAt);
        p.Add("Disabled", user.Disabled);
        p.Add("AccessFailedCount", user.AccessFailedCount);
        p.Add("LockoutEnd", user.LockoutEnd is { } end ? StoreTypeHandlers.ToStoreTime(end) : null);
        return p;
    }

    private static async Task<IReadOnlyList<ConsoleUser>> QueryAsync(DbConnection connection, string sql, object? param, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<UserRow>(new CommandDefinition(sql, param, cancellationToken: ct));
        return rows.Select(r => new ConsoleUser
        {
            Id = r.Id,
            UserName = r.UserName,
            NormalizedUserName = r.NormalizedUserName,
            PasswordHash = r.PasswordHash,
            SecurityStamp = r.SecurityStamp,
            Role = r.Role,
            CreatedAt = r.CreatedAt,
            Disabled = r.DisabledFlag != 0,
            AccessFailedCount = (int)r.AccessFailedCount,
            LockoutEnd = r.LockoutEnd,
        }).ToList();
    }

    private sealed class UserRow
    {
        public Guid Id { get; init; }

        public string UserName { get; init; } = "";

        public string NormalizedUserName { get; init; } = "";

        public string? PasswordHash { get; init; }

        public string? SecurityStamp { get; init; }

        public string Role { get; init; } = "";

        public DateTimeOffset CreatedAt { get; init; }

        public long DisabledFlag { get; init; }

        public long AccessFailedCount { get; init; }

        public DateTimeOffset? LockoutEnd { get; init; }
    }
}
