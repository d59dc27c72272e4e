namespace PgHaConsole.Core.Shell;

/// <summary>
/// Replaces every registered secret in a text with <see cref="Mask"/>. It also knows the forms a secret takes
/// once it went through <see cref="ShellQuote.Quote"/> (wrapped in quotes, embedded quotes written as
/// <c>'\''</c>, possibly twice when a quoted line is quoted again), because a rendered command line carries
/// the secret in that form rather than verbatim.
/// </summary>
/// <remarks>
/// Every non-empty secret is masked, however short. A short secret (a VRRP password is at most 8 characters
/// and may well be 4) is still a secret, and a minimum length would leak exactly the weak ones; the price is
/// that a 1–3 character secret also masks unrelated text that happens to contain it, which is the right side
/// to err on. Longer forms are replaced first so that a secret containing another secret disappears whole
/// instead of leaving a recognisable remainder. Thread-safe: secrets can be added while other threads mask.
/// </remarks>
public sealed class SecretMasker
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "******";

    private readonly Lock _gate = new();
    private readonly HashSet<string> _secrets = new(StringComparer.Ordinal);

    // Rebuilt on every Add, read without the lock: a reference swap is atomic.
    private string[] _variants = [];

    public SecretMasker()
    {
    }

    public SecretMasker(IEnumerable<string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var s in secrets)
        {
            Add(s);
        }
    }

    /// <summary>True when at least one secret is registered.</summary>
    public bool HasSecrets => _variants.Length > 0;

    /// <summary>Registers a secret; null or empty values are ignored (there is nothing to hide).</summary>
    public SecretMasker Add(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            return this;
        }

        lock (_gate)
        {
            if (_secrets.Add(secret))
            {
                _variants = BuildVariants(_secrets);
            }
        }

        return this;
    }

    /// <summary>Registers several secrets.</summary>
    public SecretMasker AddRange(IEnumerable<string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var s in secrets)
        {
            Add(s);
        }

        return this;
    }

    /// <summary>Returns <paramref name="text"/> with every form of every registered secret replaced.</summary>
    public string Apply(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        var variants = _variants;
        foreach (var v in variants)
        {
            if (text.Contains(v, StringComparison.Ordinal))
            {
                text = text.Replace(v, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>Masks <paramref name="text"/> with a one-off set of secrets.</summary>
    public static string Apply(string? text, IEnumerable<string?> secrets) => new SecretMasker(secrets).Apply(text);

    private static string[] BuildVariants(IEnumerable<string> secrets)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in secrets)
        {
            set.Add(s);
            if (s.Contains('\0', StringComparison.Ordinal))
            {
                continue; // cannot be quoted for a shell, so it never appears in quoted form
            }

            // Quoted once (whole word and the escaped body as it appears inside a longer quoted word such as
            // 'NAME=secret'), and quoted twice (a quoted line passed as one argument, e.g. to bash -c).
            var quoted = ShellQuote.Quote(s);
            set.Add(quoted);
            var body = EscapeBody(s);
            set.Add(body);
            set.Add(ShellQuote.Quote(quoted));
            set.Add(EscapeBody(body));
        }

        return [.. set.OrderByDescending(v => v.Length).ThenBy(v => v, StringComparer.Ordinal)];
    }

    private static string EscapeBody(string s) => s.Replace("'", "'\\''", StringComparison.Ordinal);
}
