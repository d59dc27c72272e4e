using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Shell;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>
/// One host's connection. SSH multiplexes channels, so several commands can run at once over the single
/// <see cref="SshClient"/>; only (re)connecting is serialised.
/// </summary>
internal sealed partial class SshSession : ISshSession, IAsyncDisposable
{
    // Beyond the host-side limit, how long we wait before giving up locally (host gone, network cut): the
    // remote timeout sends TERM at the limit and KILL 5 s later, so a live host always answers before this.
    private static readonly TimeSpan LocalGrace = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FileTimeout = TimeSpan.FromSeconds(60);

    private readonly ILogger<SshSession> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SecretMasker _masker;
    private Connection? _connection;
    private int _connectionCount;
    private int _active;
    private int _retired;
    private bool _disposed;

    public SshSession(SshTarget target, string digest, ILogger<SshSession> logger, TimeProvider time)
    {
        Target = target;
        Digest = digest;
        _logger = logger;
        _time = time;
        _masker = new SecretMasker(target.Secrets);
    }

    public SshTarget Target { get; }

    public string Digest { get; }

    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    public string? LastSeenHostKeySha256 { get; private set; }

    public async Task<HostKeyInfo> ConnectAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _active);
        try
        {
            var c = await EnsureConnectedAsync(cancellationToken);
            return c.HostKey;
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) == 0 && Retired)
            {
                await CloseIfIdleAsync();
            }
        }
    }

    public Task<CommandResult> RunAsync(RemoteCommand command, TimeSpan timeout, Action<OutputLine>? onLine, CancellationToken cancellationToken) =>
        ExecuteAsync(command, timeout, onLine, logOutput: true, cancellationToken);

    public async Task<byte[]> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        ValidateAbsolutePath(path);

        // base64 keeps binary content intact through the text channel; the content is never logged.
        var result = await ExecuteAsync(RemoteCommand.Exec("base64", "-w0", "--", path), FileTimeout, null, logOutput: false, cancellationToken);
        result.EnsureSuccess($"Reading {path} on {Target.DisplayName}");
        return Convert.FromBase64String(result.StdOut.Trim());
    }

    public async Task<RemoteFileStat> WriteFileAsync(string path, ReadOnlyMemory<byte> content, string mode, string owner, CancellationToken cancellationToken)
    {
        ValidateAbsolutePath(path);
        if (!ModeRegex().IsMatch(mode))
        {
            throw new ArgumentException($"'{mode}' is not an octal file mode such as 0600.", nameof(mode));
        }

        if (!OwnerRegex().IsMatch(owner))
        {
            throw new ArgumentException($"'{owner}' is not 'user' or 'user:group'.", nameof(owner));
        }

        // A fixed script; path, mode and owner travel as positional arguments. mktemp creates the temp file
        // 0600 and root-owned, so the content is never readable by others before chown/chmod; the rename is
        // atomic because the temp file sits in the same directory.
        const string script = """
            set -eu
            target=$1; mode=$2; owner=$3
            dir=$(dirname -- "$target")
            tmp=$(mktemp -- "$dir/.pgha-write.XXXXXXXX")
            trap 'rm -f -- "$tmp"' EXIT
            cat > "$tmp"
            chown -- "$owner" "$tmp"
            chmod -- "$mode" "$tmp"
            mv -f -- "$tmp" "$target"
            trap - EXIT
            stat -c '%a %U %G' -- "$target"
            """;
        var cmd = RemoteCommand.BashScript(script, path, mode, owner).WithStdIn(content);
        var result = await ExecuteAsync(cmd, FileTimeout, null, logOutput: true, cancellationToken);
        result.EnsureSuccess($"Writing {path} on {Target.DisplayName}");

        var parts = result.StdOut.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3)
        {
            throw new RemoteCommandFailedException($"Writing {path} on {Target.DisplayName}: unexpected stat output '{result.StdOut.Trim()}'.");
        }

        var stat = new RemoteFileStat(path, parts[0], parts[1], parts[2]);
        var expectedMode = Convert.ToInt32(mode, 8);
        var actualMode = Convert.ToInt32(stat.Mode, 8);
        var ownerParts = owner.Split(':');
        var ownerOk = OwnerMatches(ownerParts[0], stat.Owner) && (ownerParts.Length == 1 || OwnerMatches(ownerParts[1], stat.Group));
        if (expectedMode != actualMode || !ownerOk)
        {
            // Defect 8 of the runbook: a secret file left with the wrong mode or owner. Never report success.
            throw new RemoteCommandFailedException(
                $"{path} on {Target.DisplayName} was written but is mode {stat.Mode} {stat.Owner}:{stat.Group}, expected {mode} {owner}.");
        }

        _logger.LogInformation("Wrote {Path} on {Node} ({Bytes} bytes, mode {Mode}, owner {Owner}:{Group})",
            path, Target.DisplayName, content.Length, stat.Mode, stat.Owner, stat.Group);
        return stat;
    }

    public async ValueTask DisposeAsync()
    {
        await _connectLock.WaitAsync(CancellationToken.None);
        try
        {
            _disposed = true;
            _connection?.Dispose();
            _connection = null;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>True once the pool has replaced this session (its node's SSH settings changed).</summary>
    public bool Retired => Volatile.Read(ref _retired) != 0;

    /// <summary>
    /// The pool replaced this session: it stays usable for whoever still holds it (an operation that started with the
    /// old settings must not have its connection closed under a running command), but its connection closes whenever
    /// no command runs on it, so a retired session holds no connection once its holders are done.
    /// </summary>
    public Task RetireAsync()
    {
        Interlocked.Exchange(ref _retired, 1);
        return CloseIfIdleAsync();
    }

    private async Task CloseIfIdleAsync()
    {
        await _connectLock.WaitAsync(CancellationToken.None);
        try
        {
            // Commands count themselves before they look for a connection, and a retired session's commands always
            // look under this lock: none can pick up the connection between this check and the close.
            if (Volatile.Read(ref _active) == 0 && _connection is { } idle)
            {
                _connection = null;
                idle.Dispose();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogDebug(ex, "Closing the retired SSH connection to {Node} failed", Target.DisplayName);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    /// <summary>For tests: whether the session holds a connection now.</summary>
    internal bool HoldsConnection => Volatile.Read(ref _connection) is not null;

    /// <summary>For tests: drops the underlying connection as if the network had cut it.</summary>
    internal void DropConnectionForTest() => _connection?.Client.Dispose();

    private async Task<CommandResult> ExecuteAsync(RemoteCommand command, TimeSpan timeout, Action<OutputLine>? onLine, bool logOutput, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        Interlocked.Increment(ref _active);
        try
        {
            return await ExecuteCountedAsync(command, timeout, onLine, logOutput, cancellationToken);
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) == 0 && Retired)
            {
                await CloseIfIdleAsync();
            }
        }
    }

    private async Task<CommandResult> ExecuteCountedAsync(RemoteCommand command, TimeSpan timeout, Action<OutputLine>? onLine, bool logOutput, CancellationToken cancellationToken)
    {
        var masker = new SecretMasker(Target.Secrets).AddRange(command.Secrets);
        var hasInput = command.StdIn is { Length: > 0 };

        // SSH.NET sends EOF on the channel only after some input was written, so a command given no input
        // reads /dev/null instead: a program that reads stdin must not wait for input that never comes.
        var text = command.Render(Target.Privilege, timeout) + (hasInput ? string.Empty : " </dev/null");
        var display = masker.Apply(text);
        _logger.LogDebug("Running on {Node}: {Command} (timeout {TimeoutSeconds} s)", Target.DisplayName, display, timeout.TotalSeconds);

        var started = _time.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            var connection = await EnsureConnectedAsync(cancellationToken);
            SshCommand ssh;
            Task execution;
            try
            {
                ssh = connection.Client.CreateCommand(text, Encoding.UTF8);
                ssh.CommandTimeout = timeout + LocalGrace;
                execution = ssh.ExecuteAsync(cancellationToken);
            }
            catch (Exception ex) when (attempt == 0 && (SshErrors.IsConnectionLoss(ex) || ex is SshOperationTimeoutException))
            {
                // Opening the channel failed, so the command never started: reconnecting and retrying is safe. A
                // channel that does not open in time means a silent connection (a partition sends no reset): SSH.NET
                // still calls it connected, and would time out every later command on it until it is replaced.
                _logger.LogWarning("SSH connection to {Node} was lost ({Reason}); reconnecting", Target.DisplayName, ex.Message);
                Invalidate(connection);
                continue;
            }
            catch (Exception ex) when (SshErrors.IsConnectionLoss(ex) || ex is SshOperationTimeoutException)
            {
                Invalidate(connection);
                throw new SshConnectionLostException($"The SSH connection to {Target.DisplayName} failed: {ex.Message}", ex);
            }

            using (ssh)
            {
                return await CompleteAsync(ssh, execution, connection, command, timeout, masker, onLine, logOutput, started, cancellationToken);
            }
        }
    }

    private async Task<CommandResult> CompleteAsync(
        SshCommand ssh, Task execution, Connection connection, RemoteCommand command, TimeSpan timeout,
        SecretMasker masker, Action<OutputLine>? onLine, bool logOutput, long started, CancellationToken cancellationToken)
    {
        var callbackGate = new Lock();
        void Deliver(OutputStreamKind kind, string line)
        {
            var masked = masker.Apply(line);
            if (logOutput)
            {
                _logger.LogDebug("{Node} {Stream}: {Line}", Target.DisplayName, kind, masked);
            }

            if (onLine is not null)
            {
                var item = new OutputLine(kind, masked, _time.GetUtcNow());
                lock (callbackGate)
                {
                    onLine(item);
                }
            }
        }

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();

        // PipeStream reads block a thread until data or end of channel; dedicated threads keep them off the pool.
        var outReader = Task.Factory.StartNew(() => Pump(ssh.OutputStream, stdout, l => Deliver(OutputStreamKind.Stdout, l)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var errReader = Task.Factory.StartNew(() => Pump(ssh.ExtendedOutputStream, stderr, l => Deliver(OutputStreamKind.Stderr, l)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var timedOutLocally = false;
        try
        {
            if (command.StdIn is { Length: > 0 } bytes)
            {
                // Disposing the input stream sends EOF (it does so only after data was written).
                var input = ssh.CreateInputStream();
                await using (input)
                {
                    await input.WriteAsync(bytes, cancellationToken);
                }
            }

            await execution;
        }
        catch (SshOperationTimeoutException)
        {
            timedOutLocally = true;
            _logger.LogWarning("No answer from {Node} {Seconds} s after the command's limit; giving up locally", Target.DisplayName, LocalGrace.TotalSeconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _logger.LogInformation("Command on {Node} cancelled: {Command}", Target.DisplayName, masker.Apply(command.Render(Target.Privilege, timeout)));
            await DrainAsync(outReader, errReader);
            throw;
        }
        catch (Exception ex) when (SshErrors.IsConnectionLoss(ex))
        {
            Invalidate(connection);
            await DrainAsync(outReader, errReader);
            throw new SshConnectionLostException(
                $"The SSH connection to {Target.DisplayName} broke while a command was running; it may or may not have completed on the host.", ex);
        }

        await DrainAsync(outReader, errReader);

        var duration = _time.GetElapsedTime(started);
        var exit = ssh.ExitStatus ?? -1;

        // GNU timeout exits 124 after TERM, or 128+9 when it had to KILL. A program may itself exit 124, so the
        // elapsed time must agree before we call it a timeout.
        var timedOut = timedOutLocally || ((exit == 124 || exit == 137) && duration >= timeout - TimeSpan.FromMilliseconds(200));
        var result = new CommandResult(exit, stdout.ToString(), stderr.ToString(), timedOut, duration);

        if (timedOut)
        {
            _logger.LogWarning("Command on {Node} timed out after {DurationMs} ms (limit {TimeoutSeconds} s)",
                Target.DisplayName, (long)duration.TotalMilliseconds, timeout.TotalSeconds);
        }
        else
        {
            _logger.LogDebug("Command on {Node} exited {ExitCode} in {DurationMs} ms{Signal}",
                Target.DisplayName, exit, (long)duration.TotalMilliseconds, ssh.ExitSignal is null ? string.Empty : " (signal " + ssh.ExitSignal + ")");
        }

        return result;
    }

    private static async Task DrainAsync(Task outReader, Task errReader)
    {
        // The streams end when the channel closes; if the connection died they may not, so do not wait forever.
        var both = Task.WhenAll(outReader, errReader);
        await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None));
    }

    private static void Pump(Stream stream, StringBuilder all, Action<string> onLine)
    {
        var decoder = new UTF8Encoding(false, false).GetDecoder();
        var bytes = new byte[8192];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
        var line = new StringBuilder();
        try
        {
            int n;
            while ((n = stream.Read(bytes, 0, bytes.Length)) > 0)
            {
                var count = decoder.GetChars(bytes, 0, n, chars, 0, flush: false);
                for (var i = 0; i < count; i++)
                {
                    var c = chars[i];
                    all.Append(c);
                    if (c == '\n')
                    {
                        onLine(TrimCr(line));
                        line.Clear();
                    }
                    else
                    {
                        line.Append(c);
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The command was disposed (cancelled or connection lost): what arrived is all there is.
        }

        if (line.Length > 0)
        {
            onLine(TrimCr(line));
        }
    }

    private static string TrimCr(StringBuilder line) =>
        line.Length > 0 && line[^1] == '\r' ? line.ToString(0, line.Length - 1) : line.ToString();

    private async Task<Connection> EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _connection);
        if (current is not null && current.IsAlive && !Retired)
        {
            return current;
        }

        await _connectLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is not null && _connection.IsAlive)
            {
                return _connection;
            }

            if (_connection is not null)
            {
                _logger.LogInformation("SSH connection to {Node} is down; reconnecting", Target.DisplayName);
                _connection.Dispose();
                _connection = null;
            }

            var pin = Target.NormalizedPin ?? throw new HostKeyNotPinnedException(Target.DisplayName);
            var connection = await OpenAsync(pin, cancellationToken);
            Volatile.Write(ref _connection, connection);
            Interlocked.Increment(ref _connectionCount);
            LastSeenHostKeySha256 = connection.HostKey.Sha256;
            return connection;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task<Connection> OpenAsync(string pin, CancellationToken cancellationToken)
    {
        var disposables = new List<IDisposable>();
        try
        {
            AuthenticationMethod auth;
            if (Target.AuthKind == SshAuthKind.Password)
            {
                if (string.IsNullOrEmpty(Target.Password))
                {
                    throw new SshAuthenticationFailedException($"No password is set for {Target.DisplayName}.");
                }

                auth = new PasswordAuthenticationMethod(Target.User, Target.Password);
            }
            else
            {
                var key = LoadKey();
                disposables.Add(key);
                auth = new PrivateKeyAuthenticationMethod(Target.User, key);
            }

            disposables.Add(auth);
            var info = new ConnectionInfo(Target.Host, Target.Port, Target.User, auth)
            {
                Timeout = Target.ConnectTimeout,
                RetryAttempts = 1,
                Encoding = Encoding.UTF8,
            };
            var client = new SshClient(info) { KeepAliveInterval = TimeSpan.FromSeconds(15) };
            disposables.Insert(0, client);

            HostKeyInfo? seen = null;
            HostKeyMismatchException? mismatch = null;
            client.HostKeyReceived += (_, e) =>
            {
                seen = new HostKeyInfo(e.FingerPrintSHA256, e.HostKeyName, e.KeyLength);
                e.CanTrust = HostKeyFingerprint.Matches(pin, e.FingerPrintSHA256);
                if (!e.CanTrust)
                {
                    mismatch = new HostKeyMismatchException(Target.DisplayName, pin, e.FingerPrintSHA256);
                }
            };
            client.ErrorOccurred += (_, e) =>
                _logger.LogWarning("SSH connection to {Node} reported an error: {Error}", Target.DisplayName, _masker.Apply(e.Exception.Message));

            using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutCts.CancelAfter(Target.ConnectTimeout);
            try
            {
                await client.ConnectAsync(timeoutCts.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var mapped = SshErrors.MapConnect(ex, Target, mismatch);
                if (mismatch is not null)
                {
                    _logger.LogError("Refused {Node}: host key SHA256:{Actual} does not match the pinned SHA256:{Expected} (possible interception)",
                        Target.DisplayName, mismatch.Actual, mismatch.Expected);
                }
                else
                {
                    _logger.LogWarning("Connecting to {Node} failed: {Reason}", Target.DisplayName, _masker.Apply(mapped.Message));
                }

                throw mapped;
            }

            var hostKey = seen ?? throw new SshUnreachableException($"{Target.DisplayName} connected without presenting a host key.");
            _logger.LogInformation("Connected to {Node} (host key {Algorithm} SHA256:{Fingerprint})", Target.DisplayName, hostKey.Algorithm, hostKey.Sha256);
            var result = new Connection(client, hostKey, disposables);
            disposables = [];
            return result;
        }
        finally
        {
            foreach (var d in disposables)
            {
                d.Dispose();
            }
        }
    }

    private PrivateKeyFile LoadKey()
    {
        try
        {
            Stream stream;
            if (!string.IsNullOrEmpty(Target.PrivateKey))
            {
                stream = new MemoryStream(Encoding.UTF8.GetBytes(Target.PrivateKey.Replace("\r\n", "\n", StringComparison.Ordinal)));
            }
            else if (!string.IsNullOrEmpty(Target.PrivateKeyPath))
            {
                stream = File.OpenRead(Target.PrivateKeyPath);
            }
            else
            {
                throw new SshPrivateKeyException($"No private key is set for {Target.DisplayName}.");
            }

            using (stream)
            {
                return string.IsNullOrEmpty(Target.Passphrase) ? new PrivateKeyFile(stream) : new PrivateKeyFile(stream, Target.Passphrase);
            }
        }
        catch (SshPrivateKeyException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var mapped = SshErrors.MapKey(ex, Target);
            _logger.LogWarning("Loading the private key for {Node} failed: {Reason}", Target.DisplayName, mapped.Message);
            throw mapped;
        }
    }

    private void Invalidate(Connection connection)
    {
        // Only the connection that failed is dropped; a newer one made meanwhile by another command stays.
        if (Interlocked.CompareExchange(ref _connection, null, connection) == connection)
        {
            connection.Dispose();
        }
    }

    private static bool OwnerMatches(string expected, string actual) => string.Equals(expected, actual, StringComparison.Ordinal);

    private static void ValidateAbsolutePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!path.StartsWith('/') || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{path}' is not an absolute path.", nameof(path));
        }
    }

    [GeneratedRegex("^0?[0-7]{3}$")]
    private static partial Regex ModeRegex();

    [GeneratedRegex("^[a-z_][a-z0-9_.-]*[$]?(:[a-z_][a-z0-9_.-]*[$]?)?$", RegexOptions.IgnoreCase)]
    private static partial Regex OwnerRegex();

    private sealed class Connection(SshClient client, HostKeyInfo hostKey, List<IDisposable> disposables) : IDisposable
    {
        public SshClient Client { get; } = client;

        public HostKeyInfo HostKey { get; } = hostKey;

        public bool IsAlive
        {
            get
            {
                try
                {
                    return Client.IsConnected;
                }
                catch (ObjectDisposedException)
                {
                    return false;
                }
            }
        }

        public void Dispose()
        {
            foreach (var d in disposables)
            {
                try
                {
                    if (d is SshClient { IsConnected: true } c)
                    {
                        c.Disconnect();
                    }

                    d.Dispose();
                }
                catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException or IOException)
                {
                    // Closing a connection that is already broken: nothing to save.
                }
            }
        }
    }
}
