using System.Security.Claims;
using MudBlazor;

namespace PgHaConsole.Web.Components.Layout;

public sealed partial class MainLayout
{
    private readonly MudTheme _theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#336791", // PostgreSQL blue
            AppbarBackground = "#336791",
        },
    };

    private bool _drawerOpen = true;
    private bool _interactive;

    private void ToggleDrawer() => _drawerOpen = !_drawerOpen;

    private static string RoleOf(ClaimsPrincipal user) =>
        user.FindFirst(ClaimTypes.Role)?.Value ?? "no role";

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _interactive = true;
            StateHasChanged();
        }
    }
}
