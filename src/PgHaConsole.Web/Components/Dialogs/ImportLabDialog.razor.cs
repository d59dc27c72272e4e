using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;
using MudBlazor;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Components.Dialogs;

public sealed partial class ImportLabDialog
{
    [CascadingParameter]
    public required IMudDialogInstance MudDialog { get; set; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    [Inject]
    public required ClusterService ClusterService { get; init; }

    [Inject]
    public required IOptions<ConsoleOptions> Options { get; init; }

    private string _name = "lab";
    private string _json = "";
    private bool _busy;
    private Dictionary<string, string[]> _errors = [];

    private string? LabFile => Options.Value.Lab.LabFile is { } f && File.Exists(f) ? f : null;

    protected override async Task OnInitializedAsync()
    {
        if (LabFile is { } file)
        {
            _json = await File.ReadAllTextAsync(file);
        }
    }

    private static Dictionary<string, object?> Id(string id) => new() { ["data-testid"] = id };

    private string? Err(string field) => _errors.TryGetValue(field, out var m) ? string.Join(" ", m) : null;

    private string AllErrors() => string.Join(" ", _errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

    private void Cancel() => MudDialog.Cancel();

    private async Task ImportAsync()
    {
        _busy = true;
        try
        {
            var actor = (await AuthState).User.Identity?.Name ?? "anonymous";
            var result = await ClusterService.ImportLabAsync(_json, _name, actor, CancellationToken.None);
            if (result.Succeeded)
            {
                MudDialog.Close(DialogResult.Ok(result.Value));
                return;
            }

            _errors = result.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
        }
        finally
        {
            _busy = false;
        }
    }
}
