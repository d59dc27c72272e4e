using System.Text;
using Npgsql;
using PgHaConsole.Core.Shell;
using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.IntegrationTests.Infrastructure;

namespace PgHaConsole.IntegrationTests.LabHosts;

/// <summary>The lab is what issue 2 promises: two separate hosts on one network, PostgreSQL on pg1.</summary>
[Collection(LabCollection.Name)]
public sealed class LabHostsTests(LabFixture lab) : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly SshSessionPool _pool = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _pool.DisposeAsync();

    [Fact]
    public async Task A_file_written_to_data10_on_pg1_is_not_visible_on_pg2()
    {
        var path = $"/data10/pgha-isolation-{Guid.NewGuid():N}";
        var content = Encoding.UTF8.GetBytes("written on pg1 " + Guid.NewGuid());
        var pg1 = _pool.GetSession(lab.Target("pg1"));
        var pg2 = _pool.GetSession(lab.Target("pg2"));
        try
        {
            var stat = await pg1.WriteFileAsync(path, content, "0640", "root:postgres", CancellationToken.None);

            Assert.Equal("640", stat.Mode);
            Assert.Equal(("root", "postgres"), (stat.Owner, stat.Group));
            Assert.Equal(content, await pg1.ReadFileAsync(path, CancellationToken.None));
            var onPg2 = await pg2.RunAsync(RemoteCommand.Exec("test", "-e", path), Limit, null, CancellationToken.None);
            Assert.Equal(1, onPg2.ExitCode);
            var data10OnPg2 = await pg2.RunAsync(RemoteCommand.Exec("test", "-d", "/data10"), Limit, null, CancellationToken.None);
            Assert.Equal(0, data10OnPg2.ExitCode);
        }
        finally
        {
            await pg1.RunAsync(RemoteCommand.Exec("rm", "-f", "--", path), Limit, null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Writing_a_secret_file_sets_and_verifies_mode_and_owner_and_refuses_a_bad_owner()
    {
        var dir = "/tmp";
        var path = $"{dir}/pgha-secret-{Guid.NewGuid():N}";
        var pg2 = _pool.GetSession(lab.Target("pg2"));
        try
        {
            var stat = await pg2.WriteFileAsync(path, "*:*:*:repli:pw\n"u8.ToArray(), "0600", "postgres", CancellationToken.None);
            var onHost = await pg2.RunAsync(RemoteCommand.Exec("stat", "-c", "%a %U", "--", path), Limit, null, CancellationToken.None);
            var leftovers = await pg2.RunAsync(RemoteCommand.BashScript("""ls -a -- "$1" | grep -c '^\.pgha-write\.' || true""", dir), Limit, null, CancellationToken.None);

            Assert.Equal("600", stat.Mode);
            Assert.Equal("postgres", stat.Owner);
            Assert.Equal("600 postgres", onHost.StdOut.Trim());

            var badOwner = $"{path}-bad";
            var ex = await Assert.ThrowsAsync<RemoteCommandFailedException>(
                () => pg2.WriteFileAsync(badOwner, "x"u8.ToArray(), "0600", "no_such_user_pgha", CancellationToken.None));
            Assert.Contains(badOwner, ex.Message, StringComparison.Ordinal);
            Assert.Equal(1, (await pg2.RunAsync(RemoteCommand.Exec("test", "-e", badOwner), Limit, null, CancellationToken.None)).ExitCode);
            Assert.Equal("0", leftovers.StdOut.Trim());
        }
        finally
        {
            await pg2.RunAsync(RemoteCommand.Exec("rm", "-f", "--", path), Limit, null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task PostgreSQL_on_pg1_answers_over_the_network()
    {
        var node = lab.Node("pg1");
        var db = lab.Info.SampleDatabase;
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = node.Address,
            Port = node.PgPort,
            Database = db.Database,
            Username = db.User,
            Password = db.Password,
            Timeout = 10,
            Pooling = false,
            GssEncryptionMode = GssEncryptionMode.Disable,
        };

        await using var conn = new NpgsqlConnection(csb.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("select count(*) from public.items", conn);
        var count = (long)(await cmd.ExecuteScalarAsync())!;
        await using var addr = new NpgsqlCommand("select host(inet_server_addr())", conn);
        var serverAddress = (string?)await addr.ExecuteScalarAsync();

        Assert.True(count > 0);
        Assert.Equal(node.Address, serverAddress);
    }

    [Theory]
    [InlineData("pg1", "pg2")]
    [InlineData("pg2", "pg1")]
    public async Task Hosts_reach_each_other_over_mgt(string from, string to)
    {
        var peer = lab.Node(to).Address;
        var session = _pool.GetSession(lab.Target(from));

        var tcp = await session.RunAsync(RemoteCommand.BashScript("""exec 3<>"/dev/tcp/$1/22" && head -c 4 <&3""", peer), Limit, null, CancellationToken.None);
        var route = await session.RunAsync(RemoteCommand.Exec("ip", "-o", "route", "get", peer), Limit, null, CancellationToken.None);

        Assert.True(tcp.Succeeded, tcp.StdErr);
        Assert.Equal("SSH-", tcp.StdOut);
        Assert.Contains(" dev " + lab.Info.Interface + " ", route.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pg1")]
    [InlineData("pg2")]
    public async Task Host_inspection_reports_what_the_lab_host_has(string name)
    {
        var node = lab.Node(name);
        var inspector = new HostInspector();

        var info = await inspector.InspectAsync(_pool.GetSession(lab.Target(name)), CancellationToken.None);

        Assert.Equal(name, info.Hostname);
        Assert.Equal("root", info.LoginUser);
        Assert.True(info.IsRoot);
        Assert.True(info.CanElevate);
        Assert.False(string.IsNullOrWhiteSpace(info.OsPrettyName));
        Assert.False(string.IsNullOrWhiteSpace(info.Kernel));
        Assert.Contains(info.PostgresInstalls, p => p.BinDir == node.PgBinDir && p.MajorVersion == lab.Info.PgVersion);
        Assert.True(info.Keepalived.Present);
        Assert.StartsWith("Keepalived v", info.Keepalived.Version, StringComparison.OrdinalIgnoreCase);
        Assert.True(info.Haproxy.Present);
        Assert.True(info.Ipvsadm.Present);
        Assert.Equal(lab.Info.IpvsAvailable, info.IpvsUsable);
        if (!info.IpvsUsable)
        {
            Assert.Contains("Protocol not available", info.IpvsDetail, StringComparison.Ordinal);
        }

        Assert.Contains(info.Interfaces, i => i.Name == lab.Info.Interface && i.Address == node.Address && i.Family == "inet");
        Assert.Equal(HostKeyFingerprint.Normalize(node.HostKeySha256), info.HostKey.Sha256);

        // The lab starts with PostgreSQL running on pg1 only; the other host shares the process table but must
        // not claim pg1's server as its own.
        var running = await _pool.GetSession(lab.Target(name)).RunAsync(
            RemoteCommand.Exec("test", "-f", node.PgDataDir + "/postmaster.pid"), Limit, null, CancellationToken.None);
        if (running.ExitCode == 0)
        {
            Assert.Contains(info.Postmasters, p => p.DataDir == node.PgDataDir);
        }
        else
        {
            Assert.Empty(info.Postmasters);
        }
    }
}
