namespace PgHaConsole.Core.Parsing;

/// <summary>
/// What a parser made of a command's output. Parsers never throw on bad input: a probe that reads a
/// truncated or unexpected output must still be able to draw the page, so problems are reported here.
/// </summary>
/// <typeparam name="T">The parsed value.</typeparam>
/// <param name="Value">The parsed value; present whenever anything usable was found, even with warnings.</param>
/// <param name="Errors">Reasons the input could not be understood as a whole (empty when it could).</param>
/// <param name="Warnings">Lines or fields that were skipped while the rest was understood.</param>
public sealed record ParseResult<T>(T? Value, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
    where T : class
{
    /// <summary>True when a value was produced and no error was recorded.</summary>
    public bool Succeeded => Value is not null && Errors.Count == 0;
}

/// <summary>Factory helpers for <see cref="ParseResult{T}"/>.</summary>
public static class ParseResult
{
    public static ParseResult<T> Ok<T>(T value, IReadOnlyList<string>? warnings = null)
        where T : class => new(value, [], warnings ?? []);

    public static ParseResult<T> Fail<T>(string error, IReadOnlyList<string>? warnings = null)
        where T : class => new(null, [error], warnings ?? []);

    public static ParseResult<T> Partial<T>(T value, string error, IReadOnlyList<string>? warnings = null)
        where T : class => new(value, [error], warnings ?? []);
}

/// <summary>Small text helpers shared by the parsers.</summary>
internal static class ParseText
{
    /// <summary>Splits on LF, CR LF and lone CR (progress output uses bare CR).</summary>
    public static string[] Lines(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split(['\n', '\r'], StringSplitOptions.None);

    public static string[] Words(string line) =>
        line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
}
