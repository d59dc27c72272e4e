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

/// <summary>Issue #15 item 8: a token passed in the query string (WebSocket clients) never reaches the log.</summary>
public sealed class HubTokenLoggingTests
{
    [Fact]
    public async Task An_access_token_in_the_query_string_is_not_logged()
    {
        using var factory = new ConsoleFactory();
        var token = await factory.CreateTokenAsync("Viewer");
        using var client = factory.CreateClientWithToken(null);
        using var negotiate = await client.PostAsync($"/hubs/operations/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}", null);
        Assert.Equal(System.Net.HttpStatusCode.OK, negotiate.StatusCode);
        using var wrong = await client.PostAsync("/hubs/operations/negotiate?negotiateVersion=1&access_token=phc_wrong-token-in-the-query-00000000", null);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrong.StatusCode);

        // The log captures every level from Debug up (see ConsoleFactory).
        Assert.NotEmpty(factory.Logs);
        Assert.DoesNotContain(factory.Logs, l => l.Contains(token, StringComparison.Ordinal) || l.Contains(token[8..], StringComparison.Ordinal));
        Assert.DoesNotContain(factory.Logs, l => l.Contains("phc_wrong-token-in-the-query", StringComparison.Ordinal));
    }
}
