using PgHaConsole.Core.Parsing;

namespace PgHaConsole.Core.Tests.Parsing;

public sealed class LsnTests
{
    [Theory]
    [InlineData("0/3000148", 0x3000148UL)]
    [InlineData("16/B374D848", 0x16B374D848UL)]
    [InlineData("FFFFFFFF/FFFFFFFF", ulong.MaxValue)]
    [InlineData(" 0/0 ", 0UL)]
    public void Parses_postgres_spelling(string text, ulong expected)
    {
        Assert.True(Lsn.TryParse(text, out var lsn));
        Assert.Equal(expected, lsn.Value);
        Assert.Equal(lsn, Lsn.Parse(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0/")]
    [InlineData("/1")]
    [InlineData("G/1")]
    [InlineData("123456789/0")]
    [InlineData("0-3000148")]
    public void Rejects_non_lsn_text(string? text)
    {
        Assert.False(Lsn.TryParse(text, out _));
        if (text is not null)
        {
            Assert.Throws<FormatException>(() => Lsn.Parse(text));
        }
    }

    [Fact]
    public void Formats_like_postgres_upper_case_without_padding()
    {
        Assert.Equal("0/3000148", new Lsn(0x3000148).ToString());
        Assert.Equal("16/B374D848", new Lsn(0x16_B374_D848).ToString());
        Assert.Equal("0/0", Lsn.Zero.ToString());
        Assert.Equal("1/0", new Lsn(1UL << 32).ToString());
    }

    [Fact]
    public void Subtracts_to_bytes_and_compares()
    {
        // Values read off the pg15-in-production fixture: checkpoint and its REDO point.
        var checkpoint = Lsn.Parse("0/3302498");
        var redo = Lsn.Parse("0/3302418");
        Assert.Equal(128L, checkpoint - redo);
        Assert.Equal(-128L, redo - checkpoint);
        Assert.True(redo < checkpoint);
        Assert.True(checkpoint >= redo);
        Assert.Equal(1, checkpoint.CompareTo(redo));
        Assert.Equal(checkpoint, Lsn.Max(redo, checkpoint));
        // Across the 4 GiB boundary between the halves.
        Assert.Equal(16L, Lsn.Parse("1/8") - Lsn.Parse("0/FFFFFFF8"));
        Assert.True(Lsn.Zero.IsZero);
    }
}
