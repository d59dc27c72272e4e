using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using PgHaConsole.Core.Postgres;

namespace PgHaConsole.Core.Tests.Postgres;

public sealed partial class ScramSecretTests
{
    // RFC 7677, section 3 ("SCRAM-SHA-256 and SCRAM-SHA-256-PLUS"), the example exchange: user "user", password
    // "pencil", no channel binding.
    private const string RfcPassword = "pencil";
    private const string RfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private const int RfcIterations = 4096;
    private const string RfcClientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    private const string RfcServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string RfcClientFinalWithoutProof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string RfcProof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string RfcServerSignature = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    /// <summary>PostgreSQL's pg_authid.rolpassword form: <c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>.</summary>
    [GeneratedRegex(@"^SCRAM-SHA-256\$(?<iter>[0-9]+):(?<salt>[A-Za-z0-9+/]+={0,2})\$(?<stored>[A-Za-z0-9+/]+={0,2}):(?<server>[A-Za-z0-9+/]+={0,2})$")]
    private static partial Regex SecretFormat();

    private static (int Iterations, byte[] Salt, byte[] StoredKey, byte[] ServerKey) Parse(string secret)
    {
        var m = SecretFormat().Match(secret);
        Assert.True(m.Success, secret);
        return (int.Parse(m.Groups["iter"].Value, System.Globalization.CultureInfo.InvariantCulture),
            Convert.FromBase64String(m.Groups["salt"].Value),
            Convert.FromBase64String(m.Groups["stored"].Value),
            Convert.FromBase64String(m.Groups["server"].Value));
    }

    [Fact]
    public void Round_trip_create_then_matches()
    {
        var secret = ScramSecret.Create("correct horse battery staple");
        Assert.True(ScramSecret.Matches(secret, "correct horse battery staple"));
    }

    [Fact]
    public void Wrong_password_does_not_match()
    {
        var secret = ScramSecret.Create("correct horse battery staple");
        Assert.False(ScramSecret.Matches(secret, "correct horse battery stapl"));
        Assert.False(ScramSecret.Matches(secret, "Correct horse battery staple"));
        Assert.False(ScramSecret.Matches(secret, ""));
    }

    [Fact]
    public void Format_is_postgres_rolpassword_with_16_byte_salt_and_32_byte_keys()
    {
        var secret = ScramSecret.Create("pw");
        Assert.StartsWith("SCRAM-SHA-256$4096:", secret, StringComparison.Ordinal);
        var (iterations, salt, stored, server) = Parse(secret);
        Assert.Equal(4096, iterations);
        Assert.Equal(16, salt.Length);
        Assert.Equal(32, stored.Length);   // SHA-256 output
        Assert.Equal(32, server.Length);
    }

    [Fact]
    public void Random_salt_makes_every_secret_different_yet_each_matches()
    {
        var a = ScramSecret.Create("same");
        var b = ScramSecret.Create("same");
        Assert.NotEqual(a, b);
        Assert.True(ScramSecret.Matches(a, "same"));
        Assert.True(ScramSecret.Matches(b, "same"));
    }

    [Fact]
    public void Given_salt_and_iterations_are_deterministic_and_recorded()
    {
        var salt = Convert.FromBase64String(RfcSalt);
        var secret = ScramSecret.Create("pw", salt, 10000);
        Assert.Equal(secret, ScramSecret.Create("pw", salt, 10000));
        Assert.StartsWith($"SCRAM-SHA-256$10000:{RfcSalt}$", secret, StringComparison.Ordinal);
        Assert.True(ScramSecret.Matches(secret, "pw"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Create_refuses_iterations_below_one(int iterations) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ScramSecret.Create("pw", new byte[16], iterations));

    public static readonly TheoryData<string?> Malformed = new()
    {
        null,
        "",
        "pencil",
        // md5 form: "md5" + md5(password || username).
        "md5" + "0123456789abcdef0123456789abcdef",
        "SCRAM-SHA-256$",
        "SCRAM-SHA-256$4096:" + RfcSalt,
        "SCRAM-SHA-256$4096:" + RfcSalt + "$",
        "SCRAM-SHA-256$4096:" + RfcSalt + "$AAAA",
        "SCRAM-SHA-256$4096$AAAA:AAAA",
        "SCRAM-SHA-256$" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$4096:" + RfcSalt + "$AAAA:AAAA$AAAA",
        "SCRAM-SHA-256$4096:" + RfcSalt + ":x$AAAA:AAAA",
        "SCRAM-SHA-256$4096:" + RfcSalt + "$AAAA:AAAA:AAAA",
        // Bad base64 in salt, StoredKey, ServerKey.
        "SCRAM-SHA-256$4096:not*base64$AAAA:AAAA",
        "SCRAM-SHA-256$4096:" + RfcSalt + "$%%%%:AAAA",
        "SCRAM-SHA-256$4096:" + RfcSalt + "$AAAA:abc",
        // Iterations 0, negative, not a number, signed, with spaces.
        "SCRAM-SHA-256$0:" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$-1:" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$+4096:" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$ 4096:" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$x:" + RfcSalt + "$AAAA:AAAA",
        "SCRAM-SHA-256$99999999999:" + RfcSalt + "$AAAA:AAAA",
        // Another mechanism, and the prefix in the wrong case.
        "SCRAM-SHA-1$4096:" + RfcSalt + "$AAAA:AAAA",
        "scram-sha-256$4096:" + RfcSalt + "$AAAA:AAAA",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_secrets_do_not_match(string? secret) =>
        Assert.False(ScramSecret.Matches(secret, RfcPassword));

    [Fact]
    public void Well_formed_secret_with_keys_of_the_wrong_length_does_not_match()
    {
        var (_, _, stored, server) = Parse(ScramSecret.Create(RfcPassword, Convert.FromBase64String(RfcSalt), 1));
        var prefix = $"SCRAM-SHA-256$1:{RfcSalt}$";
        Assert.False(ScramSecret.Matches(prefix + Convert.ToBase64String(stored[..31]) + ":" + Convert.ToBase64String(server), RfcPassword));
        Assert.False(ScramSecret.Matches(prefix + Convert.ToBase64String(stored) + ":" + Convert.ToBase64String(server[..31]), RfcPassword));
        Assert.True(ScramSecret.Matches(prefix + Convert.ToBase64String(stored) + ":" + Convert.ToBase64String(server), RfcPassword));
    }

    [Fact]
    public void Both_keys_are_checked()
    {
        var secret = ScramSecret.Create(RfcPassword, Convert.FromBase64String(RfcSalt), 1);
        var (_, _, stored, server) = Parse(secret);
        var otherServer = (byte[])server.Clone();
        otherServer[0] ^= 1;
        var otherStored = (byte[])stored.Clone();
        otherStored[31] ^= 0x80;
        var prefix = $"SCRAM-SHA-256$1:{RfcSalt}$";
        Assert.False(ScramSecret.Matches(prefix + Convert.ToBase64String(stored) + ":" + Convert.ToBase64String(otherServer), RfcPassword));
        Assert.False(ScramSecret.Matches(prefix + Convert.ToBase64String(otherStored) + ":" + Convert.ToBase64String(server), RfcPassword));
    }

    [Fact]
    public void Known_answer_from_the_rfc_7677_example()
    {
        // The secret the server would hold for "pencil" with the RFC's salt and iteration count.
        var secret = ScramSecret.Create(RfcPassword, Convert.FromBase64String(RfcSalt), RfcIterations);
        Assert.StartsWith($"SCRAM-SHA-256$4096:{RfcSalt}$", secret, StringComparison.Ordinal);
        Assert.True(ScramSecret.Matches(secret, RfcPassword));
        var (_, _, storedKey, serverKey) = Parse(secret);

        // RFC 5802 section 3: AuthMessage = client-first-message-bare + "," + server-first-message + "," +
        // client-final-message-without-proof.
        var authMessage = Encoding.UTF8.GetBytes(RfcClientFirstBare + "," + RfcServerFirst + "," + RfcClientFinalWithoutProof);

        // ServerSignature = HMAC(ServerKey, AuthMessage): the RFC's "v=" value.
        Assert.Equal(RfcServerSignature, Convert.ToBase64String(HMACSHA256.HashData(serverKey, authMessage)));

        // The server's check of the RFC's "p=": ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and
        // H(ClientKey) must be StoredKey.
        var clientSignature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = Convert.FromBase64String(RfcProof);
        Assert.Equal(32, proof.Length);
        var clientKey = new byte[32];
        for (var i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        }

        Assert.Equal(storedKey, SHA256.HashData(clientKey));

        // And the RFC's proof does not verify against a secret made from another password.
        var (_, _, otherStored, _) = Parse(ScramSecret.Create("pencil2", Convert.FromBase64String(RfcSalt), RfcIterations));
        var otherSignature = HMACSHA256.HashData(otherStored, authMessage);
        Assert.NotEqual(otherStored, SHA256.HashData(proof.Select((b, i) => (byte)(b ^ otherSignature[i])).ToArray()));
    }
}
