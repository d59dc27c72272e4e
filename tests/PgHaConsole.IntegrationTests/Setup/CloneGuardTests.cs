using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace PgHaConsole.IntegrationTests.Setup;

[CollectionDefinition(Name)]
public sealed class CloneGuardCollection : ICollectionFixture<PairFixture>
{
    public const string Name = "clone-guard";
}

/// <summary>
/// Step 6's guard (the runbook's unconditional rm -rf, seed defect 6): pg2's data directory holds foreign files, then a
/// stopped server of another cluster, then a running PostgreSQL primary of its own with a database in it. The wizard stops at step 6 with nothing removed; resumed with the host's name typed, it carries on
/// from step 6 without redoing steps 1–5 and ends with a verified pair.
/// </summary>
[Collection(CloneGuardCollection.Name)]
public sealed class CloneGuardTests(PairFixture pair, ITestOutputHelper output)
{
    [Fact]
    public async Task The_clone_refuses_foreign_files_a_stopped_or_running_server_until_the_host_name_is_typed_then_resumes_at_step_6()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(5)).Token;

        // 1. Files that are not PostgreSQL's: refused, named, kept.
        await Check(pair.ExecAsync("pg2", ct, "install", "-d", "-o", "postgres", "-g", "postgres", "-m", "0700", "/data10/pgdata"));
        await Check(pair.ExecAsync("pg2", ct, "bash", "-c", "echo keep > /data10/pgdata/notes.txt"));
        var op = await pair.RunAsync(SetupOperation.Kind, new SetupParameters(), ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.Equal(OperationStatus.Failed, op.Status);
        var foreignFiles = op.Steps.Single(s => s.Name == "clone-standby");
        Assert.Equal(StepStatus.Failed, foreignFiles.Status);
        Assert.Contains("Refusing", foreignFiles.Message, StringComparison.Ordinal);
        Assert.Contains("files that are not a PostgreSQL data directory", foreignFiles.Message, StringComparison.Ordinal);
        Assert.Contains("notes.txt", foreignFiles.Message, StringComparison.Ordinal);
        Assert.Equal("keep", (await pair.ExecAsync("pg2", ct, "cat", "/data10/pgdata/notes.txt")).StandardOutput.Trim());

        // 2. A stopped data directory of another cluster: refused, kept.
        await Check(pair.ExecAsync("pg2", ct, "rm", "-f", "/data10/pgdata/notes.txt"));
        await Check(pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/initdb", "-D", "/data10/pgdata", "--no-sync", "-A", "peer"));
        var stopped = await pair.RunExistingAsync(op.Id, new SetupParameters(), ct);
        Assert.Equal(OperationStatus.Failed, stopped.Status);
        var stoppedClone = stopped.Steps.Single(s => s.Name == "clone-standby");
        Assert.Contains("Refusing", stoppedClone.Message, StringComparison.Ordinal);
        Assert.Contains("a stopped PostgreSQL data directory of another cluster", stoppedClone.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await pair.ExecAsync("pg2", ct, "test", "-f", "/data10/pgdata/PG_VERSION")).ExitCode);

        // 3. The same directory running as a primary with a database in it.
        await Check(pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D", "/data10/pgdata", "-l", "/data10/postgresql.log", "-o", "-c listen_addresses=localhost -c unix_socket_directories=/run/postgresql", "-w", "start"));
        await Check(pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "CREATE DATABASE precious"));

        op = await pair.RunExistingAsync(op.Id, new SetupParameters(), ct);
        output.WriteLine(await pair.LogTextAsync(op.Id, ct));
        Assert.Equal(OperationStatus.Failed, op.Status);
        var clone = op.Steps.Single(s => s.Name == "clone-standby");
        Assert.Equal(StepStatus.Failed, clone.Status);
        Assert.Contains("Refusing", clone.Message, StringComparison.Ordinal);
        Assert.Contains("RUNNING PostgreSQL primary", clone.Message, StringComparison.Ordinal);
        Assert.Contains("precious", clone.Message, StringComparison.Ordinal);
        Assert.Contains("'pg2'", clone.Message, StringComparison.Ordinal);
        Assert.All(op.Steps.Where(s => s.Ordinal > clone.Ordinal), s => Assert.Equal(StepStatus.Pending, s.Status));

        // Nothing was removed: pg2's own server still runs with its database.
        var dbs = await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT datname FROM pg_database WHERE datname = 'precious'");
        Assert.Equal("precious", dbs.StandardOutput.Trim());

        // A wrong name is refused the same way.
        var wrong = await pair.RunExistingAsync(op.Id, new SetupParameters { ConfirmWipeHost = "pg1" }, ct);
        Assert.Equal(OperationStatus.Failed, wrong.Status);
        Assert.Equal("precious", (await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT datname FROM pg_database WHERE datname = 'precious'")).StandardOutput.Trim());

        var resumed = await pair.RunExistingAsync(op.Id, new SetupParameters { ConfirmWipeHost = "pg2" }, ct);
        var log = await pair.LogTextAsync(op.Id, ct);
        output.WriteLine(log);
        Assert.True(resumed.Status == OperationStatus.Succeeded, $"{resumed.Status}: {resumed.Error}");
        for (var i = 1; i < clone.Ordinal; i++)
        {
            Assert.Contains($"Step {i} ({resumed.Steps[i - 1].Name}) was completed by an earlier run; not redone.", log, StringComparison.Ordinal);
        }

        Assert.Contains("confirmed by the operator (typed 'pg2')", log, StringComparison.Ordinal);
        var recovery = await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT pg_is_in_recovery()");
        Assert.Equal("t", recovery.StandardOutput.Trim());
        var gone = await pair.ExecAsync("pg2", ct, "runuser", "-u", "postgres", "--", "psql", "-XAtc", "SELECT count(*) FROM pg_database WHERE datname = 'precious'");
        Assert.Equal("0", gone.StandardOutput.Trim());
    }

    private static async Task Check(Task<PgHaConsole.Lab.CommandResult> run)
    {
        var r = await run;
        Assert.True(r.ExitCode == 0, r.StandardError + r.StandardOutput);
    }
}
