using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Npgsql;
using PgHaConsole.E2E.Infrastructure;
using PgHaConsole.Lab;
using Xunit.Abstractions;

namespace PgHaConsole.E2E;

/// <summary>
/// The topology page in LVS-DR mode, in the UML lab (<c>lab up --ipvs</c>): the directors' real ipvsadm tables, live.
/// While a reader holds connections through the read VIP the tables show them; when it stops they go.
/// </summary>
[Collection(LabE2ECollection.Name)]
[Trait("Category", "Ipvs")]
public sealed class IpvsTopologyTests(ITestOutputHelper output)
{
    private const string AdminPassword = "e2e-admin-password-ipvs";
    private const string Token = "phc_e2e-ipvs-token-0123456789abcdef";
    private const int ReaderConnections = 6;

    [Fact]
    public async Task The_topology_page_shows_the_directors_ipvsadm_tables_change_while_a_reader_runs()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(15)).Token;
        var controller = new LabController(Console.Out);
        var options = new LabOptions(Path.Combine(RepoPaths.Root, ".lab"), Ipvs: true);
        await controller.DownAsync(options, ct);
        var lab = (await controller.UpAsync(options, ct)).Info;
        try
        {
            Assert.True(lab.IpvsAvailable, lab.IpvsDetail);
            var clock = await controller.SetGuestClockFromMachineAsync(ct);
            Assert.True(clock.ExitCode == 0, "setting the guest's clock: " + clock);
            // The UML guest is one slow CPU (README, the UML lab) where keepalived's checks run at the pair's 10 s pace.
            // The console that builds the pair does not poll the topology meanwhile: in the 15:42 run its probes every
            // 5 s (a handful of programs per host each) starved those checks and setup step 9 found the write VIP on
            // nobody. The integration phase builds its pair the same way (no poller); the operation's own client check
            // still asks the prober, with a bound that fits the guest (one probe there takes more than the 5 s default).
            var umlSettings = new Dictionary<string, string>
            {
                ["PgHaConsole__Bootstrap__AdminPassword"] = AdminPassword,
                ["PgHaConsole__Bootstrap__ApiToken"] = Token,
                ["PgHaConsole__Lab__LabFile"] = LabReset.LabFile,
                ["PgHaConsole__Topology__ProbeTimeout"] = "00:00:25",
                ["PgHaConsole__Topology__LiveUpdates"] = "false",
            };
            await using var builder = await ConsoleProcess.StartAsync(new Dictionary<string, string>(umlSettings)
            {
                ["PgHaConsole__Topology__Enabled"] = "false",
            }, ct);
            Guid clusterId;
            using (var setupHttp = new HttpClient { BaseAddress = builder.BaseUri, Timeout = TimeSpan.FromMinutes(2) })
            {
                setupHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                using var body = new StringContent(await File.ReadAllTextAsync(LabReset.LabFile, ct), Encoding.UTF8, "application/json");
                using var imported = await setupHttp.PostAsync("api/clusters/import-lab?name=lab", body, ct);
                Assert.Equal(HttpStatusCode.Created, imported.StatusCode);
                clusterId = JsonDocument.Parse(await imported.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("id").GetGuid();

                var start = await setupHttp.PostAsJsonAsync($"api/clusters/{clusterId}/setup", new { }, ct);
                Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
                var operationId = (await start.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("operationId").GetGuid();
                var op = await WaitFinishedAsync(setupHttp, operationId, TimeSpan.FromMinutes(10), ct);
                Assert.True(op.GetProperty("status").GetString() == "succeeded", op.ToString());
            }

            // The same console (its store and key ring) started again, now watching: a probe every 5 s, no live channel
            // (this page's ipvsadm tables come from the probes).
            await builder.KillHardAsync();
            await using var console = await ConsoleProcess.StartAsync(new Dictionary<string, string>(umlSettings)
            {
                ["PgHaConsole__Topology__PollInterval"] = "00:00:05",
            }, ct, builder.DataDirectory);
            using var http = new HttpClient { BaseAddress = console.BaseUri, Timeout = TimeSpan.FromMinutes(2) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            try
            {
                var (playwright, browser) = await Browser.LaunchAsync();
                using var _ = playwright;
                await using var __ = browser;
                var page = await browser.NewPageAsync();
                await Browser.SignInAsync(page, console.BaseUri, "admin", AdminPassword);
                await page.GotoAsync(new Uri(console.BaseUri, $"topology/{clusterId}").ToString());
                await Browser.WaitInteractiveAsync(page);

                // The read VIP's holder directs it (keepalived decides which: ask the console as a client would): its real
                // table lists both real servers of the read service.
                var holder = await ReadVipHolderAsync(http, clusterId, ct);
                output.WriteLine($"the read VIP (and the director) is on {holder}");
                var director = page.Locator($"[data-testid=balancer-{holder}]");
                await Assertions.Expect(director.Locator("[data-testid=ipvs-real-servers]")).ToContainTextAsync("198.18.4.248", new() { Timeout = 90_000 });
                await Assertions.Expect(director.Locator("[data-testid=ipvs-real-servers]")).ToContainTextAsync("198.18.4.247", new() { Timeout = 90_000 });
                // Counted over both directors' tables: keepalived may move the read VIP (and the directing) to the other
                // node while the reader runs, and the reader's connections are then in that node's table (the stop-21 CI
                // counted only the first holder's and saw 0).
                var directors = new[] { "pg1", "pg2" }.Select(n => page.Locator($"[data-testid=balancer-{n}]")).ToList();
                async Task<int> ActiveOnBothAsync()
                {
                    var sum = 0;
                    foreach (var d in directors)
                    {
                        sum += await ActiveOnReadServiceAsync(d);
                    }

                    return sum;
                }

                var before = await ActiveOnBothAsync();
                output.WriteLine($"active connections on FWM 1 before the reader: {before}");

                // The reader: connections held open through the read VIP, each querying now and then.
                var sample = lab.SampleDatabase;
                var readers = new List<NpgsqlConnection>();
                try
                {
                    for (var i = 0; i < ReaderConnections; i++)
                    {
                        var csb = new NpgsqlConnectionStringBuilder
                        {
                            Host = lab.ReadVip, Port = 5432, Database = sample.Database, Username = sample.User, Password = sample.Password,
                            Pooling = false, Timeout = 10, GssEncryptionMode = GssEncryptionMode.Disable, SslMode = SslMode.Disable,
                        };
                        var conn = new NpgsqlConnection(csb.ConnectionString);
                        await conn.OpenAsync(ct);
                        readers.Add(conn);
                    }

                    using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var readerLoop = Task.Run(async () =>
                    {
                        while (!reading.IsCancellationRequested)
                        {
                            foreach (var conn in readers)
                            {
                                await using var cmd = new NpgsqlCommand("SELECT count(*) FROM public.items", conn);
                                await cmd.ExecuteScalarAsync(reading.Token);
                            }

                            await Task.Delay(300, reading.Token);
                        }
                    }, reading.Token);

                    // The page, refreshed live, shows the reader's connections in the director's table and its -Lnc.
                    var during = await WaitForAsync(ActiveOnBothAsync, a => a >= before + ReaderConnections, TimeSpan.FromSeconds(120));
                    output.WriteLine($"active connections on FWM 1 while reading: {during}");
                    if (during < before + ReaderConnections)
                    {
                        foreach (var d in directors)
                        {
                            output.WriteLine("--- " + await d.InnerTextAsync());
                        }
                    }

                    Assert.True(during >= before + ReaderConnections, $"active connections stayed at {during} (before: {before})");
                    // The director that shows them lists them in its connection table (-Lnc): established, from the machine.
                    var showing = directors[0];
                    foreach (var d in directors)
                    {
                        if (await ActiveOnReadServiceAsync(d) > 0)
                        {
                            showing = d;
                            break;
                        }
                    }

                    await Assertions.Expect(showing.Locator("[data-testid=ipvs-connections]")).ToContainTextAsync("ESTABLISHED", new() { Timeout = 30_000 });
                    await Assertions.Expect(showing.Locator("[data-testid=ipvs-connections]")).ToContainTextAsync("198.18.5.1", new() { Timeout = 30_000 });

                    await reading.CancelAsync();
                    try
                    {
                        await readerLoop;
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
                finally
                {
                    foreach (var conn in readers)
                    {
                        await conn.DisposeAsync();
                    }
                }

                // Closed: the director's active count falls back.
                var after = await WaitForAsync(ActiveOnBothAsync, a => a <= before, TimeSpan.FromSeconds(90));
                output.WriteLine($"active connections on FWM 1 after the reader stopped: {after}");
                Assert.True(after <= before, $"active connections still {after} after the reader closed its connections");
            }
            catch (Exception) when (WriteConsoleOutput(console))
            {
                throw; // never reached: the filter only writes the console's output for the failure report
            }
        }
        finally
        {
            // Leave the namespace lab in its starting state for the next test, as the other E2E tests do.
            await LabReset.ResetAsync(CancellationToken.None);
        }
    }

    /// <summary>On a failure, the console's own output (its errors, e.g. what made an API call answer 500) goes to the report.</summary>
    private bool WriteConsoleOutput(ConsoleProcess console)
    {
        var text = console.Output;
        output.WriteLine("--- the console's output (last 20,000 characters) ---");
        output.WriteLine(text.Length > 20_000 ? text[^20_000..] : text);
        return false;
    }

    /// <summary>The node holding the read VIP as the console's topology API reports it (waits up to 90 s for one).</summary>
    private static async Task<string> ReadVipHolderAsync(HttpClient http, Guid clusterId, CancellationToken ct)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var topology = await http.GetFromJsonAsync<JsonElement>($"api/clusters/{clusterId}/topology", ct);
            if (topology.TryGetProperty("readVipHolder", out var h) && h.ValueKind == JsonValueKind.String)
            {
                return h.GetString()!;
            }

            Assert.True(DateTime.UtcNow < until, $"no single read VIP holder in the console's topology: {topology}");
            await Task.Delay(1000, ct);
        }
    }

    /// <summary>The sum of the Active column over the read service's (FWM 1) rows of the page's real-server table.</summary>
    private static async Task<int> ActiveOnReadServiceAsync(ILocator director)
    {
        var total = 0;
        foreach (var row in await director.Locator("[data-testid=ipvs-real-servers] tr").AllAsync())
        {
            var cells = await row.Locator("td").AllInnerTextsAsync();
            if (cells.Count >= 5 && cells[0].Trim() == "FWM 1" && int.TryParse(cells[4].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var active))
            {
                total += active;
            }
        }

        return total;
    }

    private static async Task<int> WaitForAsync(Func<Task<int>> read, Func<int, bool> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        var value = await read();
        while (!done(value) && DateTime.UtcNow < until)
        {
            await Task.Delay(500);
            value = await read();
        }

        return value;
    }

    private static async Task<JsonElement> WaitFinishedAsync(HttpClient http, Guid operationId, TimeSpan timeout, CancellationToken ct)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var op = await http.GetFromJsonAsync<JsonElement>($"api/operations/{operationId}", ct);
            if (op.GetProperty("status").GetString() is "succeeded" or "failed" or "interrupted" or "cancelled")
            {
                return op;
            }

            Assert.True(DateTime.UtcNow < until, $"operation still running after {timeout}");
            await Task.Delay(1000, ct);
        }
    }
}
