using Microsoft.Data.Sqlite;
using Npgsql;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>Something with that name already exists (a cluster, a user); nothing was saved.</summary>
public sealed class NameAlreadyExistsException : Exception
{
    public NameAlreadyExistsException(string entity, string name, Exception? inner = null)
        : base($"A {entity} named '{name}' already exists.", inner)
    {
        Entity = entity;
        Name = name;
    }

    public string Entity { get; }

    public string Name { get; }
}

/// <summary>The row changed since it was read (optimistic concurrency); nothing was saved.</summary>
public sealed class ConcurrencyConflictException : Exception
{
    public ConcurrencyConflictException(string entity, Guid id, long expectedVersion)
        : base($"The {entity} {id} was changed by someone else (expected version {expectedVersion}); reload and try again.")
    {
        Entity = entity;
        Id = id;
    }

    public string Entity { get; }

    public Guid Id { get; }
}

/// <summary>The entity to change does not exist.</summary>
public sealed class EntityNotFoundException : Exception
{
    public EntityNotFoundException(string entity, Guid id)
        : base($"The {entity} {id} does not exist.")
    {
        Entity = entity;
        Id = id;
    }

    public string Entity { get; }

    public Guid Id { get; }
}

internal static class StoreErrors
{
    // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (extended result codes).
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    /// <summary>True when <paramref name="ex"/> is a unique violation on a constraint or column whose name contains <paramref name="marker"/>.</summary>
    public static bool IsUniqueViolation(Exception ex, string marker) => ex switch
    {
        PostgresException pg => pg.SqlState == PostgresErrorCodes.UniqueViolation
            && (pg.ConstraintName?.Contains(marker, StringComparison.Ordinal) ?? false),
        // SQLite names the columns, not the constraint: "UNIQUE constraint failed: clusters.name_key".
        SqliteException lite => (lite.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey)
            && lite.Message.Contains(marker, StringComparison.Ordinal),
        _ => false,
    };
}
