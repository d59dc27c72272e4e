using Microsoft.Extensions.Options;

namespace PgHaConsole.Infrastructure.Instances;

/// <summary>
/// This console process among those sharing the store: a new id at every start (a restarted console is a new instance,
/// so it never mistakes another live instance's work for its own), and a name people read (the configured
/// <see cref="InstanceOptions.Name"/>, else host name and process id).
/// </summary>
public sealed class ConsoleInstance
{
    public ConsoleInstance(IOptions<InstanceOptions> options)
    {
        Id = Guid.NewGuid();
        var configured = options.Value.Name;
        Name = string.IsNullOrWhiteSpace(configured) ? $"{Environment.MachineName}:{Environment.ProcessId}" : configured.Trim();
    }

    public Guid Id { get; }

    public string Name { get; }

    public override string ToString() => $"{Name} ({Id})";
}

/// <summary>
/// Timings of the work shared between instances (<c>PgHaConsole:Instances</c>). Defaults: an operation's heartbeat
/// every 3 s, interrupted when 15 s old; a cluster lease of 10 s renewed every 3 s.
/// </summary>
public sealed class InstanceOptions
{
    public const string SectionName = "PgHaConsole:Instances";

    /// <summary>Shown as the operation's "running on" and the lease holder; default host name and process id.</summary>
    public string? Name { get; set; }

    /// <summary>How often a running operation's heartbeat is renewed, and how often each instance sweeps for stale ones.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A running operation whose heartbeat is older than this (at most 30 s) becomes interrupted.</summary>
    public TimeSpan OperationStaleAfter { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a cluster lease lasts without renewal: another instance takes over after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the holder renews its leases (and others try to take free ones).</summary>
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(3);
}

public sealed class InstanceOptionsValidator : IValidateOptions<InstanceOptions>
{
    public ValidateOptionsResult Validate(string? name, InstanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.HeartbeatInterval <= TimeSpan.Zero)
        {
            errors.Add("Instances:HeartbeatInterval must be positive.");
        }

        if (options.OperationStaleAfter > TimeSpan.FromSeconds(30) || options.OperationStaleAfter < options.HeartbeatInterval * 3)
        {
            errors.Add("Instances:OperationStaleAfter must be at most 30 s and at least three heartbeat intervals.");
        }

        if (options.LeaseRenewInterval <= TimeSpan.Zero || options.LeaseDuration < options.LeaseRenewInterval * 2)
        {
            errors.Add("Instances:LeaseDuration must be at least two renewal intervals (and the interval positive).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
