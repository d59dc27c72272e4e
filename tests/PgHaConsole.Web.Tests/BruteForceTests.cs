using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>A console with small budgets, so that a test reaches them quickly.</summary>
public sealed class TightLimitsFactory : ConsoleFactory
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["PgHaConsole:Security:SignInPermitsPerMinute"] = "4",
        ["PgHaConsole:Security:FailedTokenPermitsPerMinute"] = "3",
    };
}

/// <summary>Issue #15 item 5: sign-in, first-admin and token authentication are rate limited; anonymous writes are capped.</summary>
public sealed class BruteForceTests
{
    [Fact]
    public async Task Sign_in_posts_beyond_the_budget_get_429()
    {
        using var factory = new TightLimitsFactory();
        using var browser = new BrowserSession(factory);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await browser.SignInAsync("admin", "wrong-password-" + i);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.Redirect,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        using var firstAdmin = await browser.PostFormAsync("/account/login", "/account/create-first-admin", new Dictionary<string, string> { ["setupCode"] = "x" });
        Assert.Equal(HttpStatusCode.TooManyRequests, firstAdmin.StatusCode);
    }

    [Fact]
    public async Task Token_guessing_beyond_the_budget_gets_429_even_for_a_valid_token()
    {
        using var factory = new TightLimitsFactory();
        using var valid = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync("/api/clusters")).StatusCode);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var guess = factory.CreateClientWithToken($"phc_guess-{i}-000000000000000000000000");
            statuses.Add((await guess.GetAsync("/api/clusters")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        // The address is blocked for the minute: its guesses are not even looked up, so a right one gains nothing.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await valid.GetAsync("/api/clusters")).StatusCode);
    }

    [Fact]
    public async Task An_anonymous_request_writes_a_bounded_user_name_and_no_large_form_is_read()
    {
        using var factory = new ConsoleFactory();
        using var browser = new BrowserSession(factory);
        var huge = new string('x', 1000);
        using (var response = await browser.SignInAsync(huge, "whatever-password"))
        {
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        var audit = factory.Services.GetRequiredService<IAuditLog>();
        var rows = await audit.QueryAsync(new AuditQuery { Action = "auth.signin", Limit = 10 }, CancellationToken.None);
        var row = Assert.Single(rows, r => r.Actor.StartsWith("xxxx", StringComparison.Ordinal));
        Assert.True(row.Actor.Length <= 65, $"actor of {row.Actor.Length} characters");
        Assert.True((row.Target?.Length ?? 0) <= 65);

        using var big = await browser.PostFormAsync("/account/login", "/account/signin", new Dictionary<string, string>
        {
            ["username"] = "admin",
            ["password"] = new string('p', 64 * 1024),
        });
        Assert.True(big.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, $"a 64 kB form answered {big.StatusCode}");
        Assert.False(browser.HasAuthCookie);
    }
}
