using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using MudBlazor.Services;
using PgHaConsole.Infrastructure.Failover;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Infrastructure.Topology;
using PgHaConsole.Web.Api;
using PgHaConsole.Web.Auth;
using PgHaConsole.Web.Components;
using PgHaConsole.Web.Model;
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
        Directory.CreateDirectory(options.ResolvedDataDirectory);

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
                o.ExpireTimeSpan = TimeSpan.FromHours(12);
                o.SlidingExpiration = true;
                // The API and the hubs answer 401/403; only pages redirect to the sign-in page.
                o.Events.OnRedirectToLogin = ctx => Deny(ctx, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = ctx => Deny(ctx, StatusCodes.Status403Forbidden);
            })
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(AuthPolicies.TokenScheme, null);
        services.AddAuthorization(o => o.AddConsolePolicies());
        services.AddCascadingAuthenticationState();

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddMudServices();
        services.AddSignalR();
        services.AddOpenApi();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store");
        services.AddProblemDetails();
        // Enums travel as their names ("Haproxy", "PrivateKey"), the way a person writes them.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));

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
        services.AddPgHaConsoleSetup();
        services.AddPgHaConsoleTopology();
        services.AddPgHaConsoleHistory();
        services.AddPgHaConsoleFailover();
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
        // An operation that was running when the console stopped is shown as interrupted (its cluster lock kept)
        // for the operator to resume or roll back; nothing is re-run blindly.
        var interrupted = await app.Services.GetRequiredService<IOperationJournal>().MarkInterruptedAsync(CancellationToken.None);
        if (interrupted.Count > 0)
        {
            app.Logger.LogWarning("{Count} operation(s) were interrupted by the last stop of the console", interrupted.Count);
        }

        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<FirstAdminService>().BootstrapFromConfigurationAsync(CancellationToken.None);
    }

    public static WebApplication MapPgHaConsole(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }

        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();

        app.MapStaticAssets().AllowAnonymous();
        app.MapHealthChecks("/healthz").AllowAnonymous();
        app.MapOpenApi().RequireAuthorization(AuthPolicies.Viewer);
        app.MapAccountEndpoints();
        app.MapConsoleApi();
        app.MapOperationsApi();
        app.MapTopologyApi();
        app.MapHistoryApi();
        app.MapFailoverApi();
        app.MapHub<Hubs.OperationsHub>(Hubs.OperationsHub.Path);
        app.MapHangfireDashboardWithAuthorizationPolicy(AuthPolicies.Admin, "/hangfire");
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
