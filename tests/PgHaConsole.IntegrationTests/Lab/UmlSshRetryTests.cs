using PgHaConsole.Lab;

namespace PgHaConsole.IntegrationTests.Lab;

/// <summary>
/// The UML lab's SSH commands (no lab needed): a command whose session never began (the slow guest's sshd did not greet
/// in time) is tried again; any other outcome, a failed command or a host that is down included, is returned as it is.
/// </summary>
public sealed class UmlSshRetryTests
{
    private static readonly CommandResult Banner = new(255, "", "Connection timed out during banner exchange\r\nConnection to 198.18.4.247 port 22 timed out");
    private static readonly CommandResult Kex = new(255, "", "kex_exchange_identification: read: Connection reset by peer");

    [Fact]
    public void Only_a_session_that_never_began_is_safe_to_try_again()
    {
        Assert.True(UmlLab.SessionNeverBegan(Banner));
        Assert.True(UmlLab.SessionNeverBegan(Kex));
        // The remote command failed, or the connection dropped once the command may have run, or the host is down.
        Assert.False(UmlLab.SessionNeverBegan(new CommandResult(1, "", "psql: error: connection to server failed")));
        Assert.False(UmlLab.SessionNeverBegan(new CommandResult(255, "", "Connection to 198.18.4.247 closed by remote host.")));
        Assert.False(UmlLab.SessionNeverBegan(new CommandResult(255, "", "ssh: connect to host 198.18.4.247 port 22: Connection refused")));
        Assert.False(UmlLab.SessionNeverBegan(new CommandResult(255, "", "ssh: connect to host 198.18.4.248 port 22: No route to host")));
        // A remote command that itself exits 255 with such words on its output is not ssh failing.
        Assert.False(UmlLab.SessionNeverBegan(new CommandResult(255, "banner exchange", "")));
    }

    [Fact]
    public async Task A_greeting_that_times_out_is_tried_again_and_the_answer_that_follows_is_returned()
    {
        var answers = new Queue<CommandResult>([Banner, new CommandResult(0, "t\n", "")]);
        var runs = 0;
        var result = await UmlLab.RunSshAsync(() => { runs++; return Task.FromResult(answers.Dequeue()); }, CancellationToken.None);
        Assert.Equal(2, runs);
        Assert.Equal("t\n", result.StandardOutput);
    }

    [Fact]
    public async Task It_gives_up_after_its_attempts_and_never_repeats_a_command_that_ran()
    {
        var runs = 0;
        var result = await UmlLab.RunSshAsync(() => { runs++; return Task.FromResult(Banner); }, CancellationToken.None);
        Assert.Equal(UmlLab.SshAttempts, runs);
        Assert.Same(Banner, result);

        runs = 0;
        var failed = new CommandResult(3, "", "stopped");
        Assert.Same(failed, await UmlLab.RunSshAsync(() => { runs++; return Task.FromResult(failed); }, CancellationToken.None));
        Assert.Equal(1, runs);
    }
}
