using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Web.Api;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Components;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.Options;

namespace PgHaConsole.Web.Hosting;

/// <summary>Program.cs only wires: everything the console needs is registered and mapped here.</summary>
public static class HostingExtensions
{
    public static WebApplicationBuilder AddPgHaConsole(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ConsoleOptions>()
            .Bind(builder.Configuration.GetSection(ConsoleOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConsoleOptions>, ConsoleOptionsValidator>();

        // Options are needed to register the store; read them once here (validated again at start).
        var options = builder.Configuration.GetSection(ConsoleOptions.SectionName).Get<ConsoleOptions>() ?? new ConsoleOptions();
        DataDirectoryPermissions.Prepare(options.ResolvedDataDirectory);
        // Host filtering: without AllowedHosts any Host header is accepted, so a DNS-rebinding page could talk to a
        // console bound to 127.0.0.1. The default admits loopback names only; a deployment sets its own names.
        builder.Configuration["AllowedHosts"] ??= "localhost;127.0.0.1;[::1]";

        // Run from build output (dotnet run, or the DLL in bin) in Production, the framework serves no static web
        // assets from packages (MudBlazor's _content): every one would fail. This maps them from the build's manifest;
        // published output has no such manifest and serves its own wwwroot (a no-op there).
        if (!builder.Environment.IsDevelopment())
        {
            builder.WebHost.UseStaticWebAssets();
        }

        ConfigureHttps(services, options);
        // ASP.NET Core logs every request's URL with its query string at Information ("Request starting …"); a
        // SignalR client outside the browser passes its API token as ?access_token=, which would land in the log
        // in clear. Those request lines are dropped; warnings and errors of the category stay.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        services.AddSingleton(TimeProvider.System);
        services.AddPgHaConsoleStore(new PgHaConsole.Infrastructure.Store.StoreOptions
        {
            PostgresConnectionString = options.Store.PostgresConnectionString,
            SqlitePath = options.SqlitePath,
        });
        services.AddPgHaConsoleDataProtection(options.ResolvedKeyRingDirectory);

        services.AddIdentityCore<ConsoleUser>(o =>
            {
                o.Password.RequiredLength = 12;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireDigit = false;
                o.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._@";
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = options.Security.MaxFailedSignIns;
                o.Lockout.DefaultLockoutTimeSpan = options.Security.LockoutDuration;
            })
            .AddUserStore<ConsoleUserStore>();

        services.AddAuthentication(AuthPolicies.SmartScheme)
            .AddPolicyScheme(AuthPolicies.SmartScheme, "Cookie or API token", o =>
                o.ForwardDefaultSelector = ctx =>
                    ApiTokenAuthenticationHandler.ReadToken(ctx.Request) is not null ? AuthPolicies.TokenScheme : AuthPolicies.CookieScheme)
            .AddCookie(AuthPolicies.CookieScheme, o =>
            {
                o.LoginPath = "/account/login";
                o.Cookie.Name = "pghaconsole";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.ExpireTimeSpan = options.Security.SessionLifetime;
                o.SlidingExpiration = true;
                // Secure whenever the request is HTTPS (directly or through a trusted proxy); always with Https:Require.
                o.Cookie.SecurePolicy = options.Https.Require ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                // A removed, disabled or demoted user, or a new password, ends the session (issue #15 item 6).
                var interval = options.Security.SessionRevalidationInterval;
                o.Events.OnValidatePrincipal = ctx => SessionClaims.ValidateCookieAsync(ctx, interval);
                // The API and the hubs answer 401/403; only pages redirect to the sign-in page.
                o.Events.OnRedirectToLogin = ctx => Deny(ctx, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = ctx => Deny(ctx, StatusCodes.Status403Forbidden);
            })
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(AuthPolicies.TokenScheme, null);
        services.AddAuthorization(o => o.AddConsolePolicies());
        services.AddConsoleRateLimiting(options.Security);
        services.AddCascadingAuthenticationState();
        services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, SessionRevalidatingStateProvider>();

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddAntiforgery(o =>
        {
            o.HeaderName = ApiRequestGuard.HeaderName;
            o.Cookie.SecurePolicy = options.Https.Require ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.AddMudServices();
        services.AddSignalR();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store");
        services.AddProblemDetails();
        // Enums travel as their names ("Haproxy", "PrivateKey"), the way a person writes them.
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
            o.SerializerOptions.Converters.Add(new Core.Topology.IpAddressJsonConverter());
        });

        services.AddHangfire((sp, config) =>
        {
            config.UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
            config.UseLogProvider(new ResilientHangfireLogProvider(new Hangfire.AspNetCore.AspNetCoreLogProvider(sp.GetRequiredService<ILoggerFactory>())));
            // Hangfire's storage lives in the console's own store, never in a managed cluster. The embedded
            // SQLite mode uses Hangfire's in-memory storage: the operation journal in our store is the source of
            // truth, Hangfire only executes (see README).
            if (options.Store.PostgresConnectionString is { } pg)
            {
                config.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(pg), new PostgreSqlStorageOptions { SchemaName = "hangfire" });
            }
            else
            {
                config.UseInMemoryStorage();
            }
        });
        services.AddHangfireServer(o => o.SchedulePollingInterval = TimeSpan.FromSeconds(1));

        services.AddSshLayer();
        services.AddPgHaConsoleOperations();
        services.AddOperationSweeper();
        services.AddClusterLeases();
        services.AddPgHaConsoleOperationKinds();
        services.AddPgHaConsoleTopology();
        services.AddPgHaConsoleHistory();
        services.AddFailoverWitness();
        services.AddApplicationServices();
        return builder;
    }

    private static Task Deny(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
    {
        var path = ctx.Request.Path;
        if (path.StartsWithSegments("/api") || path.StartsWithSegments("/hubs") || path.StartsWithSegments("/hangfire")
            || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/metrics"))
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>Typed services the pages and endpoints use; pages never touch storage or the network.</summary>
    public static IServiceCollection AddApplicationServices(this IServiceCollection services)
    {
        services.AddScoped<AuditService>();
        services.AddScoped<FirstAdminService>();
        services.AddSingleton<SetupCode>();
        services.AddScoped<ClusterService>();
        services.AddScoped<TokenService>();
        services.AddScoped<UserService>();
        services.AddScoped<ConnectionTestService>();
        services.AddScoped<OperationService>();
        services.AddScoped<HistoryService>();
        services.AddScoped<FailoverService>();
        return services;
    }

    /// <summary>Applies migrations and the headless bootstrap before the first request.</summary>
    public static async Task PrepareStoreAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<StoreMigrator>().MigrateAsync(CancellationToken.None);
        // A key ring that cannot read the store's secrets stops the start here, saying how to fix it.
        await app.Services.GetRequiredService<KeyRingCheck>().EnsureStoreSecretsReadableAsync(
            app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value.ResolvedKeyRingDirectory, CancellationToken.None);
        // An operation whose instance stopped (this console's last run, or another instance sharing the store) is
        // shown as interrupted once its heartbeat is stale, its cluster lock kept, for the operator to resume or roll
        // back; nothing is re-run blindly. A live instance's operation keeps running (its heartbeat is fresh); the
        // sweeper repeats this every few seconds.
        var interrupted = await app.Services.GetRequiredService<OperationSweeper>().SweepAsync(CancellationToken.None);
        if (interrupted.Count > 0)
        {
            app.Logger.LogWarning("{Count} operation(s) were interrupted: their console instance stopped", interrupted.Count);
        }

        app.Logger.LogInformation("Console instance {Instance}", app.Services.GetRequiredService<ConsoleInstance>());

        await using var scope = app.Services.CreateAsyncScope();
        var firstAdmin = scope.ServiceProvider.GetRequiredService<FirstAdminService>();
        await firstAdmin.BootstrapFromConfigurationAsync(CancellationToken.None);
        var setupCode = app.Services.GetRequiredService<SetupCode>();
        if (await firstAdmin.IsNeededAsync(CancellationToken.None))
        {
            setupCode.Issue(Console.Out);
        }
        else
        {
            // A code left by an earlier start (or by another console that shares the store) is of no use any more.
            setupCode.Retire();
        }

        DataDirectoryPermissions.RestrictStoreFiles(app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value);
    }

    /// <summary>
    /// The interactive circuit's own endpoints (<c>/_blazor</c>, Blazor's redirect helper) are open to anonymous
    /// visitors, or the sign-in page could not run; every page still authorizes through its attributes and the route
    /// view. Pages are untouched by this convention.
    /// </summary>
    private static void AllowAnonymousCircuits(EndpointBuilder endpoint)
    {
        if (endpoint is RouteEndpointBuilder { RoutePattern.RawText: { } pattern }
            && (pattern.StartsWith("/_blazor", StringComparison.Ordinal) || pattern.StartsWith("_blazor", StringComparison.Ordinal)
                || pattern.TrimStart('/').Equals("_framework/opaque-redirect", StringComparison.Ordinal)))
        {
            endpoint.Metadata.Add(new Microsoft.AspNetCore.Authorization.AllowAnonymousAttribute());
        }
    }

    /// <summary>TLS policy and reverse proxies (see README, "Deploying for real").</summary>
    private static void ConfigureHttps(IServiceCollection services, ConsoleOptions options)
    {
        services.AddHsts(o =>
        {
            o.MaxAge = options.Https.HstsMaxAge;
            o.IncludeSubDomains = false;
        });
        if (options.ReverseProxy.Enabled)
        {
            services.Configure<ForwardedHeadersOptions>(o =>
            {
                // The client's address (rate limits, audit) and scheme (Secure cookies, HSTS, redirects) as the proxy
                // saw them; only from the proxies named here and loopback, never from anyone who sends the header.
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                o.ForwardLimit = 1;
                foreach (var proxy in options.ReverseProxy.KnownProxies)
                {
                    o.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
                }

                foreach (var network in options.ReverseProxy.KnownNetworks)
                {
                    o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
                }
            });
        }
    }

    public static WebApplication MapPgHaConsole(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        if (options.ReverseProxy.Enabled)
        {
            app.UseForwardedHeaders();
        }

        if (!app.Environment.IsDevelopment())
        {
            // No stack trace, no request headers: a short page and the request id to find the details in the log.
            app.UseExceptionHandler(new ExceptionHandlerOptions
            {
                ExceptionHandler = async context =>
                {
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    context.Response.ContentType = "text/plain; charset=utf-8";
                    await context.Response.WriteAsync(
                        $"The console could not answer this request. Its log has the details (request {context.TraceIdentifier}).");
                },
            });
            // Sent on HTTPS responses only (and never for localhost): the browser then refuses plain HTTP for the console.
            app.UseHsts();
        }

        if (options.Https.Require)
        {
            app.UseHttpsRedirection();
        }

        // The console's own files (wwwroot-assets/ at the repository's top, copied beside the DLL), public like any
        // static asset: the sign-in page needs its stylesheet.
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot-assets")),
            RequestPath = "/assets",
        });
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseMiddleware<ApiRequestGuard>();
        app.UseAntiforgery();

        app.MapStaticAssets().AllowAnonymous();
        app.MapHealthChecks("/healthz").AllowAnonymous();
        app.MapOpenApi().RequireAuthorization(AuthPolicies.Viewer);
        app.MapAccountEndpoints();
        app.MapGet("/api/antiforgery", (HttpContext http, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) =>
                Results.Ok(new { headerName = ApiRequestGuard.HeaderName, token = antiforgery.GetAndStoreTokens(http).RequestToken }))
            .RequireAuthorization(AuthPolicies.Viewer)
            .WithTags("Auth");
        app.MapConsoleApi();
        app.MapOperationsApi();
        app.MapTopologyApi();
        app.MapHistoryApi();
        app.MapFailoverApi();
        app.MapHub<Hubs.OperationsHub>(Hubs.OperationsHub.Path);
        app.MapHangfireDashboardWithAuthorizationPolicy(AuthPolicies.Admin, "/hangfire");
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode()
            .Add(AllowAnonymousCircuits);
        return app;
    }
}
