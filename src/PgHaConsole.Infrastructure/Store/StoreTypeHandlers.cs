using System.Data;
using Dapper;
using Microsoft.Data.Sqlite;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>
/// Dapper type handlers that let one repository code path serve both dialects: on a SQLite parameter a Guid is
/// written as its lowercase "d" text and a DateTimeOffset as Unix milliseconds; on any other provider (Npgsql)
/// the native value goes through (uuid, timestamptz at offset 0). Reading accepts every shape either provider returns.
/// Dapper's handlers are process-wide, which is why they decide by the parameter's provider and not by configuration.
/// </summary>
public static class StoreTypeHandlers
{
    private static readonly Lock Gate = new();
    private static volatile bool s_registered;

    /// <summary>Idempotent and thread-safe: no caller returns before the handlers are in place.</summary>
    public static void Register()
    {
        if (s_registered)
        {
            return;
        }

        // A lock, not a flag swap: a second caller must wait until registration is complete, or its first query
        // would run (and Dapper would cache its plan) without the handlers.
        lock (Gate)
        {
            if (s_registered)
            {
                return;
            }

            // Dapper maps Guid and DateTimeOffset itself unless their built-in type map entries are removed.
            SqlMapper.RemoveTypeMap(typeof(Guid));
            SqlMapper.RemoveTypeMap(typeof(Guid?));
            SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
            SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
            SqlMapper.AddTypeHandler(new GuidHandler());
            SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
            s_registered = true;
        }
    }

    /// <summary>Truncates to whole milliseconds in UTC: what SQLite keeps, so both dialects return the same instant.</summary>
    public static DateTimeOffset ToStoreTime(DateTimeOffset value)
    {
        var ms = value.ToUnixTimeMilliseconds();
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value)
        {
            if (parameter is SqliteParameter)
            {
                parameter.DbType = DbType.String;
                parameter.Value = value.ToString("D");
            }
            else
            {
                parameter.DbType = DbType.Guid;
                parameter.Value = value;
            }
        }

        public override Guid Parse(object value) => value switch
        {
            Guid g => g,
            string s => Guid.Parse(s),
            byte[] b when b.Length == 16 => new Guid(b),
            _ => throw new DataException($"Cannot read a Guid from a {value.GetType().Name}."),
        };
    }

    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
        {
            if (parameter is SqliteParameter)
            {
                parameter.DbType = DbType.Int64;
                parameter.Value = value.ToUnixTimeMilliseconds();
            }
            else
            {
                // Npgsql writes timestamptz only from offset-0 values.
                parameter.DbType = DbType.DateTimeOffset;
                parameter.Value = ToStoreTime(value);
            }
        }

        public override DateTimeOffset Parse(object value) => value switch
        {
            long ms => DateTimeOffset.FromUnixTimeMilliseconds(ms),
            int ms => DateTimeOffset.FromUnixTimeMilliseconds(ms),
            DateTimeOffset dto => dto.ToUniversalTime(),
            DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
            string s => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal),
            _ => throw new DataException($"Cannot read a DateTimeOffset from a {value.GetType().Name}."),
        };
    }
}
