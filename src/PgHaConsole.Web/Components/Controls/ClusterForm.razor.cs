using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Components.Controls;

public sealed partial class ClusterForm
{
    [Parameter, EditorRequired]
    public required ClusterInput Input { get; set; }

    /// <summary>Server-side errors by field path (e.g. <c>node1.address</c>).</summary>
    [Parameter]
    public IReadOnlyDictionary<string, string> Errors { get; set; } = new Dictionary<string, string>();

    [Parameter]
    public bool IsNew { get; set; }

    [Parameter]
    public bool ReadOnly { get; set; }

    [Parameter]
    public bool Busy { get; set; }

    [Parameter]
    public EventCallback OnSubmit { get; set; }

    private MudForm? _form;

    private bool Has(string field) => Errors.ContainsKey(field);

    private string? Err(string field) => Errors.TryGetValue(field, out var m) ? m : null;

    private static Dictionary<string, object?> Tid(string id) => new() { ["data-testid"] = id };

    /// <summary>Immediate feedback while typing; the server validates everything again on save.</summary>
    internal static string? Ipv4(string? value) =>
        string.IsNullOrWhiteSpace(value) ? "Required"
        : IPAddress.TryParse(value.Trim(), out var ip) && ip.AddressFamily == AddressFamily.InterNetwork && value.Trim().Count(c => c == '.') == 3
            ? null
            : "Not an IPv4 address (e.g. 10.91.4.251)";

    internal static string? VrrpPassword(string? value) =>
        value is { Length: > 8 } ? "keepalived's PASS authentication uses at most 8 characters" : null;
}
