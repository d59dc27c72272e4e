using PgHaConsole.Core.Tests.Shell;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.IntegrationTests.Infrastructure;
using static PgHaConsole.IntegrationTests.Ssh.SshTestSupport;

namespace PgHaConsole.IntegrationTests.Ssh;

/// <summary>The SSH layer against the real lab hosts: pinning, errors, timeouts, streaming, reuse, reconnect.</summary>
[Collection(LabCollection.Name)]
public sealed class SshSessionLabTests(LabFixture lab) : IAsyncLifetime
{
    private readonly CollectingLoggerProvider _logs = new();
    private SshSessionPool _pool = null!;

    public Task InitializeAsync()
    {
        _pool = new SshSessionPool(_logs.CreateFactory());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _pool.DisposeAsync();
        foreach (var key in _keys)
        {
            Directory.Delete(Path.GetDirectoryName(key)!, recursive: true);
        }
    }

    private readonly List<string> _keys = [];

    private async Task<string> KeyAsync(string passphrase = "")
    {
        var key = await NewKeyAsync(passphrase);
        _keys.Add(key);
        return key;
    }

    [Theory]
    [InlineData("pg1")]
    [InlineData("pg2")]
    public async Task Connects_with_the_lab_key_and_pinned_host_key_and_hostname_answers(string node)
    {
        var session = _pool.GetSession(lab.Target(node));

        var result = await session.RunAsync(RemoteCommand.Exec("hostname"));

        Assert.True(result.Succeeded, result.StdErr);
        Assert.Equal(node, result.StdOut.Trim());
        Assert.Equal(HostKeyFingerprint.Normalize(lab.Node(node).HostKeySha256), session.LastSeenHostKeySha256);
    }

    [Fact]
    public async Task Pin_with_SHA256_prefix_and_padding_is_accepted()
    {
        var target = lab.Target("pg1") with { HostKeySha256 = "SHA256:" + lab.Node("pg1").HostKeySha256 + "=" };

        var result = await _pool.GetSession(target).RunAsync(RemoteCommand.Exec("true"));

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task A_wrong_fingerprint_is_refused_loudly_and_nothing_runs()
    {
        var real = lab.Node("pg1").HostKeySha256;
        var wrong = lab.Node("pg2").HostKeySha256; // a real key, just not this host's
        var canary = $"/tmp/pgha-mitm-{Guid.NewGuid():N}";
        var session = _pool.GetSession(lab.Target("pg1") with { HostKeySha256 = wrong });

        var ex = await Assert.ThrowsAsync<HostKeyMismatchException>(() => session.RunAsync(RemoteCommand.Exec("touch", canary)));

        Assert.Equal(HostKeyFingerprint.Normalize(real), ex.Actual);
        Assert.Equal(HostKeyFingerprint.Normalize(wrong), ex.Expected);
        Assert.Contains("interception", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("admin must confirm", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, session.ConnectionCount);
        Assert.Contains(_logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("possible interception", StringComparison.Ordinal));

        var check = await _pool.GetSession(lab.Target("pg1")).RunAsync(RemoteCommand.Exec("test", "-e", canary));
        Assert.Equal(1, check.ExitCode);
    }

    [Fact]
    public async Task Without_a_pin_commands_are_refused_but_the_key_can_be_probed()
    {
        var unpinned = lab.Target("pg2") with { HostKeySha256 = null };

        await Assert.ThrowsAsync<HostKeyNotPinnedException>(() => _pool.GetSession(unpinned).RunAsync(RemoteCommand.Exec("true")));
        var probed = await _pool.ProbeHostKeyAsync(unpinned, CancellationToken.None);

        Assert.Equal(HostKeyFingerprint.Normalize(lab.Node("pg2").HostKeySha256), probed.Sha256);
        Assert.Equal("SHA256:" + probed.Sha256, probed.Display);
        Assert.False(string.IsNullOrEmpty(probed.Algorithm));
    }

    [Fact]
    public async Task Hostile_values_come_back_byte_identical_and_nothing_else_runs()
    {
        var canary = $"/tmp/pwned-{Guid.NewGuid():N}";
        string[] values =
        [
            .. HostileValues.All,
            $"x; touch {canary}",
            $"$(touch {canary})",
            $"`touch {canary}`",
            $"'; touch {canary}; '",
            $"\"; touch {canary}; \"",
            $"\ntouch {canary}\n",
            $"--version; touch {canary}",
        ];
        var session = _pool.GetSession(lab.Target("pg1"));

        var direct = await session.RunAsync(RemoteCommand.Exec("printf", ["%s\\0", .. values]));
        var viaScript = await session.RunAsync(RemoteCommand.BashScript("""printf '%s\0' "$@" """, values));
        var viaEnv = await session.RunAsync(RemoteCommand.BashScript("""printf '%s\0' "$V" """).WithEnvironment("V", values[^7]));
        var asUser = await session.RunAsync(RemoteCommand.Exec("printf", ["%s\\0", .. values]).AsUser("postgres").InDirectory("/tmp"));

        var expected = string.Concat(values.Select(v => v + "\0"));
        Assert.True(direct.Succeeded, direct.StdErr);
        Assert.Equal(expected, direct.StdOut);
        Assert.Equal(expected, viaScript.StdOut);
        Assert.Equal(values[^7] + "\0", viaEnv.StdOut);
        Assert.Equal(expected, asUser.StdOut);
        var check = await session.RunAsync(RemoteCommand.Exec("test", "-e", canary));
        Assert.Equal(1, check.ExitCode);
    }

    [Fact]
    public async Task Timeout_is_enforced_on_the_host()
    {
        // A unique duration makes the process easy to find on the host, and nobody else's.
        var marker = "30." + Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture);
        var session = _pool.GetSession(lab.Target("pg1"));
        var sw = Stopwatch.StartNew();

        var result = await session.RunAsync(RemoteCommand.Exec("sleep", marker), TimeSpan.FromSeconds(1), null, CancellationToken.None);

        sw.Stop();
        Assert.True(result.TimedOut);
        Assert.False(result.Succeeded);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.Equal(1, await LeftoverAsync(session, marker)); // pgrep: no process matched
    }

    [Fact]
    public async Task Timeout_also_stops_a_command_run_as_another_user()
    {
        var marker = "30." + Random.Shared.Next(100000, 999999).ToString(CultureInfo.InvariantCulture);
        var session = _pool.GetSession(lab.Target("pg1"));

        var result = await session.RunAsync(
            RemoteCommand.BashScript("""sleep "$1"; echo never""", marker).AsUser("postgres"), TimeSpan.FromSeconds(1), null, CancellationToken.None);

        Assert.True(result.TimedOut);
        Assert.DoesNotContain("never", result.StdOut, StringComparison.Ordinal);
        await Task.Delay(500);
        Assert.Equal(1, await LeftoverAsync(session, marker));
    }

    [Fact]
    public async Task A_command_that_exits_124_by_itself_is_not_a_timeout()
    {
        var result = await _pool.GetSession(lab.Target("pg1")).RunAsync(RemoteCommand.BashScript("exit 124"));

        Assert.Equal(124, result.ExitCode);
        Assert.False(result.TimedOut);
    }

    [Fact]
    public async Task Lines_stream_before_the_command_ends_on_both_streams()
    {
        var session = _pool.GetSession(lab.Target("pg1"));
        var lines = new List<OutputLine>();
        var firstLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = session.RunAsync(
            RemoteCommand.BashScript("echo first; echo oops >&2; sleep 3; printf 'last-no-newline'"),
            TimeSpan.FromSeconds(20),
            line =>
            {
                lines.Add(line);
                firstLine.TrySetResult();
            },
            CancellationToken.None);

        await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(run.IsCompleted, "the first line should arrive while the command still runs");
        var result = await run;

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(lines, l => l is { Stream: OutputStreamKind.Stdout, Text: "first" });
        Assert.Contains(lines, l => l is { Stream: OutputStreamKind.Stderr, Text: "oops" });
        Assert.Equal("last-no-newline", lines.Last(l => l.Stream == OutputStreamKind.Stdout).Text);
        Assert.Equal("first\nlast-no-newline", result.StdOut);
        Assert.Equal("oops\n", result.StdErr);
        var first = lines.First(l => l.Text == "first").At;
        var last = lines.Last().At;
        Assert.True(last - first > TimeSpan.FromSeconds(2), $"lines were not streamed: {first:O} .. {last:O}");
    }

    [Fact]
    public async Task Standard_input_is_delivered_and_closed()
    {
        byte[] payload = [.. Encoding.UTF8.GetBytes("line one\nünïcödé\n"), 0, 0xff, 0xfe, (byte)'\n', (byte)'x'];
        var session = _pool.GetSession(lab.Target("pg2"));

        var withInput = await session.RunAsync(RemoteCommand.BashScript("base64 -w0").WithStdIn(payload));
        var withoutInput = await session.RunAsync(RemoteCommand.Exec("cat"));

        Assert.Equal(payload, Convert.FromBase64String(withInput.StdOut.Trim()));
        Assert.Equal(0, withoutInput.ExitCode);
        Assert.Equal(string.Empty, withoutInput.StdOut);
    }

    [Fact]
    public async Task A_target_without_a_pin_never_takes_the_pooled_sessions_place()
    {
        // A picture of the node from before its key was pinned (a poll that read the cluster a moment before an import
        // pinned it) once replaced, and closed, the session a setup was running its commands on.
        var pooled = _pool.GetSession(lab.Target("pg1"));
        Assert.Equal(0, (await pooled.RunAsync(RemoteCommand.Exec("true"))).ExitCode);

        var unpinned = _pool.GetSession(lab.Target("pg1") with { HostKeySha256 = null });
        await Assert.ThrowsAsync<HostKeyNotPinnedException>(() => unpinned.RunAsync(RemoteCommand.Exec("true")));

        Assert.Same(pooled, _pool.GetSession(lab.Target("pg1")));
        Assert.Equal("pg1", (await pooled.RunAsync(RemoteCommand.Exec("hostname"))).StdOut.Trim());
        Assert.Equal(1, pooled.ConnectionCount);
    }

    [Fact]
    public async Task A_replaced_session_finishes_its_running_command_stays_usable_and_closes_its_connection_when_idle()
    {
        var old = (SshSession)_pool.GetSession(lab.Target("pg1"));
        var running = old.RunAsync(RemoteCommand.BashScript("sleep 1; hostname"));
        await Task.Delay(300);

        // The node's SSH settings change under a running command (another digest, the same host).
        var fresh = _pool.GetSession(lab.Target("pg1") with { Password = "changed" });
        Assert.NotSame(old, fresh);

        Assert.Equal("pg1", (await running).StdOut.Trim());
        Assert.True(old.Retired);
        Assert.False(old.HoldsConnection, "a retired session closes its connection once no command runs");
        // Whoever still holds it (an operation started with the old settings) goes on with it.
        Assert.Equal("pg1", (await old.RunAsync(RemoteCommand.Exec("hostname"))).StdOut.Trim());
        Assert.False(old.HoldsConnection);
        Assert.Equal("pg1", (await fresh.RunAsync(RemoteCommand.Exec("hostname"))).StdOut.Trim());
    }

    [Fact]
    public async Task Two_commands_reuse_one_connection_and_parallel_commands_share_it()
    {
        var session = _pool.GetSession(lab.Target("pg1"));

        var first = await SshdPidAsync(session);
        var second = await SshdPidAsync(session);
        var parallel = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => SshdPidAsync(session)));

        Assert.Equal(first, second);
        Assert.All(parallel, p => Assert.Equal(first, p));
        Assert.Equal(1, session.ConnectionCount);
        Assert.Same(session, _pool.GetSession(lab.Target("pg1")));
    }

    [Fact]
    public async Task Reconnects_after_the_host_drops_the_connection()
    {
        var session = _pool.GetSession(lab.Target("pg2"));
        var before = await SshdPidAsync(session);

        // Kill the sshd child serving our connection, from a separate connection.
        await using (var other = new SshPool2(lab))
        {
            var kill = await other.Session.RunAsync(RemoteCommand.Exec("kill", before.ToString(CultureInfo.InvariantCulture)));
            Assert.Equal(0, kill.ExitCode);
        }

        await Task.Delay(500);
        var after = await SshdPidAsync(session);

        Assert.NotEqual(before, after);
        Assert.Equal(2, session.ConnectionCount);
    }

    [Fact]
    public async Task Reconnects_after_the_client_side_connection_is_disposed()
    {
        var session = (SshSession)_pool.GetSession(lab.Target("pg1"));
        await session.RunAsync(RemoteCommand.Exec("true"));

        session.DropConnectionForTest();
        var result = await session.RunAsync(RemoteCommand.Exec("hostname"));

        Assert.Equal("pg1", result.StdOut.Trim());
        Assert.Equal(2, session.ConnectionCount);
    }

    [Fact]
    public async Task Cancellation_ends_the_call_promptly_and_the_session_stays_usable()
    {
        var session = _pool.GetSession(lab.Target("pg1"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var sw = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => session.RunAsync(RemoteCommand.Exec("sleep", "25"), TimeSpan.FromSeconds(30), null, cts.Token));

        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.Equal("pg1", (await session.RunAsync(RemoteCommand.Exec("hostname"))).StdOut.Trim());
    }

    [Fact]
    public async Task A_wrong_key_gives_a_clear_authentication_error()
    {
        var key = await KeyAsync();
        var target = lab.Target("pg1") with { PrivateKeyPath = key };

        var ex = await Assert.ThrowsAsync<SshAuthenticationFailedException>(() => _pool.GetSession(target).RunAsync(RemoteCommand.Exec("true")));

        Assert.Contains("refused the private key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pg1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_gives_a_clear_authentication_error()
    {
        const string password = "not-the-password-9731";
        var target = lab.Target("pg1") with { AuthKind = Core.Model.SshAuthKind.Password, Password = password, PrivateKeyPath = null };

        var ex = await Assert.ThrowsAsync<SshAuthenticationFailedException>(() => _pool.GetSession(target).RunAsync(RemoteCommand.Exec("true")));

        Assert.Contains("refused the password", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Lines, l => l.Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_encrypted_key_with_a_wrong_or_missing_passphrase_is_reported_as_such()
    {
        var key = await KeyAsync("right-passphrase");
        var wrong = lab.Target("pg1") with { PrivateKeyPath = key, Passphrase = "wrong-passphrase" };
        var missing = lab.Target("pg1") with { PrivateKeyPath = key };

        var ex1 = await Assert.ThrowsAsync<SshPrivateKeyException>(() => _pool.GetSession(wrong).RunAsync(RemoteCommand.Exec("true")));
        var ex2 = await Assert.ThrowsAsync<SshPrivateKeyException>(() => _pool.GetSession(missing).RunAsync(RemoteCommand.Exec("true")));

        Assert.Contains("wrong passphrase", ex1.Message, StringComparison.Ordinal);
        Assert.Contains("no passphrase", ex2.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-passphrase", ex1.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_port_or_host_gives_a_clear_error()
    {
        var closedPort = lab.Target("pg1") with { Port = 2 };
        var silentHost = lab.Target("pg1") with { Host = "198.18.4.249", ConnectTimeout = TimeSpan.FromSeconds(2) };
        var sw = Stopwatch.StartNew();

        var refused = await Assert.ThrowsAsync<SshUnreachableException>(() => _pool.GetSession(closedPort).RunAsync(RemoteCommand.Exec("true")));
        var silent = await Assert.ThrowsAsync<SshUnreachableException>(() => _pool.GetSession(silentHost).RunAsync(RemoteCommand.Exec("true")));

        var probe = await Assert.ThrowsAsync<SshUnreachableException>(() => _pool.ProbeHostKeyAsync(closedPort, CancellationToken.None));

        Assert.Contains("connection refused", refused.Message, StringComparison.Ordinal);
        Assert.Contains("198.18.4.247:2", refused.Message, StringComparison.Ordinal);
        Assert.Contains("198.18.4.247:2", probe.Message, StringComparison.Ordinal);
        Assert.Contains("198.18.4.249", silent.Message, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Secrets_are_masked_in_logs_and_streamed_lines_but_not_in_the_raw_result()
    {
        const string secret = "S3cr'et $(pw) v4lue";
        var session = _pool.GetSession(lab.Target("pg1"));
        var lines = new List<OutputLine>();

        var result = await session.RunAsync(
            RemoteCommand.BashScript("""printf 'arg=%s\n' "$1"; printf 'env=%s\n' "$PGPASSWORD" >&2""", secret)
                .WithEnvironment("PGPASSWORD", secret, secret: true),
            TimeSpan.FromSeconds(10),
            lines.Add,
            CancellationToken.None);

        Assert.Equal("arg=" + secret + "\n", result.StdOut);
        Assert.Equal(["arg=******", "env=******"], lines.Select(l => l.Text).Order(StringComparer.Ordinal));
        var logs = _logs.Lines;
        Assert.Contains(logs, l => l.Contains("Running on pg1", StringComparison.Ordinal) && l.Contains("******", StringComparison.Ordinal));
        // Every command (the prober runs several per node every 2 s) is logged at Debug, not Information (#17: 2.4 MB of
        // Information lines in 17 minutes for one pair); operations journal their commands themselves.
        Assert.All(logs.Where(l => l.Contains("Running on pg1", StringComparison.Ordinal) || l.Contains("Command on pg1 exited", StringComparison.Ordinal)),
            l => Assert.StartsWith("Debug ", l, StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("arg=******", StringComparison.Ordinal));
        foreach (var fragment in new[] { secret, "S3cr", "v4lue", "$(pw)" })
        {
            Assert.DoesNotContain(logs, l => l.Contains(fragment, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Changed_settings_replace_the_pooled_connection()
    {
        var first = _pool.GetSession(lab.Target("pg1"));
        await first.RunAsync(RemoteCommand.Exec("true"));

        // A different connect timeout is not a different identity: callers with different patience share the connection.
        Assert.Same(first, _pool.GetSession(lab.Target("pg1") with { ConnectTimeout = TimeSpan.FromSeconds(7) }));

        // Another key (the same key from another file here) is: the old session is retired, its connection closed.
        var keyCopy = Path.Combine(Path.GetTempPath(), "pgha-key-" + Guid.NewGuid().ToString("N"));
        File.Copy(lab.Target("pg1").PrivateKeyPath!, keyCopy);
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(keyCopy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        try
        {
            var second = _pool.GetSession(lab.Target("pg1") with { PrivateKeyPath = keyCopy });

            Assert.NotSame(first, second);
            Assert.Equal(0, (await second.RunAsync(RemoteCommand.Exec("true"))).ExitCode);
            // Retired: its idle connection closed at once (a holder may still use it: see the test of a running command).
            Assert.True(((SshSession)first).Retired);
            Assert.False(((SshSession)first).HoldsConnection);
        }
        finally
        {
            File.Delete(keyCopy);
        }
    }

    /// <summary>
    /// pgrep's exit code for processes whose command line holds <paramref name="marker"/>. The pattern is written
    /// as "[3]0.123" so that it does not match the command line of the pgrep (or timeout) looking for it.
    /// </summary>
    private static async Task<int> LeftoverAsync(ISshSession session, string marker)
    {
        var r = await session.RunAsync(RemoteCommand.Exec("pgrep", "-f", "[" + marker[0] + "]" + marker[1..].Replace(".", "\\.", StringComparison.Ordinal)));
        return r.ExitCode;
    }

    /// <summary>A second, independent pool: a connection that is not the one under test.</summary>
    private sealed class SshPool2(LabFixture lab) : IAsyncDisposable
    {
        private readonly SshSessionPool _pool = new();

        public ISshSession Session => _pool.GetSession(lab.Target("pg2"));

        public ValueTask DisposeAsync() => _pool.DisposeAsync();
    }
}
