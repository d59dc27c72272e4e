using System.Security.Claims;
using MudBlazor;
using PgHaConsole.Infrastructure.Identity;

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

    /// <summary>The highest role held (a cookie lists every role the user's role includes).</summary>
    private static string RoleOf(ClaimsPrincipal user) =>
        user.FindAll(ClaimTypes.Role).Select(c => c.Value).OrderByDescending(ConsoleRoles.Rank).FirstOrDefault() ?? "no role";

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _interactive = true;
            StateHasChanged();
        }
    }
}
