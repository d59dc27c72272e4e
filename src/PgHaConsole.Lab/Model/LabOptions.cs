namespace PgHaConsole.Lab;

/// <summary>What the caller wants: a state directory (null = <see cref="LabPaths.DefaultStateDir"/>) and
/// whether <c>up</c> may install missing Debian packages with apt-get.</summary>
public sealed record LabOptions(string? StateDir = null, bool InstallPackages = false);
