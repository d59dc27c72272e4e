using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>The hub with the SignalR .NET client, as a client outside the browser would use it.</summary>
public sealed class HubTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private HubConnection Connect(string? token) =>
        new HubConnectionBuilder()
            .WithUrl(new Uri(factory.Server.BaseAddress, "hubs/operations"), o =>
            {
                o.HttpMessageHandlerFactory = _ => factory.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling; // the test server has no WebSockets
                if (token is not null)
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                }
            })
            .Build();

    [Fact]
    public async Task A_token_holder_connects_and_is_known_by_name_and_role()
    {
        var viewer = await factory.CreateTokenAsync("Viewer");
        await using var hub = Connect(viewer);
        await hub.StartAsync();
        var me = await hub.InvokeAsync<Hubs.OperationsHub.Caller>("WhoAmI");
        Assert.StartsWith("token:test-Viewer-", me.Name, StringComparison.Ordinal);
        Assert.Equal("Viewer", me.Role);
    }

    [Fact]
    public async Task Anonymous_clients_cannot_connect()
    {
        await using var hub = Connect(null);
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
    }
}
