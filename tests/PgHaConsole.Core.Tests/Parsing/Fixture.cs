namespace PgHaConsole.Core.Tests.Parsing;

/// <summary>Reads a captured fixture and drops its first "# source:" line, which is provenance, not output.</summary>
internal static class Fixture
{
    public static string Read(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath);
        var text = File.ReadAllText(path);
        Assert.StartsWith("# source:", text, StringComparison.Ordinal);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? string.Empty : text[(newline + 1)..];
    }
}
