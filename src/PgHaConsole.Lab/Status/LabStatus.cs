using System.Globalization;
using System.Text;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Lab;

/// <summary>What <c>status</c> found: each host and its processes, and whether the kernel can do IPVS.</summary>
public sealed record LabStatus(
    string? StateDir,
    bool Exists,
    bool Healthy,
    IReadOnlyList<LabHostStatus> Hosts,
    bool IpvsAvailable,
    string IpvsDetail)
{
    public string Render()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        if (!Exists)
        {
            sb.Append("Lab: down (no namespace, bridge or veth of the lab exists).").AppendLine();
            return sb.ToString();
        }

        sb.Append(inv, $"Lab: {(Healthy ? "running" : "DEGRADED (run `up` to rebuild it)")}; state dir {StateDir ?? "(unknown)"}").AppendLine();
        foreach (var h in Hosts)
        {
            sb.Append(inv, $"{h.Name} {h.Address}  namespace {h.Namespace}: {(h.NamespaceExists ? "present" : "MISSING")}").AppendLine();
            sb.Append(inv, $"  sshd:        {(h.SshdPid is int pid ? $"pid {pid}, {(h.SshdAlive ? "alive" : "DEAD")}" : "not started")}, port 22 {(h.SshAnswering ? "answering" : "not answering")}").AppendLine();
            sb.Append(inv, $"  PostgreSQL:  {(h.PostgresRunning ? "running" : "not running")} ({h.PostgresDetail})").AppendLine();
            sb.Append(inv, $"  keepalived:  {Pids(h.KeepalivedPids)}").AppendLine();
            sb.Append(inv, $"  HAProxy:     {Pids(h.HaproxyPids)}").AppendLine();
            sb.Append(inv, $"  VIPs held:   {(h.VipsHeld.Count == 0 ? "none" : string.Join(", ", h.VipsHeld))}").AppendLine();
            sb.Append(inv, $"  processes:   {h.ProcessCount}").AppendLine();
        }

        sb.Append(IpvsAvailable
            ? "IPVS: available"
            : $"IPVS: not available in this kernel ({IpvsDetail})").AppendLine();
        return sb.ToString();
    }

    private static string Pids(IReadOnlyList<int> pids) =>
        pids.Count == 0 ? "not running" : "running, pid " + string.Join(", ", pids);
}

/// <summary>One host as <c>status</c> saw it.</summary>
public sealed record LabHostStatus(
    string Name,
    string Address,
    string Namespace,
    bool NamespaceExists,
    int? SshdPid,
    bool SshdAlive,
    bool SshAnswering,
    bool PostgresRunning,
    string PostgresDetail,
    IReadOnlyList<int> KeepalivedPids,
    IReadOnlyList<int> HaproxyPids,
    IReadOnlyList<string> VipsHeld,
    int ProcessCount);

/// <summary>The outcome of <c>up</c>.</summary>
public sealed record LabUpResult(string StateDir, LabInfo Info, bool AlreadyRunning, TimeSpan Elapsed);
