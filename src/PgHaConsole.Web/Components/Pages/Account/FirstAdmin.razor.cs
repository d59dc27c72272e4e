using Microsoft.AspNetCore.Components;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages.Account;

public sealed partial class FirstAdmin
{
    [SupplyParameterFromQuery(Name = "error")]
    public string? Error { get; set; }

    [Inject]
    public required FirstAdminService FirstAdminService { get; init; }

    private bool _needed = true;

    protected override async Task OnInitializedAsync() =>
        _needed = await FirstAdminService.IsNeededAsync(CancellationToken.None);
}
