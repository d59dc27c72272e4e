using System.Net.Sockets;
using System.Security.Cryptography;
using Renci.SshNet.Common;

namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>Turns SSH.NET's and the socket layer's exceptions into messages a user can act on.</summary>
internal static class SshErrors
{
    public static Exception MapConnect(Exception ex, SshTarget target, HostKeyMismatchException? hostKeyMismatch)
    {
        if (hostKeyMismatch is not null)
        {
            return hostKeyMismatch;
        }

        var where = target.DisplayName;
        return ex switch
        {
            SshLayerException mapped => mapped,
            SocketException se => new SshUnreachableException(
                $"Cannot reach {where}: {Describe(se.SocketErrorCode)}. Check the address, the port and that sshd runs.", se),
            OperationCanceledException or SshOperationTimeoutException or TimeoutException => new SshUnreachableException(
                $"{where} did not answer within {target.ConnectTimeout.TotalSeconds:0.#} s. Check the address and the network.", ex),
            SshAuthenticationException => new SshAuthenticationFailedException(
                target.AuthKind == Core.Model.SshAuthKind.Password
                    ? $"{where} refused the password for user '{target.User}'."
                    : $"{where} refused the private key for user '{target.User}' (wrong key, or the key is not in authorized_keys).", ex),
            SshConnectionException => new SshUnreachableException(
                $"The SSH connection to {where} failed: {ex.Message}", ex),
            _ => new SshUnreachableException($"Connecting to {where} failed: {ex.GetType().Name}: {ex.Message}", ex),
        };
    }

    public static SshPrivateKeyException MapKey(Exception ex, SshTarget target) => ex switch
    {
        SshPassPhraseNullOrEmptyException => new SshPrivateKeyException(
            $"The private key for {target.DisplayName} is encrypted and no passphrase was given.", ex),
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => new SshPrivateKeyException(
            $"The private key file for {target.DisplayName} cannot be read: {ex.Message}", ex),
        SshException or CryptographicException or InvalidOperationException or ArgumentException or FormatException => new SshPrivateKeyException(
            $"The private key for {target.DisplayName} could not be read: wrong passphrase, or not an OpenSSH/PEM/PuTTY private key.", ex),
        _ => new SshPrivateKeyException($"The private key for {target.DisplayName} could not be loaded ({ex.GetType().Name}).", ex),
    };

    /// <summary>The connection itself is gone (as opposed to the command failing).</summary>
    public static bool IsConnectionLoss(Exception ex) =>
        ex is SshConnectionException or SocketException or ObjectDisposedException
        || (ex is SshException se && se.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase))
        || (ex is InvalidOperationException ioe && ioe.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase));

    private static string Describe(SocketError e) => e switch
    {
        SocketError.ConnectionRefused => "connection refused (nothing listens on that port)",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route to host",
        SocketError.TimedOut => "connection timed out",
        SocketError.HostNotFound or SocketError.NoData => "unknown host name",
        _ => e.ToString(),
    };
}
