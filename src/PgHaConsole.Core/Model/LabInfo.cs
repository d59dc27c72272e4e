using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgHaConsole.Core.Model;

/// <summary>
/// <c>lab.json</c>: the public description of a running lab, written by the lab's <c>up</c> and read by
/// <b>Import lab</b> (<see cref="LabImport"/>), the tests and the benchmarks. The one definition of that file.
/// </summary>
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
    /// <summary>How lab.json is written and read: camelCase, indented, readable fingerprints.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Readable fingerprints ('+', '/') and messages ('\'') for people opening lab.json.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>How the lab's hosts are run: "namespaces" (network namespaces on this machine) or "uml" (a user-mode Linux kernel with IPVS).</summary>
    public string Kind { get; init; } = "namespaces";

    /// <summary>
    /// The VRRP advert interval (and so the pace of keepalived's checks) the lab's hosts sustain; Import lab uses it.
    /// 1 s on the namespace lab; more in the UML guest, where one check (a psql) costs ~0.5 s of its only CPU.
    /// </summary>
    public decimal AdvertIntSeconds { get; init; } = 1m;

    public LabNode Node(string name) =>
        Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.Ordinal))
        ?? throw new ArgumentException($"The lab has no node '{name}'.", nameof(name));

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads lab.json text; throws <see cref="JsonException"/> when it is not JSON of this shape.</summary>
    public static LabInfo? FromJson(string json) => JsonSerializer.Deserialize<LabInfo>(json, JsonOptions);
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
