using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>The process-wide pool of SSH sessions (register as a singleton).</summary>
public sealed class SshSessionPool : ISshSessionPool, IAsyncDisposable, IDisposable
{
    private readonly ConcurrentDictionary<string, SshSession> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<SshSessionPool> _logger;
    private readonly TimeProvider _time;
    private bool _disposed;

    public SshSessionPool(ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<SshSessionPool>();
        _time = timeProvider ?? TimeProvider.System;
    }

    public ISshSession GetSession(SshTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrWhiteSpace(target.Host);
        var digest = target.ConfigurationDigest();
        if (target.NormalizedPin is null)
        {
            // No pinned host key: it can never connect (every command is refused), so it must not take the pooled
            // session's place. A picture of a node from before its key was pinned (a poll or a live channel that read
            // the cluster a moment before the import pinned it) once closed the connection a setup was running on.
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
            }

            return new SshSession(target, digest, _loggerFactory.CreateLogger<SshSession>(), _time);
        }

        SshSession? replaced = null;
        SshSession session;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_sessions.TryGetValue(target.EndpointKey, out var existing) && existing.Digest == digest)
            {
                return existing;
            }

            session = new SshSession(target, digest, _loggerFactory.CreateLogger<SshSession>(), _time);
            _sessions[target.EndpointKey] = session;
            replaced = existing;
        }

        if (replaced is not null)
        {
            // Retired, not disposed: whoever still holds it (an operation that started with the old settings) finishes
            // its commands on it; its connection closes once no command runs.
            _logger.LogInformation("SSH settings of {Node} changed; the old connection closes once its commands have finished", target.DisplayName);
            _ = replaced.RetireAsync();
        }

        return session;
    }

    public async Task<HostKeyInfo> ProbeHostKeyAsync(SshTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        HostKeyInfo? seen = null;

        // "none" authentication is never reached: the key exchange is aborted as soon as the key is seen.
        using var none = new NoneAuthenticationMethod(target.User);
        var info = new ConnectionInfo(target.Host, target.Port, target.User, none)
        {
            Timeout = target.ConnectTimeout,
            RetryAttempts = 1,
        };
        using var client = new SshClient(info);
        client.HostKeyReceived += (_, e) =>
        {
            seen = new HostKeyInfo(e.FingerPrintSHA256, e.HostKeyName, e.KeyLength);
            e.CanTrust = false;
        };

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(target.ConnectTimeout);
        try
        {
            await client.ConnectAsync(timeoutCts.Token);
        }
        catch (Exception ex) when (seen is not null && ex is not OperationCanceledException)
        {
            // Expected: we refused the key on purpose.
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw SshErrors.MapConnect(ex, target, hostKeyMismatch: null);
        }
        finally
        {
            if (client.IsConnected)
            {
                client.Disconnect();
            }
        }

        if (seen is null)
        {
            throw new SshUnreachableException($"{target.DisplayName} did not present a host key.");
        }

        _logger.LogInformation("Probed host key of {Node}: {Algorithm} SHA256:{Fingerprint}", target.DisplayName, seen.Algorithm, seen.Sha256);
        return seen;
    }

    public async ValueTask DisposeAsync()
    {
        SshSession[] sessions;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sessions = [.. _sessions.Values];
            _sessions.Clear();
        }

        foreach (var s in sessions)
        {
            await s.DisposeAsync();
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
