using System.Text;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Tests.Shell;

public sealed class RemoteCommandTests
{
    [Fact]
    public void Root_renders_the_quoted_argv_alone()
    {
        var cmd = RemoteCommand.Exec("ls", "-l", "/data 10");

        Assert.Equal("ls -l '/data 10'", cmd.Render(PrivilegeMode.Root));
    }

    [Fact]
    public void Sudo_prefixes_non_interactive_sudo()
    {
        var cmd = RemoteCommand.Exec("id");

        Assert.Equal("sudo -n -- id", cmd.Render(PrivilegeMode.Sudo));
    }

    [Fact]
    public void Run_as_user_uses_runuser_as_root_and_sudo_u_otherwise()
    {
        var cmd = RemoteCommand.Exec("psql", "-c", "select 1").AsUser("postgres");

        Assert.Equal("runuser -u postgres -- psql -c 'select 1'", cmd.Render(PrivilegeMode.Root));
        Assert.Equal("sudo -n -u postgres -- psql -c 'select 1'", cmd.Render(PrivilegeMode.Sudo));
    }

    [Fact]
    public void Login_user_commands_skip_sudo()
    {
        var cmd = RemoteCommand.Exec("id", "-un").AsLoginUser();

        Assert.Equal("id -un", cmd.Render(PrivilegeMode.Sudo));
        Assert.Equal("timeout --signal=TERM --kill-after=5 3 id -un", cmd.Render(PrivilegeMode.Sudo, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Timeout_sits_inside_sudo_and_outside_runuser()
    {
        var cmd = RemoteCommand.Exec("sleep", "30").AsUser("postgres");

        Assert.Equal(
            "timeout --signal=TERM --kill-after=5 2 runuser -u postgres -- sleep 30",
            cmd.Render(PrivilegeMode.Root, TimeSpan.FromSeconds(1.5)));
        Assert.Equal(
            "sudo -n -u postgres -- timeout --signal=TERM --kill-after=5 1 sleep 30",
            cmd.Render(PrivilegeMode.Sudo, TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void Environment_and_directory_go_through_env()
    {
        var cmd = RemoteCommand.Exec("pwd").WithEnvironment("PGPASSWORD", "p a$s").InDirectory("/tmp");

        Assert.Equal("env -C /tmp 'PGPASSWORD=p a$s' pwd", cmd.Render(PrivilegeMode.Root));
    }

    [Fact]
    public async Task Environment_values_arrive_intact_through_a_real_shell()
    {
        foreach (var value in HostileValues.All)
        {
            var cmd = RemoteCommand.Exec("printenv", "PGHA_TEST").WithEnvironment("PGHA_TEST", value);

            var (exit, stdout, stderr) = await LocalShell.RunAsync(cmd.Render(PrivilegeMode.Root));

            Assert.True(exit == 0, stderr);
            Assert.Equal(Encoding.UTF8.GetBytes(value + "\n"), stdout);
        }
    }

    [Fact]
    public async Task Working_directory_is_applied()
    {
        var cmd = RemoteCommand.Exec("pwd").InDirectory("/usr/bin");

        var (exit, stdout, _) = await LocalShell.RunAsync(cmd.Render(PrivilegeMode.Root));

        Assert.Equal(0, exit);
        Assert.Equal("/usr/bin\n", Encoding.UTF8.GetString(stdout));
    }

    [Fact]
    public async Task Script_arguments_are_positional_and_never_interpolated()
    {
        var canary = $"/tmp/pgha-canary-{Guid.NewGuid():N}";
        string[] args = [.. HostileValues.All, $"x; touch {canary}", $"$(touch {canary})"];
        var cmd = RemoteCommand.BashScript("""for a in "$@"; do printf '%s\0' "$a"; done""", args);

        var (exit, stdout, stderr) = await LocalShell.RunAsync(cmd.Render(PrivilegeMode.Root));

        Assert.True(exit == 0, stderr);
        Assert.Equal(Encoding.UTF8.GetBytes(string.Concat(args.Select(a => a + "\0"))), stdout);
        Assert.False(File.Exists(canary));
    }

    [Fact]
    public async Task Script_first_argument_is_dollar_one_even_when_it_looks_like_an_option()
    {
        var cmd = RemoteCommand.BashScript("""printf '%s|%s' "$#" "$1" """, "--rcfile");

        var (exit, stdout, _) = await LocalShell.RunAsync(cmd.Render(PrivilegeMode.Root));

        Assert.Equal(0, exit);
        Assert.Equal("1|--rcfile", Encoding.UTF8.GetString(stdout));
    }

    [Fact]
    public async Task Host_timeout_really_stops_the_command()
    {
        var cmd = RemoteCommand.Exec("sleep", "30");
        var started = DateTime.UtcNow;

        var (exit, _, _) = await LocalShell.RunAsync(cmd.Render(PrivilegeMode.Root, TimeSpan.FromSeconds(1)));

        Assert.Equal(124, exit); // timeout's exit code when the limit was hit
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Display_string_masks_secrets_in_every_form()
    {
        const string secret = "s3cr'et pass";
        var cmd = RemoteCommand.BashScript("echo \"$1\"", secret)
            .WithEnvironment("PGPASSWORD", secret, secret: true);

        var shown = cmd.ToDisplayString();

        Assert.Contains(secret, cmd.Render(PrivilegeMode.Root).Replace("'\\''", "'", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("pass", shown, StringComparison.Ordinal);
        Assert.Contains(SecretMasker.Mask, shown, StringComparison.Ordinal);
        Assert.Equal(shown, cmd.ToString());
    }

    [Theory]
    [InlineData("-rf")]
    [InlineData("A=b")]
    [InlineData("")]
    public void Program_names_that_the_shell_would_misread_are_refused(string program)
    {
        Assert.ThrowsAny<ArgumentException>(() => RemoteCommand.Exec(program));
    }

    [Theory]
    [InlineData("-root")]
    [InlineData("a b")]
    [InlineData("x;y")]
    [InlineData("")]
    public void Bad_user_names_are_refused(string user)
    {
        Assert.ThrowsAny<ArgumentException>(() => RemoteCommand.Exec("id").AsUser(user));
    }

    [Theory]
    [InlineData("1X")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("A=B")]
    public void Bad_environment_names_are_refused(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => RemoteCommand.Exec("id").WithEnvironment(name, "v"));
    }

    [Fact]
    public void Relative_working_directory_is_refused()
    {
        Assert.Throws<ArgumentException>(() => RemoteCommand.Exec("id").InDirectory("data10"));
    }

    [Fact]
    public void Non_positive_timeout_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RemoteCommand.Exec("id").Render(PrivilegeMode.Root, TimeSpan.Zero));
    }
}
