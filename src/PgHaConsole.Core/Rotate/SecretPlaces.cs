namespace PgHaConsole.Core.Rotate;

/// <summary>Which value of a secret one place holds during a rotation.</summary>
public enum PlaceHolds
{
    /// <summary>The secret before the rotation (the one the console's store still holds as current).</summary>
    Old,

    /// <summary>The rotation's new secret (the store's pending one).</summary>
    New,

    /// <summary>Neither: another value (a place the console does not manage alone, or a hand edit).</summary>
    Other,

    /// <summary>The place does not exist (no file, no line, no role).</summary>
    Absent,

    /// <summary>Could not be read (host unreachable).</summary>
    Unknown,
}

/// <summary>One place a secret lives (a role on a node, a file on a host, the console's store) and what it holds.</summary>
public sealed record SecretPlace(string Where, PlaceHolds Holds, string? Detail = null)
{
    public static PlaceHolds Classify(string? value, string? oldValue, string newValue) =>
        value is null ? PlaceHolds.Absent
        : value == newValue ? PlaceHolds.New
        : oldValue is not null && value == oldValue ? PlaceHolds.Old
        : PlaceHolds.Other;

    /// <summary>"role repli on pg1: NEW; pg2:/data10/.pghaconsole.pgpass: OLD" — what a failure report and the log say.</summary>
    public static string Describe(IEnumerable<SecretPlace> places) =>
        string.Join("; ", places.Select(p => $"{p.Where}: {Word(p.Holds)}{(p.Detail is { Length: > 0 } d ? " (" + d + ")" : "")}"));

    /// <summary>True when every place that exists holds the new secret (and at least one does).</summary>
    public static bool AllNew(IReadOnlyCollection<SecretPlace> places) =>
        places.Any(p => p.Holds == PlaceHolds.New) && places.All(p => p.Holds is PlaceHolds.New or PlaceHolds.Absent);

    private static string Word(PlaceHolds holds) => holds switch
    {
        PlaceHolds.Old => "OLD secret",
        PlaceHolds.New => "NEW secret",
        PlaceHolds.Other => "another value",
        PlaceHolds.Absent => "absent",
        _ => "unknown (not readable)",
    };
}
