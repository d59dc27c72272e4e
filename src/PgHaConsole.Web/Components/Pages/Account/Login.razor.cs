using Microsoft.AspNetCore.Components;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Components.Pages.Account;

public sealed partial class Login
{
    [SupplyParameterFromQuery(Name = "error")]
    public string? ErrorFlag { get; set; }

    [SupplyParameterFromQuery(Name = "returnUrl")]
    public string? ReturnUrl { get; set; }

    [Inject]
    public required FirstAdminService FirstAdmin { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    private bool Error => ErrorFlag is not null;

    private bool Locked => ErrorFlag == "locked";

    protected override async Task OnInitializedAsync()
    {
        // With an empty store the first visit creates the first admin instead of signing in.
        if (await FirstAdmin.IsNeededAsync(CancellationToken.None))
        {
            Navigation.NavigateTo("account/first-admin", forceLoad: true);
        }
    }
}
