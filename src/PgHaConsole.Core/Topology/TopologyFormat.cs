using System.Globalization;

namespace PgHaConsole.Core.Topology;

/// <summary>How sizes and lag read on pages, alarms and logs.</summary>
public static class TopologyFormat
{
    /// <summary>"0 B", "12 kB", "3.4 MB", "1.2 GB" (powers of 1024, as PostgreSQL's pg_size_pretty).</summary>
    public static string Bytes(long? bytes)
    {
        if (bytes is not { } b)
        {
            return "?";
        }

        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double value = Math.Abs(b);
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var sign = b < 0 ? "-" : string.Empty;
        return unit == 0 || value >= 10
            ? string.Create(CultureInfo.InvariantCulture, $"{sign}{Math.Floor(value):0} {units[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{sign}{Math.Floor(value * 10) / 10:0.#} {units[unit]}");
    }

    /// <summary>"0.4 s", "12 s", "3 min 5 s".</summary>
    public static string Seconds(double? seconds)
    {
        if (seconds is not { } s)
        {
            return "?";
        }

        return s switch
        {
            < 10 => string.Create(CultureInfo.InvariantCulture, $"{s:0.#} s"),
            < 120 => string.Create(CultureInfo.InvariantCulture, $"{Math.Round(s):0} s"),
            < 7200 => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(s / 60):0} min {Math.Round(s % 60):0} s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(s / 3600):0} h {Math.Floor(s % 3600 / 60):0} min"),
        };
    }

    /// <summary>"caught up" when nothing is left to replay, else "12 kB, 0.4 s" (either part may be "?").</summary>
    public static string Lag(long? bytes, double? seconds)
    {
        if (bytes is 0 && (seconds is null or 0))
        {
            return "caught up";
        }

        if (bytes is null && seconds is null)
        {
            return "unknown";
        }

        return $"{Bytes(bytes)}, {Seconds(seconds)}";
    }
}
