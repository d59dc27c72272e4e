using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using PgHaConsole.Core.Operations;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Hubs;

/// <summary>
/// Live streams for clients outside the browser (the SignalR .NET client, scripts). Authenticated like the API:
/// cookie, or a Bearer token (also accepted as <c>access_token</c> on the hub URL).
/// </summary>
[Authorize(Policy = AuthPolicies.Viewer)]
public sealed class OperationsHub(OperationService operations) : Hub
{
    public const string Path = "/hubs/operations";

    /// <summary>Who the console thinks the caller is: lets a client check its token before following a stream.</summary>
    public Caller WhoAmI() => new(
        Context.User?.Identity?.Name ?? "anonymous",
        Context.User?.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value ?? "");

    /// <summary>
    /// An operation's log: every line after <paramref name="afterSeq"/> already journaled, then live lines as they are
    /// written, until the operation ends (the stream completes) or the client stops it. Resume after a reconnect by
    /// passing the last <c>Seq</c> seen.
    /// </summary>
    public async IAsyncEnumerable<OperationLogLine> StreamLog(Guid operationId, long afterSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (await operations.GetAsync(operationId, cancellationToken) is null)
        {
            throw new HubException($"No operation {operationId}.");
        }

        await foreach (var line in operations.WatchLogAsync(operationId, cancellationToken))
        {
            if (line.Seq > afterSeq)
            {
                yield return line;
            }
        }
    }

    /// <summary>The operation's state now (status and steps), as <c>GET /api/operations/{id}</c> returns it.</summary>
    public Task<OperationView?> GetOperation(Guid operationId) => operations.GetAsync(operationId, Context.ConnectionAborted);

    public sealed record Caller(string Name, string Role);
}
