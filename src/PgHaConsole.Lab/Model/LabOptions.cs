namespace PgHaConsole.Lab;

/// <summary>What the caller wants: a state directory (null = <see cref="LabPaths.DefaultStateDir"/>), whether
/// <c>up</c> may install missing Debian packages with apt-get, and whether the lab must have IPVS (<c>--ipvs</c>: the
/// same hosts inside a user-mode Linux kernel, see <see cref="UmlLab"/>).</summary>
public sealed record LabOptions(string? StateDir = null, bool InstallPackages = false, bool Ipvs = false);
