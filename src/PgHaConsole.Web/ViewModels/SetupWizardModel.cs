using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MudBlazor;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Parsing;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Web.Services;

namespace PgHaConsole.Web.ViewModels;

/// <summary>The client networks as typed in the wizard: the entries, the errors to show, the any-address entries.</summary>
public sealed record ClientNetworksInput(IReadOnlyList<string> Cidrs, bool AllowAny, IReadOnlyList<string> Errors, IReadOnlyList<string> AnyAddress)
{
    public bool Valid => Errors.Count == 0;
}

/// <summary>What a line of a unified diff is, for colouring it.</summary>
public enum DiffLineKind
{
    Context,
    Added,
    Removed,
    Header,
    Hunk,
}

/// <summary>
/// The rules behind the setup wizard and the operation pages, kept out of the components so they are tested without
/// rendering: diff colouring, when Run and Resume are allowed, and how statuses look.
/// </summary>
public static partial class SetupWizardModel
{
    /// <summary>Setup's step that clones the standby (its pg_basebackup lines carry progress; it may need a wipe confirmation).</summary>
    public const string CloneStandbyStep = Infrastructure.Setup.Steps.CloneStandbyStep.StepName;

    [GeneratedRegex(@"type '([^']+)' to confirm", RegexOptions.CultureInvariant)]
    private static partial Regex TypeHostToConfirm();

    public static DiffLineKind Classify(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.StartsWith("+++", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal))
        {
            return DiffLineKind.Header;
        }

        if (line.StartsWith("@@", StringComparison.Ordinal))
        {
            return DiffLineKind.Hunk;
        }

        return line.Length > 0 && line[0] == '+' ? DiffLineKind.Added
            : line.Length > 0 && line[0] == '-' ? DiffLineKind.Removed
            : DiffLineKind.Context;
    }

    /// <summary>MudBlazor's palette text classes, so the colours follow the theme.</summary>
    public static string DiffLineClass(DiffLineKind kind) => kind switch
    {
        DiffLineKind.Added => "mud-success-text",
        DiffLineKind.Removed => "mud-error-text",
        DiffLineKind.Hunk => "mud-info-text",
        DiffLineKind.Header => "mud-text-secondary",
        _ => string.Empty,
    };

    /// <summary>A diff as lines with their kind (line endings of either style).</summary>
    public static IReadOnlyList<(string Text, DiffLineKind Kind)> DiffLines(string? diff) =>
        string.IsNullOrEmpty(diff)
            ? []
            : [.. diff.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n').Select(l => (l, Classify(l)))];

    /// <summary>
    /// Run is allowed for an admin once a plan was shown and nothing is starting, and, when the plan would remove data,
    /// only after the host's name was typed exactly.
    /// </summary>
    public static bool CanRun(bool isAdmin, OperationPlanView? plan, string? typedConfirmation, bool busy) =>
        isAdmin && plan is not null && !busy
        && (plan.WipeConfirmationHost is null || string.Equals(typedConfirmation, plan.WipeConfirmationHost, StringComparison.Ordinal));

    /// <summary>The plan's notes about the data step 6 would remove.</summary>
    public static IReadOnlyList<string> WipeNotes(OperationPlanView? plan) =>
        plan is null
            ? []
            : [.. plan.Steps.SelectMany(s => s.Actions).Where(a => a.WipesData).Select(a => a.Note).OfType<string>()];

    /// <summary>
    /// The parameters to start setup with; the confirmation goes along only when the plan asked for one. The client
    /// networks go along as typed (the wizard always sends them: they replace those stored with the cluster).
    /// </summary>
    public static SetupParameters Parameters(bool installPackages, OperationPlanView? plan, string? typedConfirmation, ClientNetworksInput? networks = null) => new()
    {
        InstallPackages = installPackages,
        ConfirmWipeHost = plan?.WipeConfirmationHost is not null ? typedConfirmation : null,
        ClientCidrs = networks?.Cidrs,
        AllowAnyClientAddress = networks?.AllowAny ?? false,
    };

    /// <summary>The wizard's client-networks field read and checked as the API will check it.</summary>
    public static ClientNetworksInput ReadClientNetworks(string? text, bool allowAny)
    {
        var cidrs = Core.Validation.ClientNetworks.Split(text);
        var errors = Core.Validation.ClientNetworks.Validate(cidrs, allowAny);
        var any = cidrs.Where(Core.Validation.ClientNetworks.IsAnyAddress).ToList();
        return new ClientNetworksInput(cidrs, allowAny,
            [.. errors.Select(e => e.Field.StartsWith(Core.Validation.ClientNetworks.Field + "[", StringComparison.Ordinal)
                ? $"Entry {int.Parse(e.Field[(Core.Validation.ClientNetworks.Field.Length + 1)..^1], CultureInfo.InvariantCulture) + 1}: {e.Message}"
                : e.Message)],
            any);
    }

    public static bool IsFinished(string status) => status is "succeeded" or "failed" or "interrupted" or "cancelled";

    /// <summary>A failed, cancelled or interrupted operation can be resumed (by an operator).</summary>
    public static bool IsResumable(string status) => status is "failed" or "interrupted" or "cancelled";

    /// <summary>
    /// When the clone step refused to remove data, the host name the operator must type to resume (taken from its
    /// error: "… type 'pg2' to confirm."); otherwise null.
    /// </summary>
    public static string? ResumeWipeHost(OperationView? op)
    {
        if (op is null || !IsResumable(op.Status))
        {
            return null;
        }

        var failed = op.Steps.FirstOrDefault(s => s.Status == "failed");
        if (failed?.Name != CloneStandbyStep)
        {
            return null;
        }

        var m = TypeHostToConfirm().Match(op.Error ?? failed.Message ?? string.Empty);
        if (!m.Success)
        {
            m = TypeHostToConfirm().Match(failed.Message ?? string.Empty);
        }

        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>Resume's parameters: <c>{}</c>, or <c>{"confirmWipeHost": …}</c> when the clone step asked for it.</summary>
    public static JsonElement ResumeParameters(string? wipeHost, string? typed) =>
        wipeHost is null
            ? JsonSerializer.SerializeToElement(new Dictionary<string, string>())
            : JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["confirmWipeHost"] = typed ?? string.Empty });

    public static bool CanResume(bool isOperator, OperationView? op, string? typed, bool busy)
    {
        if (!isOperator || op is null || busy || !IsResumable(op.Status))
        {
            return false;
        }

        var host = ResumeWipeHost(op);
        return host is null || string.Equals(typed, host, StringComparison.Ordinal);
    }

    public static Color StatusColor(string status) => status switch
    {
        "succeeded" => Color.Success,
        "failed" => Color.Error,
        "interrupted" or "cancelled" => Color.Warning,
        "running" => Color.Info,
        "skipped" => Color.Secondary,
        _ => Color.Default,
    };

    public static string StatusIcon(string status) => status switch
    {
        "succeeded" => Icons.Material.Filled.CheckCircle,
        "skipped" => Icons.Material.Filled.SkipNext,
        "failed" => Icons.Material.Filled.Error,
        "running" => Icons.Material.Filled.PlayCircle,
        "interrupted" or "cancelled" => Icons.Material.Filled.PauseCircle,
        _ => Icons.Material.Outlined.Circle,
    };

    /// <summary>"1.2 s", "3 min 04 s", "1 h 02 min"; empty when not started.</summary>
    public static string Duration(DateTimeOffset? start, DateTimeOffset? end, DateTimeOffset now)
    {
        if (start is not { } s)
        {
            return string.Empty;
        }

        var d = (end ?? now) - s;
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }

        return d.TotalSeconds < 60 ? d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s"
            : d.TotalMinutes < 60 ? string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes} min {d.Seconds:00} s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours} h {d.Minutes:00} min");
    }
}

/// <summary>
/// The lines of an operation's log a page keeps (the last <see cref="Capacity"/>), with what they tell: the last
/// pg_basebackup progress of the clone step and whether a line belongs to a step not seen before.
/// </summary>
public sealed class OperationLogBuffer(int capacity = OperationLogBuffer.DefaultCapacity)
{
    public const int DefaultCapacity = 5000;

    private readonly Queue<OperationLogLine> _lines = new();
    private readonly Lock _gate = new();
    private int? _lastStep;

    public int Capacity { get; } = capacity;

    /// <summary>The step ordinal of setup's clone step in this operation, when known (progress is read only from it).</summary>
    public int? CloneStepOrdinal { get; set; }

    public BasebackupProgress? Progress { get; private set; }

    public long LastSeq { get; private set; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>Adds a line; true when it starts a step the buffer had not seen (the page then re-reads the steps).</summary>
    public bool Add(OperationLogLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        lock (_gate)
        {
            if (line.Seq <= LastSeq && LastSeq > 0)
            {
                return false; // already have it (a re-watch after resume replays the backlog)
            }

            LastSeq = line.Seq;
            _lines.Enqueue(line);
            while (_lines.Count > Capacity)
            {
                _lines.Dequeue();
            }

            if (line.Stream == LogStream.Stderr && line.Host is not null
                && (CloneStepOrdinal is null || line.Step == CloneStepOrdinal)
                && BasebackupProgressParser.ParseLine(line.Line) is { } progress)
            {
                Progress = progress;
            }

            var newStep = line.Step is { } step && step != _lastStep;
            if (line.Step is not null)
            {
                _lastStep = line.Step;
            }

            return newStep;
        }
    }

    public IReadOnlyList<OperationLogLine> Snapshot()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }
}
