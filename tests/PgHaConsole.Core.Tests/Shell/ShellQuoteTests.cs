using System.Text;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Tests.Shell;

public sealed class ShellQuoteTests
{
    [Theory]
    [MemberData(nameof(HostileValues.Data), MemberType = typeof(HostileValues))]
    public async Task Quote_survives_a_real_sh_byte_for_byte(string value)
    {
        var (exit, stdout, stderr) = await LocalShell.RunAsync(ShellQuote.Join("printf", "%s\\0", value));

        Assert.True(exit == 0, stderr);
        Assert.Equal(Encoding.UTF8.GetBytes(value + "\0"), stdout);
    }

    [Fact]
    public async Task Join_keeps_every_hostile_value_a_separate_argument()
    {
        var canary = $"/tmp/pgha-canary-{Guid.NewGuid():N}";
        var values = HostileValues.All.Append($"x; touch {canary}").Append($"$(touch {canary})").Append($"`touch {canary}`").ToArray();

        var (exit, stdout, stderr) = await LocalShell.RunAsync(ShellQuote.Join(["printf", "%s\\0", .. values]));

        Assert.True(exit == 0, stderr);
        var expected = string.Concat(values.Select(v => v + "\0"));
        Assert.Equal(Encoding.UTF8.GetBytes(expected), stdout);
        Assert.False(File.Exists(canary), "a hostile value was executed by the shell");
    }

    [Fact]
    public async Task Option_lookalikes_stay_operands_after_double_dash()
    {
        // printf would take "--" itself; the point is that quoting does not remove the dashes.
        var (exit, stdout, _) = await LocalShell.RunAsync(ShellQuote.Join("printf", "[%s]", "--option", "-n", "--"));

        Assert.Equal(0, exit);
        Assert.Equal("[--option][-n][--]", Encoding.UTF8.GetString(stdout));
    }

    [Fact]
    public void Quote_refuses_nul()
    {
        Assert.Throws<ArgumentException>(() => ShellQuote.Quote("a\0b"));
    }

    [Theory]
    [InlineData("pg1")]
    [InlineData("/usr/lib/postgresql/15/bin/pg_ctl")]
    [InlineData("--kill-after=5")]
    public void Safe_words_stay_readable(string word)
    {
        Assert.Equal(word, ShellQuote.Quote(word));
    }

    [Theory]
    [InlineData("")]
    [InlineData("~")]
    [InlineData("=x")]
    [InlineData("a b")]
    [InlineData("$x")]
    public void Unsafe_words_are_single_quoted(string word)
    {
        var q = ShellQuote.Quote(word);
        Assert.StartsWith("'", q, StringComparison.Ordinal);
        Assert.EndsWith("'", q, StringComparison.Ordinal);
    }
}
