using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;
using PgHaConsole.Infrastructure.History;
using PgHaConsole.IntegrationTests.Ssh;

namespace PgHaConsole.IntegrationTests.History;

/// <summary>Alerts delivered for real: a webhook to an HttpListener on 127.0.0.1, an email to a tiny SMTP listener.</summary>
public sealed class AlertDeliveryTests
{
    private static readonly Guid Cluster = Guid.NewGuid();
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static (AlertDispatcher Dispatcher, ServiceProvider Services) Dispatcher(AlertOptions options, CollectingLoggerProvider? logs = null)
    {
        var services = new ServiceCollection()
            .AddLogging(b =>
            {
                if (logs is not null)
                {
                    b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs);
                }
            })
            .AddSingleton<IOptions<AlertOptions>>(Options.Create(options))
            .AddSingleton<IOptionsMonitor<AlertOptions>>(new StaticOptions<AlertOptions>(options))
            .AddSingleton<IAlertSender, WebhookAlertSender>()
            .AddSingleton<IAlertSender, SmtpAlertSender>()
            .AddSingleton<AlertDispatcher>();
        services.AddHttpClient(WebhookAlertSender.HttpClientName);
        var sp = services.BuildServiceProvider();
        return (sp.GetRequiredService<AlertDispatcher>(), sp);
    }

    [Fact]
    public async Task Webhook_gets_firing_once_while_it_holds_then_resolved()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var bodies = new ConcurrentQueue<JsonElement>();
        var serving = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync().WaitAsync(cts.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
                var text = await reader.ReadToEndAsync(cts.Token);
                Assert.Equal("POST", ctx.Request.HttpMethod);
                Assert.StartsWith("application/json", ctx.Request.ContentType, StringComparison.Ordinal);
                bodies.Enqueue(JsonDocument.Parse(text).RootElement.Clone());
                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            }
        });

        var (dispatcher, services) = Dispatcher(new AlertOptions
        {
            WebhookUrl = $"http://127.0.0.1:{port}/hook/alerts",
            LagBytes = 1000,
            For = TimeSpan.FromSeconds(30),
        });
        await using (services)
        {
            // Lagging for 60 s (5 pictures), then caught up.
            for (var i = 0; i <= 4; i++)
            {
                await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0.AddSeconds(15 * i), lagBytes: 50_000), T0.AddSeconds(15 * i), cts.Token);
            }

            Assert.Equal(1, dispatcher.FiringCount);
            await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0.AddSeconds(75), lagBytes: 0), T0.AddSeconds(75), cts.Token);
            await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0.AddSeconds(90), lagBytes: 0), T0.AddSeconds(90), cts.Token);
        }

        listener.Stop();
        await cts.CancelAsync();
        await serving;

        var received = bodies.ToList();
        Assert.Equal(2, received.Count);
        Assert.Equal(("firing", "lag", "pg2", "pg-main"), (received[0].GetProperty("status").GetString(), received[0].GetProperty("rule").GetString(), received[0].GetProperty("node").GetString(), received[0].GetProperty("cluster").GetString()));
        Assert.Equal(T0.AddSeconds(30), received[0].GetProperty("at").GetDateTimeOffset());
        Assert.Contains("50000 bytes", received[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(("resolved", "lag", "pg2"), (received[1].GetProperty("status").GetString(), received[1].GetProperty("rule").GetString(), received[1].GetProperty("node").GetString()));
        Assert.Equal(T0.AddSeconds(75), received[1].GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_failing_webhook_is_logged_and_does_not_throw()
    {
        var logs = new CollectingLoggerProvider();
        var (dispatcher, services) = Dispatcher(new AlertOptions { WebhookUrl = $"http://127.0.0.1:{FreePort()}/nobody", For = TimeSpan.Zero, LagBytes = 1 }, logs);
        await using (services)
        {
            var sent = await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0, lagBytes: 10), T0, CancellationToken.None);
            Assert.Single(sent);
        }

        Assert.Contains(logs.Lines, l => l.StartsWith("Warning ", StringComparison.Ordinal) && l.Contains("could not be sent by webhook", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Email_goes_to_an_smtp_listener_and_the_password_is_never_logged()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var smtp = new TinySmtpServer();
        var serving = smtp.RunAsync(cts.Token);
        const string Password = "smtp-Secret-5f1c0e9a";
        var logs = new CollectingLoggerProvider();
        var (dispatcher, services) = Dispatcher(new AlertOptions
        {
            Smtp = new SmtpAlertOptions
            {
                Host = "127.0.0.1", Port = smtp.Port, From = "console@example.test", To = ["dba@example.test", "oncall@example.test"],
                UserName = "console", Password = Password,
            },
            For = TimeSpan.Zero,
            LagBytes = 1000,
        }, logs);
        await using (services)
        {
            await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0, lagBytes: 5000), T0, cts.Token);
            await dispatcher.EvaluateAsync(TestPictures.Healthy(Cluster, T0.AddSeconds(15), lagBytes: 0), T0.AddSeconds(15), cts.Token);
        }

        // The same credentials against a port where nothing listens: the failure is logged, the password is not.
        var (failing, failingServices) = Dispatcher(new AlertOptions
        {
            Smtp = new SmtpAlertOptions { Host = "127.0.0.1", Port = FreePort(), From = "console@example.test", To = ["dba@example.test"], UserName = "console", Password = Password },
            For = TimeSpan.Zero,
            LagBytes = 1000,
        }, logs);
        await using (failingServices)
        {
            await failing.EvaluateAsync(TestPictures.Healthy(Cluster, T0, lagBytes: 5000), T0, cts.Token);
        }

        Assert.Contains(logs.Lines, l => l.Contains("could not be sent", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("FIRING", StringComparison.OrdinalIgnoreCase) || l.Contains("Alert lag", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains(Password, StringComparison.Ordinal));

        await cts.CancelAsync();
        await serving;
        Assert.Equal(2, smtp.Messages.Count);
        var first = smtp.Messages.First();
        Assert.Contains("RCPT TO:<dba@example.test>", first.Envelope, StringComparison.Ordinal);
        Assert.Contains("RCPT TO:<oncall@example.test>", first.Envelope, StringComparison.Ordinal);
        Assert.Contains("[FIRING] pg-main: pg2 lags behind", first.Data, StringComparison.Ordinal);
        Assert.Contains("[RESOLVED] pg-main: Resolved: pg2 lags behind", smtp.Messages.Last().Data, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, QUIT, RSET, NOOP) for SmtpClient to deliver a message.</summary>
    private sealed class TinySmtpServer
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public TinySmtpServer()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        }

        public int Port { get; }

        public ConcurrentQueue<(string Envelope, string Data)> Messages { get; } = new();

        public async Task RunAsync(CancellationToken ct)
        {
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(ct);
                    await ServeAsync(client, ct);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _listener.Stop();
            }
        }

        private async Task ServeAsync(TcpClient client, CancellationToken ct)
        {
            await using var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 tiny ESMTP");
            var envelope = new StringBuilder();
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-tiny");
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 go on");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(ct) is { } d && d != ".")
                        {
                            data.AppendLine(d);
                        }

                        Messages.Enqueue((envelope.ToString(), data.ToString()));
                        envelope.Clear();
                        await writer.WriteLineAsync("250 queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        envelope.AppendLine(line);
                        await writer.WriteLineAsync("250 OK");
                        break;
                }
            }
        }
    }
}
