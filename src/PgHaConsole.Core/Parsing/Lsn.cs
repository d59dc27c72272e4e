using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgHaConsole.Core.Parsing;

/// <summary>
/// A PostgreSQL WAL location (pg_lsn): 64 bits written as two hexadecimal halves, <c>"0/3000148"</c>.
/// Subtracting two locations gives the distance in bytes, which is what lag is measured in.
/// </summary>
[JsonConverter(typeof(LsnJsonConverter))]
public readonly record struct Lsn(ulong Value) : IComparable<Lsn>, IComparable
{
    /// <summary>The invalid location <c>0/0</c> (PostgreSQL's InvalidXLogRecPtr).</summary>
    public static readonly Lsn Zero;

    public bool IsZero => Value == 0;

    public static Lsn Parse(string text) =>
        TryParse(text, out var lsn)
            ? lsn
            : throw new FormatException("Not a PostgreSQL LSN (expected two hexadecimal halves, e.g. 0/3000148).");

    public static bool TryParse([NotNullWhen(true)] string? text, out Lsn lsn)
    {
        lsn = default;
        if (text is null)
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var slash = span.IndexOf('/');
        if (slash <= 0 || slash == span.Length - 1 || slash > 8 || span.Length - slash - 1 > 8)
        {
            return false;
        }

        if (!uint.TryParse(span[..slash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hi)
            || !uint.TryParse(span[(slash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var lo))
        {
            return false;
        }

        lsn = new Lsn(((ulong)hi << 32) | lo);
        return true;
    }

    /// <summary>Bytes from <paramref name="other"/> to this location (negative when this one is behind).</summary>
    public long Subtract(Lsn other) => unchecked((long)(Value - other.Value));

    public static long operator -(Lsn left, Lsn right) => left.Subtract(right);

    public int CompareTo(Lsn other) => Value.CompareTo(other.Value);

    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        Lsn other => CompareTo(other),
        _ => throw new ArgumentException("Object is not an Lsn.", nameof(obj)),
    };

    public static bool operator <(Lsn left, Lsn right) => left.Value < right.Value;

    public static bool operator >(Lsn left, Lsn right) => left.Value > right.Value;

    public static bool operator <=(Lsn left, Lsn right) => left.Value <= right.Value;

    public static bool operator >=(Lsn left, Lsn right) => left.Value >= right.Value;

    public static Lsn Max(Lsn a, Lsn b) => a >= b ? a : b;

    public static Lsn Min(Lsn a, Lsn b) => a <= b ? a : b;

    /// <summary>PostgreSQL's own spelling: upper-case hex, no leading zeros, <c>"0/3000148"</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(uint)(Value >> 32):X}/{(uint)Value:X}");
}

/// <summary>Writes an <see cref="Lsn"/> as PostgreSQL spells it (<c>"0/3000148"</c>) and reads it back.</summary>
public sealed class LsnJsonConverter : JsonConverter<Lsn>
{
    public override Lsn Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Lsn.TryParse(reader.GetString(), out var lsn)
            ? lsn
            : throw new JsonException("Expected a PostgreSQL LSN such as \"0/3000148\".");

    public override void Write(Utf8JsonWriter writer, Lsn value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
