using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Auth;

/// <summary>
/// The one-time code that creating the first administrator requires (as Jenkins does): issued at start while the
/// store has no user, printed once to the console's standard output and written to <c>{DataDirectory}/setup-code</c>
/// (mode 0600), so only whoever started the console — or can read its data directory — can claim it. Without it an
/// anonymous visitor (or a DNS-rebinding page) reaching an empty console would become its administrator.
/// </summary>
public sealed class SetupCode(IOptions<ConsoleOptions> options, ILogger<SetupCode> logger)
{
    public const string FileName = "setup-code";

    // Crockford's base32 alphabet: no I, L, O, U, easy to read and type.
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private const int Length = 20;

    private readonly Lock _gate = new();
    private byte[]? _code;

    public string FilePath => Path.Combine(options.Value.ResolvedDataDirectory, FileName);

    /// <summary>True while a code is waiting to be used.</summary>
    public bool IsIssued
    {
        get
        {
            lock (_gate)
            {
                return _code is not null;
            }
        }
    }

    /// <summary>Makes a new code (100 random bits), writes the file (0600) and prints the code once to <paramref name="output"/>.</summary>
    public void Issue(TextWriter output)
    {
        var chars = new char[Length];
        for (var i = 0; i < Length; i++)
        {
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        var code = string.Join('-', Enumerable.Range(0, Length / 5).Select(g => new string(chars, g * 5, 5)));
        WriteFile(code);
        lock (_gate)
        {
            _code = Encoding.ASCII.GetBytes(Normalize(code));
        }

        // Straight to the console's output, not through the logger: log shippers must not carry it.
        output.WriteLine();
        output.WriteLine("*************************************************************************");
        output.WriteLine("PgHaConsole has no users yet. To create the first administrator, open the");
        output.WriteLine("console in a browser and enter this setup code:");
        output.WriteLine();
        output.WriteLine("    " + code);
        output.WriteLine();
        output.WriteLine("It is also in " + FilePath + " (readable by this account only).");
        output.WriteLine("*************************************************************************");
        output.WriteLine();
        output.Flush();
        logger.LogWarning("The store has no users: creating the first administrator needs the setup code printed above and kept in {Path}", FilePath);
    }

    /// <summary>Constant-time comparison; dashes, spaces and case do not matter.</summary>
    public bool Matches(string? typed)
    {
        byte[]? code;
        lock (_gate)
        {
            code = _code;
        }

        if (code is null || string.IsNullOrWhiteSpace(typed))
        {
            return false;
        }

        var candidate = Encoding.ASCII.GetBytes(Normalize(typed.Length > 64 ? typed[..64] : typed));
        return CryptographicOperations.FixedTimeEquals(candidate, code);
    }

    /// <summary>The first admin exists: the code is spent and its file removed.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            _code = null;
        }

        try
        {
            if (File.Exists(FilePath))
            {
                File.Delete(FilePath);
            }
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not remove the spent setup code file {Path}", FilePath);
        }
    }

    private void WriteFile(string code)
    {
        Directory.CreateDirectory(options.Value.ResolvedDataDirectory);
        // Created 0600 from the start (a chmod after writing would leave a window); an older file is replaced.
        File.Delete(FilePath);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(FilePath, create);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(code);
    }

    private static string Normalize(string code) =>
        new(code.Where(c => c is not ('-' or ' ' or '\t' or '\r' or '\n')).Select(char.ToUpperInvariant).ToArray());
}
