using System.Collections.Immutable;
using System.Globalization;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Core.Shell;

/// <summary>
/// A command to run on a host, kept as an argument vector until the last moment. The only way to turn it into
/// text is <see cref="Render"/>, which quotes every part through <see cref="ShellQuote"/>; nothing a user typed
/// is ever concatenated into a command line. Secrets registered with the command are masked by
/// <see cref="ToDisplayString"/>, which is what plans and logs show.
/// </summary>
/// <remarks>
/// Rendered shape (each part optional):
/// <c>[sudo -n [-u USER] --] [timeout --signal=TERM --kill-after=5 SECS] [runuser -u USER --] [env [-C DIR] NAME=VALUE…] PROGRAM ARGS…</c>.
/// <c>timeout</c> sits inside <c>sudo</c> so that it runs with the privileges needed to kill what it started, and
/// outside <c>runuser</c> so that it bounds the whole thing. <c>env -C</c> (coreutils ≥ 8.28) changes directory
/// without a shell.
/// </remarks>
public sealed record RemoteCommand
{
    private RemoteCommand(ImmutableArray<string> argv, string? script)
    {
        Argv = argv;
        Script = script;
    }

    /// <summary>Program and arguments (for a script: the positional arguments only).</summary>
    public ImmutableArray<string> Argv { get; }

    /// <summary>A fixed, reviewed bash script run as <c>bash -c SCRIPT -- ARGS…</c>, or null for a plain program.</summary>
    public string? Script { get; }

    /// <summary>Bytes written to the command's standard input (then closed); null sends an empty input.</summary>
    public ReadOnlyMemory<byte>? StdIn { get; init; }

    /// <summary>OS user to run as (<c>runuser -u</c> as root, <c>sudo -n -u</c> otherwise), or null.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>Working directory (absolute), or null for the login directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Environment variables set for the program, in order.</summary>
    public ImmutableList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>
    /// Run as the login user even when the target uses sudo (for probes that must work, and report, when sudo
    /// does not). Ignored for root logins.
    /// </summary>
    public bool WithoutSudo { get; init; }

    /// <summary>Values hidden by <see cref="ToDisplayString"/> and by every log line about this command.</summary>
    public ImmutableHashSet<string> Secrets { get; init; } = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    /// <summary>A program and its arguments, each quoted separately.</summary>
    public static RemoteCommand Exec(string program, params IEnumerable<string> arguments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(program);
        ArgumentNullException.ThrowIfNull(arguments);

        // The program is the first word of the line: a word such as NAME=x there would be a shell assignment,
        // and a leading '-' would be an option of sudo/runuser/env before it. Programs are ours, never input.
        if (program.StartsWith('-') || program.Contains('=', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{program}' is not a program name.", nameof(program));
        }

        var argv = ImmutableArray.CreateBuilder<string>();
        argv.Add(program);
        foreach (var a in arguments)
        {
            ArgumentNullException.ThrowIfNull(a, nameof(arguments));
            argv.Add(a);
        }

        return new RemoteCommand(argv.ToImmutable(), null);
    }

    /// <summary>
    /// A fixed script run by bash with values passed as positional parameters (<c>"$1"</c>, <c>"$2"</c>…):
    /// values are never interpolated into the script text, so the script stays what was reviewed.
    /// </summary>
    public static RemoteCommand BashScript(string script, params IEnumerable<string> arguments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(script);
        ArgumentNullException.ThrowIfNull(arguments);
        var args = arguments.ToImmutableArray();
        if (args.Any(a => a is null))
        {
            throw new ArgumentException("Script arguments cannot be null.", nameof(arguments));
        }

        return new RemoteCommand(args, script);
    }

    /// <summary>Runs the command as another OS user.</summary>
    public RemoteCommand AsUser(string user)
    {
        ValidateUser(user);
        return this with { RunAsUser = user };
    }

    /// <summary>Runs the command in <paramref name="directory"/> (absolute path).</summary>
    public RemoteCommand InDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!directory.StartsWith('/'))
        {
            throw new ArgumentException("The working directory must be an absolute path.", nameof(directory));
        }

        return this with { WorkingDirectory = directory };
    }

    /// <summary>Sets an environment variable; <paramref name="secret"/> registers the value for masking.</summary>
    public RemoteCommand WithEnvironment(string name, string value, bool secret = false)
    {
        ValidateEnvName(name);
        ArgumentNullException.ThrowIfNull(value);
        var cmd = this with { Environment = Environment.Add(new KeyValuePair<string, string>(name, value)) };
        return secret ? cmd.WithSecrets(value) : cmd;
    }

    /// <summary>Runs as the login user, without <c>sudo</c> (see <see cref="WithoutSudo"/>).</summary>
    public RemoteCommand AsLoginUser() => this with { WithoutSudo = true };

    /// <summary>Sets the bytes sent to standard input.</summary>
    public RemoteCommand WithStdIn(ReadOnlyMemory<byte> input) => this with { StdIn = input };

    /// <summary>Registers values to mask wherever this command is shown or logged.</summary>
    public RemoteCommand WithSecrets(params IEnumerable<string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var set = Secrets.ToBuilder();
        foreach (var s in secrets)
        {
            if (!string.IsNullOrEmpty(s))
            {
                set.Add(s);
            }
        }

        return this with { Secrets = set.ToImmutable() };
    }

    /// <summary>The exact command line sent to the host (contains secrets in clear: never log it).</summary>
    /// <param name="privilege">Root runs as is; Sudo prefixes <c>sudo -n</c> (never prompts).</param>
    /// <param name="hostTimeout">When set, the command is bounded on the host by <c>timeout</c>.</param>
    public string Render(PrivilegeMode privilege, TimeSpan? hostTimeout = null) =>
        ShellQuote.Join(RenderArgv(privilege, hostTimeout));

    /// <summary>The argument vector <see cref="Render"/> quotes, part by part.</summary>
    public IReadOnlyList<string> RenderArgv(PrivilegeMode privilege, TimeSpan? hostTimeout = null)
    {
        var parts = new List<string>();
        if (privilege == PrivilegeMode.Sudo && !WithoutSudo)
        {
            parts.Add("sudo");
            parts.Add("-n");
            if (RunAsUser is not null)
            {
                parts.Add("-u");
                parts.Add(RunAsUser);
            }

            parts.Add("--");
        }

        if (hostTimeout is { } t)
        {
            parts.AddRange(TimeoutPrefix(t));
        }

        if (RunAsUser is not null && (privilege == PrivilegeMode.Root || WithoutSudo))
        {
            parts.Add("runuser");
            parts.Add("-u");
            parts.Add(RunAsUser);
            parts.Add("--");
        }

        if (WorkingDirectory is not null || !Environment.IsEmpty)
        {
            parts.Add("env");
            if (WorkingDirectory is not null)
            {
                parts.Add("-C");
                parts.Add(WorkingDirectory);
            }

            foreach (var (name, value) in Environment)
            {
                parts.Add(name + "=" + value);
            }
        }

        if (Script is not null)
        {
            parts.Add("bash");
            parts.Add("-c");
            parts.Add(Script);
            parts.Add("--");
        }

        parts.AddRange(Argv);
        return parts;
    }

    /// <summary>The command line for plans and logs: as <see cref="Render"/> with every secret masked.</summary>
    public string ToDisplayString(PrivilegeMode privilege = PrivilegeMode.Root, TimeSpan? hostTimeout = null)
    {
        var text = Render(privilege, hostTimeout);
        return Secrets.IsEmpty ? text : SecretMasker.Apply(text, Secrets);
    }

    /// <summary>A masker holding this command's secrets (for log lines and output about it).</summary>
    public SecretMasker CreateMasker() => new(Secrets);

    /// <summary>Never prints secrets: records otherwise list every property.</summary>
    public override string ToString() => ToDisplayString();

    /// <summary>
    /// <c>timeout --signal=TERM --kill-after=5 SECS</c>: TERM first so the program can clean up, KILL 5 s later.
    /// Seconds are rounded up (a 0.2 s timeout still gets one second), never 0, which would mean "no limit".
    /// </summary>
    public static IReadOnlyList<string> TimeoutPrefix(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "A command timeout must be positive.");
        }

        var secs = (long)Math.Ceiling(timeout.TotalSeconds);
        return ["timeout", "--signal=TERM", "--kill-after=5", secs.ToString(CultureInfo.InvariantCulture)];
    }

    private static void ValidateUser(string user)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);

        // POSIX portable user names; anything else (a leading '-', spaces, quotes) is refused rather than quoted,
        // because runuser/sudo would read a leading '-' as an option.
        var ok = user.Length <= 32 && user[0] is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_'
            && user.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-' or '.');
        if (!ok)
        {
            throw new ArgumentException($"'{user}' is not a valid OS user name.", nameof(user));
        }
    }

    private static void ValidateEnvName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var ok = name[0] is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_'
            && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_');
        if (!ok)
        {
            throw new ArgumentException($"'{name}' is not a valid environment variable name.", nameof(name));
        }
    }
}
