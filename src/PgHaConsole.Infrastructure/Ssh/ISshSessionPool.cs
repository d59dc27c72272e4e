using PgHaConsole.Core.Shell;

namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>
/// Singleton owning one SSH connection per endpoint (<c>user@host:port</c>), reused by every command to that
/// host, re-established after it drops, disposed at shutdown.
/// </summary>
public interface ISshSessionPool
{
    /// <summary>
    /// The session for <paramref name="target"/>. Cheap: it connects lazily on first use. When the target's
    /// settings changed since the last call (new key, new pin), the old connection is closed and replaced.
    /// </summary>
    ISshSession GetSession(SshTarget target);

    /// <summary>
    /// Connects far enough to see the host key and returns its fingerprint, then disconnects: no authentication,
    /// nothing run. For the "confirm this fingerprint" step; the pin is not required and not consulted.
    /// </summary>
    Task<HostKeyInfo> ProbeHostKeyAsync(SshTarget target, CancellationToken cancellationToken);
}

/// <summary>Commands and files on one host, over the pooled connection.</summary>
public interface ISshSession
{
    SshTarget Target { get; }

    /// <summary>How many times a connection was opened for this session (1 while it is reused).</summary>
    int ConnectionCount { get; }

    /// <summary>The host key fingerprint seen on the last connection (null before the first).</summary>
    string? LastSeenHostKeySha256 { get; }

    /// <summary>Connects now (if not connected) so that errors surface early; returns the host key seen.</summary>
    Task<HostKeyInfo> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="command"/>, bounded on the host by <c>timeout</c>; <paramref name="onLine"/> receives
    /// stdout and stderr lines as they arrive (masked, one call at a time). Cancelling closes the channel.
    /// </summary>
    Task<CommandResult> RunAsync(RemoteCommand command, TimeSpan timeout, Action<OutputLine>? onLine, CancellationToken cancellationToken);

    /// <summary>Reads a whole file (as root or via sudo); throws <see cref="RemoteCommandFailedException"/> if it cannot.</summary>
    Task<byte[]> ReadFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a file atomically (temp file in the same directory, owner and mode set before it is renamed into
    /// place, so the content is never visible with wrong permissions), then checks mode and owner on the host.
    /// </summary>
    /// <param name="mode">Octal mode, e.g. <c>0600</c>.</param>
    /// <param name="owner"><c>user</c> or <c>user:group</c>.</param>
    Task<RemoteFileStat> WriteFileAsync(string path, ReadOnlyMemory<byte> content, string mode, string owner, CancellationToken cancellationToken);
}
