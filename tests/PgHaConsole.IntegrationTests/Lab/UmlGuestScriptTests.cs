using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Lab;

/// <summary>
/// The UML lab's guest scripts as text (no lab needed): a host's power-on inside the guest is its first boot again
/// (the same network and boot commands as guest-up.sh, with its MAC kept), and every script is valid sh.
/// </summary>
public sealed class UmlGuestScriptTests
{
    private const string StateDir = "/srv/pgha-state";

    [Fact]
    public void A_host_powered_on_in_the_guest_runs_the_network_and_boot_commands_of_its_first_boot_with_its_mac_kept()
    {
        var host = LabTopology.Host("pg2");
        var up = UmlGuestScript.Render(StateDir);
        var on = UmlGuestScript.RenderPowerOn(StateDir, host, "02:11:22:33:44:55");

        // Every line of guest-up.sh that names pg2's namespace or starts it is in the power-on script too.
        var firstBoot = up.Split('\n').Where(l => l.Contains(host.Namespace, StringComparison.Ordinal) || l.Contains(host.RootVeth, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(firstBoot);
        Assert.All(firstBoot, l => Assert.Contains(l, on.Split('\n')));
        Assert.DoesNotContain(LabTopology.Host("pg1").Namespace, on, StringComparison.Ordinal);

        // The MAC it had, set before the link comes up (the peer's LVS-DR mangle rule names it).
        var lines = on.Split('\n');
        var mac = Array.FindIndex(lines, l => l.EndsWith(" link set dev mgt address 02:11:22:33:44:55", StringComparison.Ordinal));
        var linkUp = Array.FindIndex(lines, l => l.EndsWith(" link set dev mgt up", StringComparison.Ordinal));
        Assert.True(mac >= 0 && linkUp > mac, on);
        Assert.Contains("already on", on, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_powered_off_in_the_guest_is_killed_by_pid_in_its_namespace_never_by_name()
    {
        var off = UmlGuestScript.RenderPowerOff(LabTopology.Host("pg1"));
        Assert.Contains("ip netns pids \"$ns\"", off, StringComparison.Ordinal);
        Assert.Contains("kill -s KILL $pids", off, StringComparison.Ordinal);
        Assert.DoesNotContain("pkill", off, StringComparison.Ordinal);
        Assert.DoesNotContain("killall", off, StringComparison.Ordinal);
        Assert.Contains("ns=pghalab-pg1", off, StringComparison.Ordinal);
        Assert.Contains("ip netns del", off, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_guest_script_is_valid_sh()
    {
        foreach (var script in new[]
                 {
                     UmlGuestScript.Render(StateDir),
                     UmlGuestScript.RenderPowerOff(LabTopology.Host("pg1")),
                     UmlGuestScript.RenderPowerOn(StateDir, LabTopology.Host("pg1"), null),
                 })
        {
            var check = await CommandRunner.RunAsync(["sh", "-n"], script, TimeSpan.FromSeconds(10), CancellationToken.None);
            Assert.True(check.Succeeded, check.Output + "\n" + script);
        }
    }
}
