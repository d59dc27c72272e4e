using System.Globalization;

namespace PgHaConsole.Core.Parsing;

/// <summary>"Database cluster state" of pg_controldata (English messages; run it with LANG=C).</summary>
public enum PgClusterState
{
    Unknown = 0,
    StartingUp,
    ShutDown,
    ShutDownInRecovery,
    ShuttingDown,
    InCrashRecovery,
    InArchiveRecovery,
    InProduction,
}

/// <summary>The fields of pg_controldata the console decides with; every line is also kept in <see cref="Fields"/>.</summary>
public sealed record PgControlData(
    IReadOnlyDictionary<string, string> Fields,
    PgClusterState State,
    string? StateText,
    ulong? SystemIdentifier,
    Lsn? LatestCheckpoint,
    Lsn? Redo,
    int? TimeLineId,
    int? PrevTimeLineId,
    bool? FullPageWrites,
    Lsn? MinRecoveryEnd,
    int? MinRecoveryEndTimeLineId,
    bool? WalLogHints,
    int? DataChecksumVersion,
    string? WalLevel,
    int? PgControlVersion)
{
    /// <summary>pg_rewind can run against this cluster: wal_log_hints on or data checksums enabled.</summary>
    public bool RewindPossible => WalLogHints == true || DataChecksumVersion > 0;

    /// <summary>Stopped cleanly (as a primary or as a standby): the checkpoint location is a shutdown checkpoint.</summary>
    public bool IsCleanlyShutDown => State is PgClusterState.ShutDown or PgClusterState.ShutDownInRecovery;
}

/// <summary>Parses the output of <c>pg_controldata -D DIR</c> (PostgreSQL 9.6 to 17, English).</summary>
public static class PgControlDataParser
{
    public const string ClusterStateKey = "Database cluster state";
    public const string LatestCheckpointKey = "Latest checkpoint location";

    public static ParseResult<PgControlData> Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return ParseResult.Fail<PgControlData>("pg_controldata printed nothing.");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var warnings = new List<string>();
        string? error = null;
        foreach (var raw in ParseText.Lines(text))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("pg_controldata:", StringComparison.Ordinal))
            {
                // "pg_controldata: error: could not open file …", or a version-mismatch warning.
                error ??= line;
                continue;
            }

            // Keys never contain ':' but values do (times, "0:725"), so split at the first one.
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                warnings.Add($"Line without 'key: value' skipped: '{line}'.");
                continue;
            }

            fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        if (!fields.ContainsKey(ClusterStateKey) && !fields.ContainsKey(LatestCheckpointKey))
        {
            return new ParseResult<PgControlData>(null, [error ?? "The text is not pg_controldata output."], warnings);
        }

        var stateText = Get(fields, ClusterStateKey);
        var data = new PgControlData(
            fields,
            ParseState(stateText),
            stateText,
            ULong(Get(fields, "Database system identifier")),
            LsnOf(Get(fields, LatestCheckpointKey)),
            LsnOf(Get(fields, "Latest checkpoint's REDO location")),
            Int(Get(fields, "Latest checkpoint's TimeLineID")),
            Int(Get(fields, "Latest checkpoint's PrevTimeLineID")),
            OnOff(Get(fields, "Latest checkpoint's full_page_writes")),
            LsnOf(Get(fields, "Minimum recovery ending location")),
            Int(Get(fields, "Min recovery ending loc's timeline")),
            OnOff(Get(fields, "wal_log_hints setting")),
            Int(Get(fields, "Data page checksum version")),
            Get(fields, "wal_level setting"),
            Int(Get(fields, "pg_control version number")));

        return error is null ? ParseResult.Ok(data, warnings) : ParseResult.Partial(data, error, warnings);
    }

    public static PgClusterState ParseState(string? text) => text switch
    {
        "starting up" => PgClusterState.StartingUp,
        "shut down" => PgClusterState.ShutDown,
        "shut down in recovery" => PgClusterState.ShutDownInRecovery,
        "shutting down" => PgClusterState.ShuttingDown,
        "in crash recovery" => PgClusterState.InCrashRecovery,
        "in archive recovery" => PgClusterState.InArchiveRecovery,
        "in production" => PgClusterState.InProduction,
        _ => PgClusterState.Unknown,
    };

    private static string? Get(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var value) ? value : null;

    private static Lsn? LsnOf(string? value) => Lsn.TryParse(value, out var lsn) ? lsn : null;

    private static int? Int(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    private static ulong? ULong(string? value) =>
        ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : null;

    private static bool? OnOff(string? value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => null,
    };
}
