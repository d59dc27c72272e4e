using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace PgHaConsole.Infrastructure.Secrets;

/// <summary>Encrypts secrets (SSH keys, passwords) for the store; the store only ever sees the protected form.</summary>
public interface ISecretProtector
{
    string Protect(string plaintext);

    /// <summary>Throws <see cref="SecretUnprotectException"/> when the value cannot be decrypted (key ring lost or changed).</summary>
    string Unprotect(string protectedValue);
}

/// <summary>ASP.NET Core Data Protection behind <see cref="ISecretProtector"/>, with one fixed purpose string.</summary>
public sealed class DataProtectionSecretProtector : ISecretProtector
{
    /// <summary>Changing it makes every stored secret unreadable: bump the version only with a re-encryption migration.</summary>
    public const string Purpose = "PgHaConsole.Secrets.v1";

    private readonly IDataProtector _protector;

    public DataProtectionSecretProtector(IDataProtectionProvider provider) => _protector = provider.CreateProtector(Purpose);

    public string Protect(string plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        return _protector.Protect(plaintext);
    }

    public string Unprotect(string protectedValue)
    {
        ArgumentNullException.ThrowIfNull(protectedValue);
        try
        {
            return _protector.Unprotect(protectedValue);
        }
        catch (CryptographicException ex)
        {
            // The message names neither the value nor the plaintext: only what to check.
            throw new SecretUnprotectException(
                "A stored secret could not be decrypted: the Data Protection key ring is missing or is not the one that encrypted it. "
                + "Restore the key ring directory, or enter the secret again.",
                ex);
        }
    }
}

public sealed class SecretUnprotectException(string message, Exception inner) : Exception(message, inner);

public static class SecretsServiceCollectionExtensions
{
    /// <summary>
    /// Data Protection with its key ring persisted in <paramref name="keyRingDirectory"/> (created 0700 on Unix) and the
    /// application name fixed, so that any instance pointed at the same key ring reads the same secrets; registers
    /// <see cref="ISecretProtector"/>. On Linux the keys sit unencrypted in that directory: whoever holds both the key
    /// ring and the store holds the secrets, so keep the data directory private (and back the key ring up with the store).
    /// </summary>
    public static IServiceCollection AddPgHaConsoleDataProtection(this IServiceCollection services, string keyRingDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyRingDirectory);
        var dir = Path.GetFullPath(keyRingDirectory);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(dir))
            .SetApplicationName("PgHaConsole");
        services.AddSingleton<ISecretProtector, DataProtectionSecretProtector>();
        services.AddSingleton<KeyRingCheck>();
        return services;
    }
}
