namespace PgHaConsole.Core.Tests.Shell;

/// <summary>Values that would break or hijack a naively built command line.</summary>
public static class HostileValues
{
    public static readonly string[] All =
    [
        "plain",
        "",
        " ",
        "two words",
        "it's",
        "'",
        "''",
        "\"double\"",
        "\"",
        "a;b",
        "; touch /tmp/pgha-never-created",
        "$(id)",
        "${HOME}",
        "$HOME",
        "`id`",
        "a\nb",
        "line1\nline2\n",
        "\n",
        "tab\there",
        "\r\n",
        "--option",
        "-n",
        "-e",
        "--",
        "-",
        "*",
        "/*",
        "?",
        "[a-z]",
        "~",
        "~root",
        "=x",
        "a=b",
        "x && y || z",
        "a|b",
        "a>b",
        "<a",
        "a&",
        "(sub)",
        "{a,b}",
        "!event",
        "#comment",
        "back\\slash",
        "\\",
        "'\\''",
        "%s%n",
        "ünïcödé ✓ 日本語 🐘",
        "\u00a0nbsp",
        "\x01\x1f\x7f",
        "'; rm -rf / #",
        "\"; echo pwned; \"",
    ];

    public static TheoryData<string> Data()
    {
        var d = new TheoryData<string>();
        foreach (var v in All)
        {
            d.Add(v);
        }

        return d;
    }
}
