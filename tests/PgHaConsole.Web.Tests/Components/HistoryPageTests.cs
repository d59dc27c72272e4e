using Bunit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Topology;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Components.Pages;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>bUnit: the history page over a seeded SQLite store: ranges, the four graphs, the event timeline and its links.</summary>
public sealed class HistoryPageTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgha-history-page-");
    private readonly BunitContext _ctx = new();
    private Guid _clusterId;
    private readonly Guid _operationId = Guid.NewGuid();

    public async Task InitializeAsync()
    {
        _ctx.Services.AddMudServices();
        _ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        _ctx.Services.AddPgHaConsoleStore(new StoreOptions { SqlitePath = Path.Combine(_dir.FullName, "store.db") });
        _ctx.Services.AddPgHaConsoleDataProtection(Path.Combine(_dir.FullName, "keys"));
        _ctx.Services.AddSingleton<IHistoryStore>(sp => new HistoryStore(sp.GetRequiredService<IStoreConnectionFactory>()));
        _ctx.Services.AddSingleton<HistoryService>();
        await _ctx.Services.GetRequiredService<StoreMigrator>().MigrateAsync(CancellationToken.None);

        var spec = new ClusterSpec
        {
            Name = "pg-main",
            Node1 = new NodeSpec { Name = "pg1", Address = "198.18.4.247", SshUser = "root", AuthKind = SshAuthKind.Password, Privilege = PrivilegeMode.Root },
            Node2 = new NodeSpec { Name = "pg2", Address = "198.18.4.248", SshUser = "root", AuthKind = SshAuthKind.Password, Privilege = PrivilegeMode.Root },
            WriteVip = "198.18.4.251",
            ReadVip = "198.18.4.252",
            VipPrefixLength = 24,
            Vrrp = new VrrpSettings { Interface = "mgt", VirtualRouterId = 51, Node1Priority = 100, Node2Priority = 90, AdvertIntSeconds = 1 },
            Balancer = BalancerMode.Haproxy,
            Postgres = new PostgresSettings { MajorVersion = 15, BinDir = "/usr/lib/postgresql/15/bin", DataDir = "/data10/pgdata", Port = 5432, OsUser = "postgres" },
        };
        _clusterId = (await _ctx.Services.GetRequiredService<IClusterRepository>().AddAsync(spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), CancellationToken.None)).Spec.Id;

        // The last 30 minutes: pg1 primary, pg2 standby with growing lag; a switchover operation and a role change.
        var store = _ctx.Services.GetRequiredService<IHistoryStore>();
        var now = DateTimeOffset.UtcNow;
        var start = now.AddMinutes(-30).ToUnixTimeMilliseconds() / 15_000 * 15_000;
        var samples = new List<HealthSample>();
        for (var i = 0; i < 120; i++)
        {
            foreach (var node in new[] { "pg1", "pg2" })
            {
                samples.Add(new HealthSample
                {
                    ClusterId = _clusterId,
                    Node = node,
                    AtMs = start + (i * 15_000L),
                    Reachable = true,
                    PgUp = true,
                    Role = node == "pg1" ? NodeRole.Primary : NodeRole.Standby,
                    LagBytes = node == "pg2" ? i * 1024 : null,
                    LagSeconds = node == "pg2" ? i / 10.0 : null,
                    Connections = node == "pg1" ? 12 : 3,
                });
            }
        }

        await store.InsertSamplesAsync(samples, CancellationToken.None);
        await store.InsertEventsAsync(
        [
            new HealthEvent { ClusterId = _clusterId, AtMs = now.AddMinutes(-20).ToUnixTimeMilliseconds(), Kind = HealthEventKinds.OperationStarted, Message = "Operation switchover started by alice", OperationId = _operationId },
            new HealthEvent { ClusterId = _clusterId, AtMs = now.AddMinutes(-19).ToUnixTimeMilliseconds(), Kind = HealthEventKinds.RoleChanged, Node = "pg2", Severity = HealthEventSeverity.Warning, Message = "pg2: standby → primary" },
            new HealthEvent { ClusterId = _clusterId, AtMs = now.AddDays(-3).ToUnixTimeMilliseconds(), Kind = HealthEventKinds.AlarmRaised, Node = "pg2", Severity = HealthEventSeverity.Critical, Message = "Alarm: old" },
        ], CancellationToken.None);
        _ctx.Render<MudPopoverProvider>();
    }

    public async Task DisposeAsync()
    {
        await _ctx.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // temp directory; best effort
        }
    }

    [Fact]
    public void Shows_the_four_graphs_and_the_events_of_the_last_hour_with_the_operation_link()
    {
        var cut = _ctx.Render<History>(p => p.Add(x => x.ClusterId, _clusterId));

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll("[data-testid=history-event]")));
        Assert.NotNull(cut.Find("[data-testid=history-page]"));
        foreach (var id in new[] { "chart-lag-bytes", "chart-lag-seconds", "chart-connections", "chart-availability" })
        {
            var chart = cut.Find($"[data-testid={id}]");
            Assert.NotNull(chart.QuerySelector("svg"));
            Assert.DoesNotContain("No samples", chart.TextContent, StringComparison.Ordinal);
        }

        foreach (var id in new[] { "range-1h", "range-24h", "range-7d", "range-30d" })
        {
            Assert.NotNull(cut.Find($"[data-testid={id}]"));
        }

        Assert.Contains("raw samples", cut.Find("[data-testid=history-range]").TextContent, StringComparison.Ordinal);
        var events = cut.FindAll("[data-testid=history-event]");
        Assert.Equal(2, events.Count);
        Assert.Contains("switchover", events[0].TextContent, StringComparison.Ordinal);
        Assert.Equal($"/operations/{_operationId}", cut.Find("[data-testid=history-event-operation]").GetAttribute("href"));
    }

    [Fact]
    public void Seven_days_reads_rollups_and_includes_the_older_event()
    {
        var cut = _ctx.Render<History>(p => p.Add(x => x.ClusterId, _clusterId));
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=history-event]").Count));

        cut.Find("[data-testid=range-7d]").Click();

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=history-event]").Count));
        Assert.Contains("1-hour averages", cut.Find("[data-testid=history-range]").TextContent, StringComparison.Ordinal);
        Assert.NotNull(cut.Find("[data-testid=chart-lag-bytes] svg"));
    }
}
