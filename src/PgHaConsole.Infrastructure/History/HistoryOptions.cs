using Microsoft.Extensions.Options;
using PgHaConsole.Core.History;

namespace PgHaConsole.Infrastructure.History;

/// <summary>Configuration <c>PgHaConsole:History</c>: snapshot rhythm and retention.</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "PgHaConsole:History";

    /// <summary>Time between snapshots. Under a minute it must divide 60 s; from a minute up it must be whole minutes dividing an hour.</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long raw samples are kept.</summary>
    public TimeSpan RawRetention { get; set; } = TimeSpan.FromHours(48);

    /// <summary>How long 1-minute rollups are kept.</summary>
    public TimeSpan MinuteRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long 1-hour rollups are kept.</summary>
    public TimeSpan HourRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How long events are kept (with the longest-lived history by default).</summary>
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>A picture older than this is not recorded (the prober is not observing): the graph shows a gap, not stale values.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The cron expression of the snapshot job (seconds field first when under a minute).</summary>
    public string SnapshotCron()
    {
        var s = (int)SnapshotInterval.TotalSeconds;
        return s < 60 ? $"*/{s} * * * * *" : $"0 */{s / 60} * * * *";
    }
}

public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var key = HistoryOptions.SectionName + ":";
        var s = options.SnapshotInterval.TotalSeconds;
        var ok = s >= 5 && s == Math.Floor(s) && (s < 60 ? 60 % s == 0 : s % 60 == 0 && 60 % (s / 60) == 0);
        if (!ok)
        {
            errors.Add($"{key}SnapshotInterval: {options.SnapshotInterval} must be 5 s to 1 h and divide a minute (5, 10, 15, 20, 30 s) or an hour (1, 2, 5, 10, 15, 30, 60 min).");
        }

        if (options.RawRetention < TimeSpan.FromHours(2))
        {
            errors.Add($"{key}RawRetention: at least 2 hours (the 1-hour graph reads raw samples).");
        }

        if (options.MinuteRetention < TimeSpan.FromDays(1))
        {
            errors.Add($"{key}MinuteRetention: at least 1 day (the 24-hour graph reads 1-minute rollups).");
        }

        if (options.HourRetention < TimeSpan.FromDays(7))
        {
            errors.Add($"{key}HourRetention: at least 7 days.");
        }

        if (options.EventRetention < TimeSpan.FromDays(1))
        {
            errors.Add($"{key}EventRetention: at least 1 day.");
        }

        if (options.StaleAfter < options.SnapshotInterval)
        {
            errors.Add($"{key}StaleAfter: at least the snapshot interval.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Configuration <c>PgHaConsole:Alerts</c>: where alerts go and the rules' thresholds.</summary>
public sealed class AlertOptions
{
    public const string SectionName = "PgHaConsole:Alerts";

    /// <summary>POSTed a JSON body per firing and resolved alert; empty = no webhook.</summary>
    public string? WebhookUrl { get; set; }

    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public SmtpAlertOptions Smtp { get; set; } = new();

    /// <summary>Lag above this many bytes (for <see cref="For"/>) fires the lag alert.</summary>
    public long? LagBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Lag above this many seconds (for <see cref="For"/>) fires the lag alert.</summary>
    public double? LagSeconds { get; set; } = 30;

    /// <summary>How long a condition must hold before its alert fires (lag, not streaming, host down, write VIP off the primary).</summary>
    public TimeSpan For { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long split brain must hold before it fires.</summary>
    public TimeSpan SplitBrainFor { get; set; } = TimeSpan.Zero;

    public AlertThresholds ToThresholds() => new()
    {
        LagBytes = LagBytes,
        LagSeconds = LagSeconds,
        For = For,
        SplitBrainFor = SplitBrainFor,
    };
}

public sealed class SmtpAlertOptions
{
    /// <summary>Empty = no email.</summary>
    public string? Host { get; set; }

    public int Port { get; set; } = 25;

    public string? From { get; set; }

    public string[] To { get; set; } = [];

    public string? UserName { get; set; }

    /// <summary>A secret: never logged.</summary>
    public string? Password { get; set; }

    public bool EnableSsl { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Host) && !string.IsNullOrWhiteSpace(From) && To.Length > 0;
}

public sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var key = AlertOptions.SectionName + ":";
        if (!string.IsNullOrWhiteSpace(options.WebhookUrl)
            && !(Uri.TryCreate(options.WebhookUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            errors.Add($"{key}WebhookUrl: '{options.WebhookUrl}' is not an absolute http(s) URL.");
        }

        if (!string.IsNullOrWhiteSpace(options.Smtp.Host))
        {
            if (string.IsNullOrWhiteSpace(options.Smtp.From))
            {
                errors.Add($"{key}Smtp:From: required when Smtp:Host is set.");
            }

            if (options.Smtp.To.Length == 0)
            {
                errors.Add($"{key}Smtp:To: at least one address when Smtp:Host is set.");
            }

            if (options.Smtp.Port is < 1 or > 65535)
            {
                errors.Add($"{key}Smtp:Port: {options.Smtp.Port} is not a TCP port.");
            }
        }

        if (options.LagBytes is < 0)
        {
            errors.Add($"{key}LagBytes: must not be negative.");
        }

        if (options.LagSeconds is < 0)
        {
            errors.Add($"{key}LagSeconds: must not be negative.");
        }

        if (options.For < TimeSpan.Zero || options.SplitBrainFor < TimeSpan.Zero)
        {
            errors.Add($"{key}For / SplitBrainFor: must not be negative.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
