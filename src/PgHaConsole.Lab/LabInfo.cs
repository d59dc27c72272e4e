using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgHaConsole.Lab;

/// <summary>The public description of a running lab, written to <c>lab.json</c> by <c>up</c>.</summary>
public sealed record LabInfo(
    IReadOnlyList<LabNode> Nodes,
    string WriteVip,
    string ReadVip,
    string Interface,
    int PgVersion,
    string Bridge,
    string BridgeAddress,
    LabSampleDatabase SampleDatabase,
    bool IpvsAvailable,
    string IpvsDetail)
{
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Readable fingerprints ('+', '/') and messages ('\'') for people opening lab.json.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static LabInfo Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new LabException(
                $"No lab description at {path}.",
                "Bring the lab up first: sudo dotnet run --project src/PgHaConsole.Lab -- up");
        }

        var info = JsonSerializer.Deserialize<LabInfo>(File.ReadAllText(path), JsonOptions)
            ?? throw new LabException($"{path} is empty.", "Run `down` then `up` to rewrite it.");
        if (info.Nodes is null || info.Nodes.Count != 2 || info.SampleDatabase is null)
        {
            throw new LabException($"{path} does not describe two nodes.", "Run `down` then `up` to rewrite it.");
        }

        return info;
    }

    /// <summary>Loads <c>.lab/lab.json</c> at the repository root.</summary>
    public static LabInfo LoadDefault() => Load(LabPaths.DefaultLabInfoPath());

    public LabNode Node(string name) =>
        Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal))
        ?? throw new ArgumentException($"The lab has no node '{name}'.", nameof(name));

    internal void Save(string path)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, JsonOptions));
        // The file holds the sample user's password: readable by root only.
        LabSystem.SetMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>One lab host as a cluster node (the fields the console's node model needs, plus lab extras).</summary>
public sealed record LabNode(
    string Name,
    string Address,
    int SshPort,
    string SshUser,
    string SshKeyPath,
    string HostKeySha256,
    string PgBinDir,
    string PgDataDir,
    int PgPort,
    string OsUser,
    string Namespace,
    string PgLogFile);

/// <summary>The sample application database on pg1, reachable from 198.18.4.0/24 with a password.</summary>
public sealed record LabSampleDatabase(string Database, string User, string Password)
{
    // Records print every property; keep the password out of logs and assertion messages.
    public override string ToString() => $"LabSampleDatabase {{ Database = {Database}, User = {User}, Password = *** }}";
}
