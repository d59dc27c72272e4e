using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Tests.Shell;

public sealed class SecretMaskerTests
{
    [Fact]
    public void Masks_every_occurrence()
    {
        var m = new SecretMasker().Add("hunter22");

        Assert.Equal("a ****** b ******", m.Apply("a hunter22 b hunter22"));
    }

    [Fact]
    public void Masks_the_shell_quoted_form()
    {
        const string secret = "it's a secret";
        var m = new SecretMasker().Add(secret);
        var line = ShellQuote.Join("psql", "-c", secret) + " " + ShellQuote.Quote("PW=" + secret);

        var masked = m.Apply(line);

        Assert.DoesNotContain("secret", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("it", masked.Replace("psql", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Masks_a_twice_quoted_form()
    {
        const string secret = "o'neil-pw";
        var twice = ShellQuote.Quote(ShellQuote.Join("echo", secret));

        var masked = SecretMasker.Apply(twice, [secret]);

        Assert.DoesNotContain("neil", masked, StringComparison.Ordinal);
    }

    [Fact]
    public void Longest_secret_wins_when_one_contains_another()
    {
        var m = new SecretMasker(["abcd", "abcdefgh"]);

        Assert.Equal("x ****** y", m.Apply("x abcdefgh y"));
    }

    [Fact]
    public void Short_secrets_are_masked_too()
    {
        var m = new SecretMasker().Add("q7");

        Assert.Equal("vrrp ******", m.Apply("vrrp q7"));
    }

    [Fact]
    public void Empty_and_null_secrets_are_ignored()
    {
        var m = new SecretMasker([null, ""]);

        Assert.False(m.HasSecrets);
        Assert.Equal("nothing to hide", m.Apply("nothing to hide"));
    }

    [Fact]
    public void Null_text_becomes_empty()
    {
        Assert.Equal(string.Empty, new SecretMasker().Add("abcd").Apply(null));
    }

    [Fact]
    public void Multiline_and_unicode_secrets_are_masked()
    {
        const string key = "-----BEGIN KEY-----\nÄbc\n-----END KEY-----";

        var masked = SecretMasker.Apply("key: " + key + " done", [key]);

        Assert.Equal("key: ****** done", masked);
    }

    [Fact]
    public async Task Concurrent_adds_and_applies_do_not_lose_secrets()
    {
        var m = new SecretMasker();
        var secrets = Enumerable.Range(0, 200).Select(i => $"secret-{i:D4}").ToArray();

        await Task.WhenAll(secrets.Select(s => Task.Run(() =>
        {
            m.Add(s);
            _ = m.Apply("warm " + s);
        })));

        var text = string.Join(' ', secrets);
        Assert.DoesNotContain("secret-", m.Apply(text), StringComparison.Ordinal);
    }
}
