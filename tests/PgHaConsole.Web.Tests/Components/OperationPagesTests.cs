using System.Collections.Concurrent;
using Bunit;
using Bunit.TestDoubles;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.AspNetCore.Components;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.Components.Pages;
using PgHaConsole.Web.Hosting;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>
/// The real operation services over a scratch SQLite store, for page tests: operations are written through the journal
/// the way the runner writes them, and Hangfire is replaced by a client that only records what would be enqueued.
/// </summary>
internal sealed class OperationTestHost : IAsyncDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pgha-operation-pages-");

    public BunitContext Ctx { get; } = new();

    /// <summary>A fixed picture of the pair (the prober itself is tested against the lab).</summary>
    public FixedTopologyMonitor Topology { get; } = new();

    public RecordingJobClient Jobs { get; } = new();

    public IOperationJournal Journal => Ctx.Services.GetRequiredService<IOperationJournal>();

    /// <summary>Registered before anything is resolved (bUnit then freezes its services); sign in with <see cref="SignIn"/>.</summary>
    public BunitAuthorizationContext Auth { get; private set; } = null!;

    public void SignIn(string user, string role)
    {
        Auth.SetAuthorized(user);
        Auth.SetRoles(role);
    }

    public static async Task<OperationTestHost> CreateAsync()
    {
        var host = new OperationTestHost();
        var s = host.Ctx.Services;
        s.AddMudServices();
        host.Ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        s.AddLogging();
        s.AddPgHaConsoleStore(new StoreOptions { SqlitePath = Path.Combine(host._dir.FullName, "store.db") });
        s.AddPgHaConsoleDataProtection(Path.Combine(host._dir.FullName, "keys"));
        s.AddSshLayer();
        s.AddPgHaConsoleOperations();
        s.AddPgHaConsoleOperationKinds();
        s.AddSingleton<IBackgroundJobClient>(host.Jobs);
        s.AddSingleton<PgHaConsole.Infrastructure.Topology.ITopologyMonitor>(host.Topology);
        s.AddApplicationServices();
        host.Auth = host.Ctx.AddAuthorization();
        // Last: it resolves the renderer, after which bUnit takes no more registrations. Interactive, as in the browser.
        host.Ctx.SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        await host.Ctx.Services.GetRequiredService<StoreMigrator>().MigrateAsync(CancellationToken.None);
        host.Ctx.Render<MudPopoverProvider>();
        return host;
    }

    /// <summary>A cluster whose hosts refuse SSH at once (closed ports on loopback): nothing real is ever touched.</summary>
    public async Task<Guid> AddClusterAsync(string name = "pg-main")
    {
        var spec = new ClusterSpec
        {
            Name = name,
            Node1 = new NodeSpec { Name = "pg1", Address = "127.0.0.1", SshPort = 1, SshUser = "root", AuthKind = SshAuthKind.Password, Privilege = PrivilegeMode.Root },
            Node2 = new NodeSpec { Name = "pg2", Address = "127.0.0.1", SshPort = 2, SshUser = "root", AuthKind = SshAuthKind.Password, Privilege = PrivilegeMode.Root },
            WriteVip = "198.18.4.251",
            ReadVip = "198.18.4.252",
            VipPrefixLength = 24,
            Vrrp = new VrrpSettings { Interface = "mgt", VirtualRouterId = 51, Node1Priority = 100, Node2Priority = 90, AdvertIntSeconds = 1 },
            Balancer = BalancerMode.Haproxy,
            Postgres = new PostgresSettings { MajorVersion = 15, BinDir = "/usr/lib/postgresql/15/bin", DataDir = "/data10/pgdata", Port = 5432, OsUser = "postgres" },
        };
        var stored = await Ctx.Services.GetRequiredService<IClusterRepository>()
            .AddAsync(spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), CancellationToken.None);
        return stored.Spec.Id;
    }

    /// <summary>A setup operation as the runner leaves it: step statuses (1-based, in order), log lines, final status.</summary>
    public async Task<Guid> AddSetupOperationAsync(
        Guid clusterId,
        IReadOnlyList<(StepStatus Status, string? Message)> steps,
        IReadOnlyList<(int? Step, string? Host, LogStream Stream, string Line)> log,
        OperationStatus status,
        string? error = null)
    {
        var ct = CancellationToken.None;
        var op = await Journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "alice", null, ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Running, null, ct);
        for (var i = 0; i < steps.Count; i++)
        {
            await Journal.SetStepStatusAsync(op.Id, i + 1, StepStatus.Running, null, ct);
            if (steps[i].Status != StepStatus.Running)
            {
                await Journal.SetStepStatusAsync(op.Id, i + 1, steps[i].Status, steps[i].Message, ct);
            }
        }

        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        await Journal.AppendLogAsync(op.Id, [.. log.Select((l, i) => new OperationLogLine(i + 1, at.AddSeconds(i), l.Step, l.Host, l.Stream, l.Line))], ct);
        if (status != OperationStatus.Running)
        {
            await Journal.SetOperationStatusAsync(op.Id, status, error, ct);
        }

        return op.Id;
    }

    public async ValueTask DisposeAsync()
    {
        await Ctx.DisposeAsync();
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
}

/// <summary>Hangfire's client replaced: records the jobs that would have been enqueued.</summary>
internal sealed class RecordingJobClient : IBackgroundJobClient
{
    public ConcurrentQueue<Job> Created { get; } = new();

    public string Create(Job job, IState state)
    {
        Created.Enqueue(job);
        return Created.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool ChangeState(string jobId, IState state, string expectedState) => true;
}

/// <summary>bUnit: the operations list and one operation's page over real journal data.</summary>
public sealed class OperationPagesTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private OperationTestHost _host = null!;
    private Guid _clusterId;

    public async Task InitializeAsync()
    {
        _host = await OperationTestHost.CreateAsync();
        _clusterId = await _host.AddClusterAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private BunitContext Ctx => _host.Ctx;

    private void SignIn(string user, string role) => _host.SignIn(user, role);

    private static readonly (StepStatus, string?)[] FirstFiveDone =
    [
        (StepStatus.Succeeded, "both hosts reachable, PostgreSQL 15 on pg1"),
        (StepStatus.Skipped, "port 5432 already open between the nodes"),
        (StepStatus.Succeeded, "pg1 is the primary"),
        (StepStatus.Skipped, "pg_hba.conf already allows replication from pg2"),
        (StepStatus.Succeeded, "settings applied"),
    ];

    [Fact]
    public async Task Running_setup_shows_steps_log_and_basebackup_progress()
    {
        SignIn("olivia", "Operator");
        var id = await _host.AddSetupOperationAsync(
            _clusterId,
            [.. FirstFiveDone, (StepStatus.Running, null)],
            [
                (1, null, LogStream.Info, "Step 1 (preflight): checks both hosts"),
                (1, "pg1", LogStream.Stdout, "PostgreSQL 15.8"),
                (2, null, LogStream.Info, "Already done: port 5432 already open between the nodes"),
                (6, null, LogStream.Info, "Step 6 (clone-standby): clones the primary onto the standby"),
                (6, "pg2", LogStream.Stderr, "15445/30890 kB (50%), 0/1 tablespace"),
            ],
            OperationStatus.Running);

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.Equal(5, cut.FindAll("[data-testid=log-line]").Count), Wait);
        Assert.Equal("running", cut.Find("[data-testid=operation-status]").TextContent.Trim());
        Assert.Contains("pg-main", cut.Find("[data-testid=operation-cluster]").TextContent, StringComparison.Ordinal);

        var steps = cut.FindAll("[data-testid=operation-step]");
        Assert.Equal(SetupOperation.StepNames, steps.Select(s => s.GetAttribute("data-step-name")));
        Assert.Equal(
            ["succeeded", "skipped", "succeeded", "skipped", "succeeded", "running", "pending", "pending", "pending", "pending", "pending"],
            steps.Select(s => s.GetAttribute("data-step-status")));
        Assert.Contains("Already done: port 5432 already open", steps[1].TextContent, StringComparison.Ordinal);

        var lines = cut.FindAll("[data-testid=log-line]");
        Assert.Contains("console", lines[0].TextContent, StringComparison.Ordinal);
        Assert.Contains("pg1", lines[1].TextContent, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL 15.8", lines[1].TextContent, StringComparison.Ordinal);
        Assert.Equal("stderr", lines[4].GetAttribute("data-stream"));
        Assert.Contains("mud-error-text", lines[4].ClassName, StringComparison.Ordinal);

        var progress = cut.Find("[data-testid=basebackup-progress]");
        Assert.Equal("50", progress.GetAttribute("data-percent"));
        Assert.Contains("50%", progress.TextContent, StringComparison.Ordinal);
        Assert.NotNull(progress.QuerySelector(".mud-progress-linear"));
        Assert.Empty(cut.FindAll("[data-testid=operation-resume]"));
        Assert.Empty(cut.FindAll("[data-testid=operation-error]"));
    }

    [Fact]
    public async Task A_live_line_of_a_new_step_appears_and_refreshes_the_steps()
    {
        SignIn("olivia", "Viewer");
        var id = await _host.AddSetupOperationAsync(
            _clusterId, [(StepStatus.Running, null)], [(1, null, LogStream.Info, "Step 1 (preflight): checks both hosts")], OperationStatus.Running);
        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));
        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=log-line]")), Wait);

        // What the runner does: journal the step's outcome, publish the next step's first line.
        await _host.Journal.SetStepStatusAsync(id, 1, StepStatus.Succeeded, "ok", CancellationToken.None);
        await _host.Journal.SetStepStatusAsync(id, 2, StepStatus.Running, null, CancellationToken.None);
        Ctx.Services.GetRequiredService<OperationLogStore>()
            .Publish(id, new OperationLogLine(2, DateTimeOffset.UtcNow, 2, null, LogStream.Info, "Step 2 (firewall): opens the ports"));

        cut.WaitForAssertion(() =>
        {
            Assert.Equal(2, cut.FindAll("[data-testid=log-line]").Count);
            Assert.Equal("succeeded", cut.FindAll("[data-testid=operation-step]")[0].GetAttribute("data-step-status"));
            Assert.Equal("running", cut.FindAll("[data-testid=operation-step]")[1].GetAttribute("data-step-status"));
        }, Wait);
    }

    [Fact]
    public async Task Succeeded_operation_shows_its_status_and_whole_log()
    {
        SignIn("olivia", "Operator");
        var id = await _host.AddSetupOperationAsync(
            _clusterId,
            [.. SetupOperation.StepNames.Select(_ => (StepStatus.Succeeded, (string?)"verified"))],
            [(1, null, LogStream.Info, "Step 1 (preflight): checks both hosts"), (11, null, LogStream.Info, "Verified: replication streaming")],
            OperationStatus.Succeeded);

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=log-line]").Count), Wait);
        Assert.Equal("succeeded", cut.Find("[data-testid=operation-status]").TextContent.Trim());
        Assert.All(cut.FindAll("[data-testid=operation-step]"), s => Assert.Equal("succeeded", s.GetAttribute("data-step-status")));
        Assert.Empty(cut.FindAll("[data-testid=operation-resume]"));
        Assert.Empty(cut.FindAll("[data-testid=basebackup-progress]"));
    }

    private Task<Guid> AddFailedAtFirewallAsync() => _host.AddSetupOperationAsync(
        _clusterId,
        [(StepStatus.Succeeded, "both hosts reachable"), (StepStatus.Failed, "iptables: Permission denied")],
        [(2, "pg1", LogStream.Stderr, "iptables: Permission denied"), (2, null, LogStream.Stderr, "Failed: iptables: Permission denied")],
        OperationStatus.Failed,
        "Step 2 (firewall) failed: iptables: Permission denied");

    [Fact]
    public async Task Failed_setup_shows_its_error_and_resume_for_an_admin()
    {
        SignIn("ada", "Admin");
        var id = await AddFailedAtFirewallAsync();

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=log-line]").Count), Wait);
        Assert.Equal("failed", cut.Find("[data-testid=operation-status]").TextContent.Trim());
        Assert.Contains("Step 2 (firewall) failed: iptables: Permission denied", cut.Find("[data-testid=operation-error]").TextContent, StringComparison.Ordinal);
        Assert.Equal("failed", cut.FindAll("[data-testid=operation-step]")[1].GetAttribute("data-step-status"));
        Assert.Empty(cut.FindAll("[data-testid=resume-confirm-wipe]"));
        Assert.False(cut.Find("[data-testid=operation-resume]").HasAttribute("disabled"));

        await cut.Find("[data-testid=operation-resume]").ClickAsync(new());

        // Re-enqueued with empty parameters; the journal says pending again and the page follows it.
        cut.WaitForAssertion(() => Assert.Equal("pending", cut.Find("[data-testid=operation-status]").TextContent.Trim()), Wait);
        var job = Assert.Single(_host.Jobs.Created);
        Assert.Equal(id, job.Args[0]);
        Assert.Equal("{}", job.Args[1]);
        Assert.Equal(OperationStatus.Pending, (await _host.Journal.GetAsync(id, CancellationToken.None))!.Status);
    }

    [Theory]
    [InlineData("victor", "Viewer")]
    [InlineData("olivia", "Operator")] // setup is the Admin's (it may wipe a data directory): resuming it too (#15 item 3)
    public async Task Failed_setup_has_no_resume_below_admin(string user, string role)
    {
        SignIn(user, role);
        var id = await AddFailedAtFirewallAsync();

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=log-line]").Count), Wait);
        Assert.NotNull(cut.Find("[data-testid=operation-error]"));
        Assert.Empty(cut.FindAll("[data-testid=operation-resume]"));
    }

    [Fact]
    public async Task A_failed_operation_shows_the_pair_as_it_is_now_beside_it()
    {
        SignIn("olivia", "Operator");
        var id = await _host.AddSetupOperationAsync(
            _clusterId, [.. FirstFiveDone, (StepStatus.Failed, "boom")], [(6, null, LogStream.Stderr, "Failed: boom")], OperationStatus.Failed, "Step 6 failed: boom");
        _host.Topology.Latest = new PgHaConsole.Core.Topology.ClusterTopology
        {
            ClusterId = _clusterId,
            ClusterName = "c",
            ObservedAt = DateTimeOffset.UtcNow,
            Nodes =
            [
                new() { NodeId = Guid.NewGuid(), Name = "pg1", Address = "198.18.4.247", Role = PgHaConsole.Core.Topology.NodeRole.Primary, Timeline = 2, HoldsWriteVip = true },
                new() { NodeId = Guid.NewGuid(), Name = "pg2", Address = "198.18.4.248", Role = PgHaConsole.Core.Topology.NodeRole.Down },
            ],
        };

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.Equal("primary", cut.Find("[data-testid=live-node-pg1]").GetAttribute("data-role")), Wait);
        Assert.Contains("holds the write VIP", cut.Find("[data-testid=live-node-pg1]").TextContent, StringComparison.Ordinal);
        Assert.Equal("down", cut.Find("[data-testid=live-node-pg2]").GetAttribute("data-role"));
    }

    [Fact]
    public async Task Resuming_a_refused_wipe_needs_the_host_name_typed()
    {
        SignIn("ada", "Admin");
        const string refusal = "Refusing to remove data: /data10/pgdata on pg2 holds 3 files (12 kB). Nothing was changed. If this data may go, run the wizard again and type 'pg2' to confirm.";
        var id = await _host.AddSetupOperationAsync(
            _clusterId,
            [.. FirstFiveDone, (StepStatus.Failed, refusal)],
            [(6, null, LogStream.Stderr, "Failed: " + refusal)],
            OperationStatus.Failed,
            "Step 6 (clone-standby) failed: " + refusal);

        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, id));

        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=resume-confirm-wipe]")), Wait);
        Assert.True(cut.Find("[data-testid=operation-resume]").HasAttribute("disabled"));
        cut.Find("[data-testid=resume-confirm-wipe]").Input("pg");
        cut.WaitForAssertion(() => Assert.True(cut.Find("[data-testid=operation-resume]").HasAttribute("disabled")), Wait);
        cut.Find("[data-testid=resume-confirm-wipe]").Input("pg2");
        cut.WaitForAssertion(() => Assert.False(cut.Find("[data-testid=operation-resume]").HasAttribute("disabled")), Wait);

        await cut.Find("[data-testid=operation-resume]").ClickAsync(new());

        cut.WaitForAssertion(() => Assert.Single(_host.Jobs.Created), Wait);
        Assert.Equal("""{"confirmWipeHost":"pg2"}""", _host.Jobs.Created.Single().Args[1]);
    }

    [Fact]
    public void Unknown_operation_says_so()
    {
        SignIn("olivia", "Viewer");
        var cut = Ctx.Render<OperationDetail>(p => p.Add(x => x.OperationId, Guid.NewGuid()));
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=operation-not-found]")), Wait);
    }

    [Fact]
    public async Task Operations_list_links_each_operation_with_its_cluster_and_status()
    {
        SignIn("olivia", "Viewer");
        var other = await _host.AddClusterAsync("pg-other");
        var failed = await AddFailedAtFirewallAsync();
        var succeeded = await _host.AddSetupOperationAsync(other, [(StepStatus.Succeeded, "ok")], [], OperationStatus.Succeeded);

        var cut = Ctx.Render<Operations>();

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=operation-row]").Count), Wait);
        var rows = cut.FindAll("[data-testid=operation-row]");
        // newest first
        Assert.Equal(succeeded.ToString(), rows[0].GetAttribute("data-operation-id"));
        Assert.Contains("pg-other", rows[0].TextContent, StringComparison.Ordinal);
        Assert.Contains("succeeded", rows[0].TextContent, StringComparison.Ordinal);
        Assert.Contains("pg-main", rows[1].TextContent, StringComparison.Ordinal);
        Assert.Contains("failed", rows[1].TextContent, StringComparison.Ordinal);
        Assert.Contains("alice", rows[1].TextContent, StringComparison.Ordinal);
        Assert.Equal($"/operations/{failed}", rows[1].QuerySelector("[data-testid=operation-link]")!.GetAttribute("href"));
    }

    [Fact]
    public void Operations_list_when_empty()
    {
        SignIn("olivia", "Viewer");
        var cut = Ctx.Render<Operations>();
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=no-operations]")), Wait);
    }
}

/// <summary>An <see cref="PgHaConsole.Infrastructure.Topology.ITopologyMonitor"/> that returns the picture a test sets.</summary>
public sealed class FixedTopologyMonitor : PgHaConsole.Infrastructure.Topology.ITopologyMonitor
{
    public PgHaConsole.Core.Topology.ClusterTopology? Latest { get; set; }

    public PgHaConsole.Core.Topology.ClusterTopology? GetLatest(Guid clusterId) => Latest?.ClusterId == clusterId ? Latest : null;

    public IReadOnlyList<PgHaConsole.Core.Topology.ClusterTopology> GetAll() => Latest is null ? [] : [Latest];

    public async IAsyncEnumerable<PgHaConsole.Core.Topology.ClusterTopology> WatchAsync(Guid clusterId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (GetLatest(clusterId) is { } t)
        {
            yield return t;
        }

        await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public Task<PgHaConsole.Core.Topology.ClusterTopology?> ProbeNowAsync(Guid clusterId, CancellationToken cancellationToken) => Task.FromResult(GetLatest(clusterId));
}
