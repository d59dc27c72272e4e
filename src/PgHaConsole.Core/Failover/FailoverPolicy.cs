using System.Globalization;
using PgHaConsole.Core.Validation;

namespace PgHaConsole.Core.Failover;

/// <summary>
/// What a cluster does when its primary is lost. <see cref="Automatic"/>: the console, as the witness, starts the
/// failover itself once the primary has been lost for <see cref="AfterSeconds"/> as seen by the console and by the
/// standby. <see cref="Synchronous"/>: the standby is a synchronous standby while it streams (degraded to
/// asynchronous when it is lost, back when it streams again), so that a failover loses nothing acknowledged.
/// </summary>
public sealed record FailoverPolicy
{
    public const int MinAfterSeconds = 1;

    public const int MaxAfterSeconds = 600;

    public bool Automatic { get; init; }

    public bool Synchronous { get; init; }

    public int AfterSeconds { get; init; } = 3;

    /// <summary>The default: automatic off, synchronous off (as a cluster behaves without a policy).</summary>
    public static FailoverPolicy Default { get; } = new();

    public static IReadOnlyList<ValidationError> Validate(FailoverPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.AfterSeconds is < MinAfterSeconds or > MaxAfterSeconds
            ? [new ValidationError("afterSeconds", string.Create(CultureInfo.InvariantCulture,
                $"afterSeconds must be between {MinAfterSeconds} and {MaxAfterSeconds} (got {policy.AfterSeconds})."))]
            : [];
    }
}
