using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using PgHaConsole.Web.Auth;

namespace PgHaConsole.Web.Hubs;

/// <summary>
/// Live streams for clients outside the browser (the SignalR .NET client, scripts). Authenticated like the API:
/// cookie, or a Bearer token (also accepted as <c>access_token</c> on the hub URL).
/// </summary>
[Authorize(Policy = AuthPolicies.Viewer)]
public sealed class OperationsHub : Hub
{
    public const string Path = "/hubs/operations";

    /// <summary>Who the console thinks the caller is: lets a client check its token before following a stream.</summary>
    public Caller WhoAmI() => new(
        Context.User?.Identity?.Name ?? "anonymous",
        Context.User?.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value ?? "");

    public sealed record Caller(string Name, string Role);
}
