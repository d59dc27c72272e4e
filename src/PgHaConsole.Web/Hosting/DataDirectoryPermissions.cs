using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Hosting;

/// <summary>
/// The data directory holds the store (SQLite), the Data Protection key ring and the setup code: readable by the
/// account that runs the console only (0700), and the store's files 0600, whatever the umask made of them.
/// </summary>
internal static class DataDirectoryPermissions
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Prepare(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(dataDirectory, OwnerOnlyDirectory);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new InvalidOperationException(
                $"The data directory {dataDirectory} must belong to the account that runs the console (making it 0700 failed: {ex.Message}).", ex);
        }
    }

    /// <summary>After the migration created them: the SQLite file and its WAL/SHM companions, and the key ring directory.</summary>
    public static void RestrictStoreFiles(ConsoleOptions options)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var file in new[] { options.SqlitePath, options.SqlitePath + "-wal", options.SqlitePath + "-shm" })
        {
            if (File.Exists(file))
            {
                File.SetUnixFileMode(file, OwnerOnlyFile);
            }
        }

        if (Directory.Exists(options.ResolvedKeyRingDirectory))
        {
            File.SetUnixFileMode(options.ResolvedKeyRingDirectory, OwnerOnlyDirectory);
        }
    }
}
