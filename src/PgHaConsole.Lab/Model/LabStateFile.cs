using System.Text.Json;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Lab;

/// <summary>
/// The lab's private bookkeeping (<c>state.json</c>): which processes it started and which mount points it
/// created on the root filesystem, so <c>down</c> can undo exactly that.
/// </summary>
internal sealed record LabStateFile(
    string StateDir,
    IReadOnlyDictionary<string, int> HostPids,
    IReadOnlyList<string> CreatedMountPoints)
{
    public const string FileName = "state.json";

    /// <summary>"namespaces" (hosts in network namespaces on this machine) or "uml" (inside a UML guest; HostPids then holds the guest kernel's PID as "uml").</summary>
    public string Kind { get; init; } = "namespaces";

    public bool IsUml => Kind == UmlLab.Kind;

    public static LabStateFile? TryLoad(string stateDir)
    {
        var path = Path.Combine(stateDir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<LabStateFile>(File.ReadAllText(path), LabInfo.JsonOptions);
        }
        catch (JsonException)
        {
            // A half-written file from a killed run: treat as absent; `down` falls back to discovery.
            return null;
        }
    }

    public void Save()
    {
        Directory.CreateDirectory(StateDir);
        var path = Path.Combine(StateDir, FileName);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, LabInfo.JsonOptions));
        File.Move(temp, path, overwrite: true);
    }
}
