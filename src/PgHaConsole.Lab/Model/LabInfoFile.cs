using System.Text.Json;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Lab;

/// <summary>Reads and writes <c>lab.json</c> (the record itself is <see cref="LabInfo"/> in Core, shared with Import lab).</summary>
public static class LabInfoFile
{
    public static LabInfo Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new LabException(
                $"No lab description at {path}.",
                "Bring the lab up first: sudo dotnet run --project src/PgHaConsole.Lab -- up");
        }

        LabInfo? info;
        try
        {
            info = LabInfo.FromJson(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new LabException($"{path} is not valid JSON: {ex.Message}", "Run `down` then `up` to rewrite it.");
        }

        if (info is null)
        {
            throw new LabException($"{path} is empty.", "Run `down` then `up` to rewrite it.");
        }

        if (info.Nodes is null || info.Nodes.Count != 2 || info.SampleDatabase is null)
        {
            throw new LabException($"{path} does not describe two nodes.", "Run `down` then `up` to rewrite it.");
        }

        return info;
    }

    /// <summary>Loads <c>.lab/lab.json</c> at the repository root.</summary>
    public static LabInfo LoadDefault() => Load(LabPaths.DefaultLabInfoPath());

    internal static void Save(LabInfo info, string path)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, info.ToJson());
        // The file holds the sample user's password: readable by root only.
        LabSystem.SetMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }
}
