using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Infrastructure.Ssh;

namespace PgHaConsole.IntegrationTests.LabHosts;

/// <summary>The inspection parser against output captured from a lab host (no lab needed).</summary>
public sealed class HostInspectorParseTests
{
    // Captured from pg2 of the lab (Debian 12, PostgreSQL 15 installed but not running, kernel without IPVS).
    private const string Pg2Output = """

        @@pgha:os
        Debian GNU/Linux 12 (bookworm)

        @@pgha:kernel
        6.18.44-fc-v782

        @@pgha:hostname
        pg2

        @@pgha:user
        root
        0

        @@pgha:sudo
        root

        @@pgha:pginstalls
        /usr/lib/postgresql/15/bin	postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)

        @@pgha:pgpath
        postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)

        @@pgha:postmasters

        @@pgha:keepalived
        /usr/sbin/keepalived
        Keepalived v2.2.7 (01/16,2022)

        @@pgha:haproxy
        /usr/sbin/haproxy
        HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/

        @@pgha:ipvsadm
        /usr/sbin/ipvsadm
        Can't initialize ipvs: Protocol not available

        @@pgha:ipvs
        rc=2
        Can't initialize ipvs: Protocol not available
        Are you sure that IP Virtual Server is built in the kernel or as module?

        @@pgha:interfaces
        1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
        1: lo    inet6 ::1/128 scope host \       valid_lft forever preferred_lft forever
        2: mgt    inet 198.18.4.248/24 scope global mgt\       valid_lft forever preferred_lft forever

        @@pgha:end
        """;

    private static readonly HostKeyInfo Key = new("JCJMpb/iWhupv/J7TFnywzb7v7YkeK6y6kbiXLYG/oY", "ssh-ed25519", 256);

    [Fact]
    public void Parses_a_lab_host()
    {
        var info = HostInspector.Parse("pg2", Pg2Output, Key);

        Assert.Equal("Debian GNU/Linux 12 (bookworm)", info.OsPrettyName);
        Assert.Equal("6.18.44-fc-v782", info.Kernel);
        Assert.Equal("pg2", info.Hostname);
        Assert.True(info.IsRoot);
        var pg = Assert.Single(info.PostgresInstalls);
        Assert.Equal(("/usr/lib/postgresql/15/bin", 15), (pg.BinDir, pg.MajorVersion));
        Assert.Empty(info.Postmasters);
        Assert.Equal(new ToolInfo(true, "/usr/sbin/keepalived", "Keepalived v2.2.7 (01/16,2022)"), info.Keepalived);
        Assert.True(info.Haproxy.Present);
        Assert.StartsWith("HAProxy version 2.6", info.Haproxy.Version, StringComparison.Ordinal);
        Assert.True(info.Ipvsadm.Present);
        Assert.False(info.IpvsUsable);
        Assert.Contains("Protocol not available", info.IpvsDetail, StringComparison.Ordinal);
        Assert.Equal(3, info.Interfaces.Count);
        Assert.Contains(new HostInterface("mgt", "inet", "198.18.4.248", 24), info.Interfaces);
        Assert.Contains(new HostInterface("lo", "inet6", "::1", 128), info.Interfaces);
        Assert.Same(Key, info.HostKey);
    }

    [Fact]
    public void Parses_a_sudo_user_host_with_a_running_server_and_missing_tools()
    {
        const string output = """
            @@pgha:user
            deploy
            1001
            @@pgha:sudo
            no
            @@pgha:pginstalls
            /usr/pgsql-16/bin	postgres (PostgreSQL) 16.4
            /usr/pgsql-13/bin	postgres (PostgreSQL) 13.16
            @@pgha:postmasters
            4242	/var/lib/pgsql/16/data	/usr/pgsql-16/bin/postgres
            @@pgha:keepalived
            @@pgha:haproxy
            @@pgha:ipvsadm
            @@pgha:ipvs
            rc=127
            @@pgha:end
            """;

        var info = HostInspector.Parse("db1", output, Key);

        Assert.Equal("deploy", info.LoginUser);
        Assert.False(info.IsRoot);
        Assert.False(info.PasswordlessSudo);
        Assert.False(info.CanElevate);
        Assert.Equal([16, 13], info.PostgresInstalls.Select(p => p.MajorVersion));
        Assert.Equal(new RunningPostmaster(4242, "/var/lib/pgsql/16/data", "/usr/pgsql-16/bin/postgres"), Assert.Single(info.Postmasters));
        Assert.False(info.Keepalived.Present);
        Assert.False(info.Haproxy.Present);
        Assert.False(info.IpvsUsable);
        Assert.Null(info.OsPrettyName);
    }
}
