using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PgHaConsole.Core.Postgres;

/// <summary>
/// PostgreSQL's stored form of a SCRAM-SHA-256 password (<c>SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey</c>,
/// RFC 5802/7677). The console computes it itself and sends only this to the server, so a role's clear password never
/// reaches the server's statement log; and it checks a stored secret against the password it holds without logging in.
/// </summary>
public static class ScramSecret
{
    public const int DefaultIterations = 4096;
    private const string Prefix = "SCRAM-SHA-256$";

    /// <summary>A new secret with a random 16-byte salt.</summary>
    public static string Create(string password, int iterations = DefaultIterations) =>
        Create(password, RandomNumberGenerator.GetBytes(16), iterations);

    public static string Create(string password, byte[] salt, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var (stored, server) = Keys(password, salt, iterations);
        return Prefix + iterations.ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToBase64String(salt) + "$"
            + Convert.ToBase64String(stored) + ":" + Convert.ToBase64String(server);
    }

    /// <summary>True when <paramref name="storedSecret"/> (as in pg_authid.rolpassword) was made from <paramref name="password"/>.</summary>
    public static bool Matches(string? storedSecret, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (storedSecret is null || !storedSecret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = storedSecret[Prefix.Length..].Split('$');
        if (parts.Length != 2)
        {
            return false;
        }

        var head = parts[0].Split(':');
        var keys = parts[1].Split(':');
        if (head.Length != 2 || keys.Length != 2
            || !int.TryParse(head[0], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(head[1]);
            var (stored, server) = Keys(password, salt, iterations);
            return CryptographicOperations.FixedTimeEquals(stored, Convert.FromBase64String(keys[0]))
                && CryptographicOperations.FixedTimeEquals(server, Convert.FromBase64String(keys[1]));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static (byte[] StoredKey, byte[] ServerKey) Keys(string password, byte[] salt, int iterations)
    {
        // PostgreSQL applies SASLprep; for the ASCII passwords the console generates it is the identity.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return (storedKey, serverKey);
    }
}
