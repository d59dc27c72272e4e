using System.Globalization;
using System.Net.Http.Json;
using System.Net.Mail;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;
using PgHaConsole.Core.Topology;

namespace PgHaConsole.Infrastructure.History;

/// <summary>Delivers one alert notification somewhere (webhook, email).</summary>
public interface IAlertSender
{
    string Name { get; }

    bool Enabled { get; }

    Task SendAsync(AlertNotification notification, CancellationToken ct);
}

/// <summary>The JSON body POSTed to the webhook.</summary>
public sealed record WebhookAlertBody(
    [property: JsonPropertyName("cluster")] string Cluster,
    [property: JsonPropertyName("clusterId")] Guid ClusterId,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("node")] string? Node,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("since")] DateTimeOffset Since)
{
    public static WebhookAlertBody From(AlertNotification n)
    {
        ArgumentNullException.ThrowIfNull(n);
        return new(n.Cluster, n.ClusterId, n.Rule, n.Status == AlertStatus.Firing ? "firing" : "resolved", n.Node, n.Title, n.Message, n.At, n.Since);
    }
}

public sealed class WebhookAlertSender(IHttpClientFactory httpClients, IOptionsMonitor<AlertOptions> options) : IAlertSender
{
    public const string HttpClientName = "pghaconsole-alerts";

    public string Name => "webhook";

    public bool Enabled => !string.IsNullOrWhiteSpace(options.CurrentValue.WebhookUrl);

    public async Task SendAsync(AlertNotification notification, CancellationToken ct)
    {
        var o = options.CurrentValue;
        using var client = httpClients.CreateClient(HttpClientName);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(o.WebhookTimeout);
        using var response = await client.PostAsJsonAsync(o.WebhookUrl, WebhookAlertBody.From(notification), timeout.Token);
        response.EnsureSuccessStatusCode();
    }
}

public sealed class SmtpAlertSender(IOptionsMonitor<AlertOptions> options) : IAlertSender
{
    public string Name => "email";

    public bool Enabled => options.CurrentValue.Smtp.Enabled;

    public async Task SendAsync(AlertNotification notification, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var smtp = options.CurrentValue.Smtp;
        using var message = new MailMessage { From = new MailAddress(smtp.From!), Subject = Subject(notification), Body = Body(notification) };
        foreach (var to in smtp.To)
        {
            message.To.Add(to);
        }

        using var client = new SmtpClient(smtp.Host!, smtp.Port) { EnableSsl = smtp.EnableSsl, DeliveryMethod = SmtpDeliveryMethod.Network };
        if (!string.IsNullOrEmpty(smtp.UserName))
        {
            client.Credentials = new System.Net.NetworkCredential(smtp.UserName, smtp.Password);
        }

        await client.SendMailAsync(message, ct);
    }

    public static string Subject(AlertNotification n)
    {
        ArgumentNullException.ThrowIfNull(n);
        return $"[PgHaConsole] [{(n.Status == AlertStatus.Firing ? "FIRING" : "RESOLVED")}] {n.Cluster}: {n.Title}";
    }

    public static string Body(AlertNotification n)
    {
        ArgumentNullException.ThrowIfNull(n);
        return string.Create(CultureInfo.InvariantCulture, $"""
            Cluster: {n.Cluster}
            Rule:    {n.Rule}
            Status:  {(n.Status == AlertStatus.Firing ? "firing" : "resolved")}
            Node:    {n.Node ?? "-"}
            At:      {n.At:u}
            Since:   {n.Since:u}

            {n.Message}
            """);
    }
}

/// <summary>
/// Runs the alert rules on each recorded picture and hands what they say to every enabled sender. A sender that fails is
/// logged (never with its credentials) and does not stop the others.
/// </summary>
public sealed class AlertDispatcher
{
    private readonly IEnumerable<IAlertSender> _senders;
    private readonly ILogger<AlertDispatcher> _logger;
    private readonly AlertEvaluator _evaluator;
    private readonly Lock _gate = new();

    public AlertDispatcher(IEnumerable<IAlertSender> senders, IOptions<AlertOptions> options, ILogger<AlertDispatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _senders = senders;
        _logger = logger;
        _evaluator = new AlertEvaluator(options.Value.ToThresholds());
    }

    public int FiringCount
    {
        get
        {
            lock (_gate)
            {
                return _evaluator.Firing.Count;
            }
        }
    }

    public IReadOnlyList<AlertNotification> Firing
    {
        get
        {
            lock (_gate)
            {
                return _evaluator.Firing;
            }
        }
    }

    /// <summary>Evaluates and sends; returns the notifications produced (sent or not).</summary>
    public async Task<IReadOnlyList<AlertNotification>> EvaluateAsync(ClusterTopology picture, DateTimeOffset now, CancellationToken ct)
    {
        IReadOnlyList<AlertNotification> notifications;
        lock (_gate)
        {
            notifications = _evaluator.Evaluate(picture, now);
        }

        await SendAsync(notifications, ct);
        return notifications;
    }

    /// <summary>
    /// Evaluates without sending: an instance that does not hold the cluster's lease follows its alerts, so its
    /// <see cref="FiringCount"/> and <c>/metrics</c> agree with the holder's and, once it takes the lease over, it
    /// knows which alerts fire (see <see cref="ResendFiringAsync"/>) and sends their "resolved".
    /// </summary>
    public void Follow(ClusterTopology picture, DateTimeOffset now)
    {
        lock (_gate)
        {
            _evaluator.Evaluate(picture, now);
        }
    }

    /// <summary>
    /// After taking a cluster's lease over: sends again the alerts of the cluster that fire. The previous holder may
    /// have died before sending one (this instance only followed), and a page sent twice beats one never sent.
    /// </summary>
    public async Task<int> ResendFiringAsync(Guid clusterId, CancellationToken ct)
    {
        List<AlertNotification> firing;
        lock (_gate)
        {
            firing = _evaluator.Firing.Where(n => n.ClusterId == clusterId).ToList();
        }

        await SendAsync(firing, ct);
        return firing.Count;
    }

    private async Task SendAsync(IReadOnlyList<AlertNotification> notifications, CancellationToken ct)
    {
        foreach (var n in notifications)
        {
            _logger.LogInformation("Alert {Rule} {Status} on {Cluster} {Node}: {Title}", n.Rule, n.Status, n.Cluster, n.Node ?? "-", n.Title);
            foreach (var sender in _senders.Where(s => s.Enabled))
            {
                try
                {
                    await sender.SendAsync(n, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // The exception's message only: an SMTP exception never carries the password, but its inner details
                    // are not needed here either.
                    _logger.LogWarning("Alert {Rule} {Status} on {Cluster} could not be sent by {Sender}: {Error}", n.Rule, n.Status, n.Cluster, sender.Name, ex.Message);
                }
            }
        }
    }
}
