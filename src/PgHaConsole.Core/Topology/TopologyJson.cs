using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgHaConsole.Core.Topology;

/// <summary>
/// A cluster's picture as JSON, to hand it from the instance that probes the cluster to the others through the store
/// (#17: one prober per cluster). Reading gives back everything that was written: the pages, <c>/metrics</c>, the
/// alert rules and the failover witness see the same picture on every instance.
/// </summary>
public static class TopologyJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new IpAddressJsonConverter() },
    };

    public static string Serialize(ClusterTopology picture) => JsonSerializer.Serialize(picture, Options);

    /// <summary>The picture, or null when the text is not one (written by a different version: the caller probes itself).</summary>
    public static ClusterTopology? Deserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<ClusterTopology>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// IP addresses (the balancer's tables) as their text, wherever a picture is written as JSON (the store, the REST API):
/// the default would read every property of <see cref="IPAddress"/>, and <c>ScopeId</c> throws for IPv4 (the topology
/// API answered 500 for a pair in LVS-DR mode, whose ipvsadm tables carry addresses).
/// </summary>
public sealed class IpAddressJsonConverter : JsonConverter<IPAddress>
{
    public override IPAddress? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPAddress.TryParse(reader.GetString(), out var address) ? address : throw new JsonException("not an IP address");

    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStringValue(value.ToString());
    }
}
