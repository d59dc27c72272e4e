using System.Globalization;

namespace PgHaConsole.Lab;

/// <summary>Runs programs inside a lab host: <c>nsenter</c> into the namespaces of the host's sshd.</summary>
internal static class LabHostShell
{
    public static List<string> NsenterArgv(int pid, IReadOnlyList<string> argv)
    {
        var full = new List<string>
        {
            "nsenter", "--target", pid.ToString(CultureInfo.InvariantCulture), "--mount", "--uts", "--net", "--wd=/", "--",
        };
        full.AddRange(argv);
        return full;
    }

    public static async Task<int?> FindHostPidAsync(LabHostDefinition host, CancellationToken ct)
    {
        var pids = await LabSystem.NamespacePidsAsync(host.Namespace, ct).ConfigureAwait(false);
        var owner = LabSystem.BridgeOwner();
        if (owner is not null && LabStateFile.TryLoad(owner) is { } state
            && state.HostPids.TryGetValue(host.Name, out var recorded) && pids.Contains(recorded))
        {
            return recorded;
        }

        // No usable bookkeeping: the lab's sshd is the one started with -D (its children are sessions).
        return pids.Where(p => LabSystem.Comm(p) == "sshd" && LabSystem.CommandLine(p).Contains(" -D", StringComparison.Ordinal))
            .Select(p => (int?)p)
            .FirstOrDefault();
    }

    public static Task RunInHostCheckedAsync(int pid, string step, IReadOnlyList<string> argv, string? stdin, CancellationToken ct) =>
        CommandRunner.RunCheckedAsync(step, NsenterArgv(pid, argv), ct, stdin);
}
