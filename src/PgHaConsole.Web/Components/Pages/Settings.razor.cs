using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;
using MudBlazor;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Components.Pages;

public sealed partial class Settings
{
    [Inject]
    public required IOptions<ConsoleOptions> Options { get; init; }

    [Inject]
    public required UserService Users { get; init; }

    [Inject]
    public required TokenService Tokens { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    [Inject]
    public required StoreStatus Store { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    [CascadingParameter]
    public required Task<AuthenticationState> AuthState { get; set; }

    private IReadOnlyList<ConsoleUser> _users = [];
    private IReadOnlyList<ApiTokenRecord> _tokens = [];
    private string? _newUser;
    private string? _newPassword;
    private string _newRole = ConsoleRoles.Viewer;
    private string? _tokenName;
    private string _tokenRole = ConsoleRoles.Viewer;
    private string? _createdToken;
    private int? _tokenDays;
    private Guid? _passwordUser;
    private string? _setPassword;
    private Dictionary<string, string> _userErrors = [];
    private Dictionary<string, string> _tokenErrors = [];
    private bool _isAdmin;

    private DateTimeOffset Now => Time.GetUtcNow();

    private string StoreDescription => Store.Description;

    protected override async Task OnInitializedAsync()
    {
        _isAdmin = (await AuthState).User.IsInRole(ConsoleRoles.Admin);
        await LoadAsync();
    }

    private async Task LoadAsync()
    {
        if (!_isAdmin)
        {
            return;
        }

        _users = await Users.ListAsync(CancellationToken.None);
        _tokens = await Tokens.ListAsync(CancellationToken.None);
    }

    private async Task<string> ActorAsync() => (await AuthState).User.Identity?.Name ?? "anonymous";

    private static string? Err(Dictionary<string, string> errors, string field) => errors.TryGetValue(field, out var m) ? m : null;

    private static Dictionary<string, string> ToMap(IEnumerable<PgHaConsole.Core.Validation.ValidationError> errors) =>
        errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => string.Join(" ", g.Select(e => e.Message)));

    private async Task CreateUserAsync()
    {
        var result = await Users.CreateAsync(_newUser, _newPassword, _newRole, await ActorAsync(), CancellationToken.None);
        _userErrors = ToMap(result.Errors);
        if (result.Succeeded)
        {
            Snackbar.Add($"User {result.Value!.UserName} added", Severity.Success);
            _newUser = _newPassword = null;
            await LoadAsync();
        }
    }

    private async Task SetRoleAsync(Guid id, string role)
    {
        var error = await Users.SetRoleAsync(id, role, await ActorAsync(), CancellationToken.None);
        Snackbar.Add(error ?? "Role changed", error is null ? Severity.Success : Severity.Error);
        await LoadAsync();
    }

    private async Task SetPasswordAsync()
    {
        if (_passwordUser is not { } id)
        {
            Snackbar.Add("Pick a user", Severity.Warning);
            return;
        }

        var error = await Users.SetPasswordAsync(id, _setPassword, await ActorAsync(), CancellationToken.None);
        Snackbar.Add(error ?? "Password set; that user's sessions ended", error is null ? Severity.Success : Severity.Error);
        _setPassword = null;
    }

    private async Task DeleteUserAsync(Guid id)
    {
        var error = await Users.DeleteAsync(id, await ActorAsync(), CancellationToken.None);
        Snackbar.Add(error ?? "User removed", error is null ? Severity.Info : Severity.Error);
        await LoadAsync();
    }

    private async Task CreateTokenAsync()
    {
        var result = await Tokens.CreateAsync(_tokenName, _tokenRole, _tokenDays, await ActorAsync(), CancellationToken.None);
        _tokenErrors = ToMap(result.Errors);
        if (result.Succeeded)
        {
            _createdToken = result.Value!.Token;
            _tokenName = null;
            await LoadAsync();
        }
    }

    private async Task RevokeAsync(Guid id)
    {
        await Tokens.RevokeAsync(id, await ActorAsync(), CancellationToken.None);
        await LoadAsync();
    }
}
