namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>
/// Base of every error the SSH layer raises on purpose. Messages are meant for the user, say what to do, and
/// never contain a secret.
/// </summary>
public class SshLayerException : Exception
{
    public SshLayerException()
    {
    }

    public SshLayerException(string message)
        : base(message)
    {
    }

    public SshLayerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The host presented a key other than the pinned one: the connection was refused, nothing ran.</summary>
public sealed class HostKeyMismatchException : SshLayerException
{
    public HostKeyMismatchException(string host, string expected, string actual)
        : base($"SSH HOST KEY MISMATCH for {host}: the pinned key is SHA256:{HostKeyFingerprint.Normalize(expected)}, " +
               $"but the host presented SHA256:{HostKeyFingerprint.Normalize(actual)}. This is a possible interception " +
               "(man-in-the-middle) or the host was reinstalled. The connection was refused and nothing was run; " +
               "an admin must confirm the new key before the console connects to this host again.")
    {
        Host = host;
        Expected = HostKeyFingerprint.Normalize(expected) ?? expected;
        Actual = HostKeyFingerprint.Normalize(actual) ?? actual;
    }

    public HostKeyMismatchException()
        : this("?", "?", "?")
    {
    }

    public HostKeyMismatchException(string message)
        : base(message)
    {
        Host = Expected = Actual = string.Empty;
    }

    public HostKeyMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
        Host = Expected = Actual = string.Empty;
    }

    public string Host { get; }

    public string Expected { get; }

    public string Actual { get; }
}

/// <summary>
/// No host key is pinned for the target. Commands are refused rather than trusting whatever key answers first
/// (trust on first use would let an interceptor that is present on the first connection in for good).
/// </summary>
public sealed class HostKeyNotPinnedException : SshLayerException
{
    public HostKeyNotPinnedException(string host)
        : base($"No SSH host key is pinned for {host}. Run Test connection, check the fingerprint it shows and confirm it; " +
               "the console does not run commands on a host whose key nobody confirmed.")
    {
    }

    public HostKeyNotPinnedException()
    {
    }

    public HostKeyNotPinnedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The host could not be reached, refused the TCP connection, or did not answer in time.</summary>
public sealed class SshUnreachableException : SshLayerException
{
    public SshUnreachableException()
    {
    }

    public SshUnreachableException(string message)
        : base(message)
    {
    }

    public SshUnreachableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server refused the credentials (wrong key, wrong password, user not allowed).</summary>
public sealed class SshAuthenticationFailedException : SshLayerException
{
    public SshAuthenticationFailedException()
    {
    }

    public SshAuthenticationFailedException(string message)
        : base(message)
    {
    }

    public SshAuthenticationFailedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The private key could not be loaded: missing, malformed, encrypted without passphrase, or wrong passphrase.</summary>
public sealed class SshPrivateKeyException : SshLayerException
{
    public SshPrivateKeyException()
    {
    }

    public SshPrivateKeyException(string message)
        : base(message)
    {
    }

    public SshPrivateKeyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The connection broke while a command was running: it may or may not have completed on the host.</summary>
public sealed class SshConnectionLostException : SshLayerException
{
    public SshConnectionLostException()
    {
    }

    public SshConnectionLostException(string message)
        : base(message)
    {
    }

    public SshConnectionLostException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A remote command ended with a non-zero status (or timed out) where success was required.</summary>
public sealed class RemoteCommandFailedException : SshLayerException
{
    public RemoteCommandFailedException(string what, CommandResult result)
        : base(result.TimedOut
            ? $"{what} timed out after {result.Duration.TotalSeconds:0.#} s."
            : $"{what} failed with exit code {result.ExitCode}: {Tail(result.StdErr)}")
    {
        Result = result;
    }

    public RemoteCommandFailedException()
    {
    }

    public RemoteCommandFailedException(string message)
        : base(message)
    {
    }

    public RemoteCommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CommandResult? Result { get; }

    private static string Tail(string s)
    {
        s = s.Trim();
        return s.Length <= 400 ? s : "…" + s[^400..];
    }
}
