namespace PgHaConsole.Lab;

/// <summary>Where the lab keeps its state.</summary>
public static class LabPaths
{
    public const string SolutionFile = "PgHaConsole.sln";
    public const string DefaultStateDirName = ".lab";
    public const string LabInfoFile = "lab.json";

    /// <summary>The client key the lab generates (root and postgres log in with it).</summary>
    internal const string ClientKeyName = "id_ed25519";

    /// <summary>The hosts' boot script, written into the state dir by <c>up</c>.</summary>
    internal const string BootScriptName = "boot.sh";

    internal static readonly UnixFileMode Mode755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>The repository root: the nearest folder at or above <paramref name="start"/> holding PgHaConsole.sln.</summary>
    public static string? FindRepositoryRoot(string? start = null)
    {
        var dir = new DirectoryInfo(start ?? Directory.GetCurrentDirectory());
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
            {
                return dir.FullName;
            }

            dir = dir.Parent;
        }

        return null;
    }

    /// <summary>
    /// <c>.lab/</c> at the repository root, found from the current directory or, failing that, from this
    /// assembly's location (tests run from bin folders inside the repository, or artifacts elsewhere).
    /// </summary>
    public static string DefaultStateDir()
    {
        var root = FindRepositoryRoot() ?? FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new LabException(
                $"Cannot find the repository root (a folder holding {SolutionFile}) above {Directory.GetCurrentDirectory()}.",
                "Run the lab from inside the repository, or pass --state DIR.");
        return Path.Combine(root, DefaultStateDirName);
    }

    /// <summary>The default lab.json (<c>.lab/lab.json</c> at the repository root).</summary>
    public static string DefaultLabInfoPath() => Path.Combine(DefaultStateDir(), LabInfoFile);

    internal static string Resolve(string? stateDir) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(stateDir) ? DefaultStateDir() : stateDir);
}
