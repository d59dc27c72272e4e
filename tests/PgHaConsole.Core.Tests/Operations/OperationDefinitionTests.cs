using PgHaConsole.Core.Model;
using PgHaConsole.Core.Operations;
using PgHaConsole.Core.Shell;

namespace PgHaConsole.Core.Tests.Operations;

public sealed class OperationDefinitionTests
{
    private sealed class NamedStep(string name, StepPlan? plan = null) : IOperationStep
    {
        public string Name => name;

        public string Description => "does " + name;

        public Task<StepPlan> PlanAsync(IOperationContext context) => Task.FromResult(plan ?? StepPlan.Empty);

        public Task<StepCheck> CheckAsync(IOperationContext context) => Task.FromResult(StepCheck.NotDone("never"));

        public Task RunAsync(IOperationContext context) => Task.CompletedTask;

        public Task<StepVerification> VerifyAsync(IOperationContext context) => Task.FromResult(StepVerification.Passed("ok"));
    }

    private sealed class PlanContext : IOperationContext
    {
        public Guid OperationId { get; } = Guid.NewGuid();

        public ClusterSpec Cluster { get; } = Rendering.Sample.Cluster();

        public CancellationToken CancellationToken => CancellationToken.None;

        public SecretMasker Masker { get; } = new();

        public List<string> Lines { get; } = [];

        public void Log(string stepName, string? host, LogStream stream, string line) => Lines.Add(line);
    }

    [Fact]
    public void Keeps_the_steps_in_order_and_finds_ordinals()
    {
        var definition = new OperationDefinition("setup", [new NamedStep("preflight"), new NamedStep("roles"), new NamedStep("hba")]);

        Assert.Equal("setup", definition.Kind);
        Assert.Equal(["preflight", "roles", "hba"], definition.StepNames);
        Assert.Equal(2, definition.OrdinalOf("roles"));
        Assert.Equal(3, definition.OrdinalOf("hba"));
        Assert.Equal(0, definition.OrdinalOf("HBA"));
    }

    [Fact]
    public void Refuses_duplicate_names_no_steps_and_a_blank_kind()
    {
        var dup = Assert.Throws<ArgumentException>(() => new OperationDefinition("setup", [new NamedStep("roles"), new NamedStep("roles")]));
        Assert.Contains("'roles'", dup.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new OperationDefinition("setup", []));
        Assert.Throws<ArgumentException>(() => new OperationDefinition(" ", [new NamedStep("a")]));
        Assert.Throws<ArgumentException>(() => new OperationDefinition("setup", [new NamedStep("")]));
    }

    [Theory]
    [InlineData(new[] { StepStatus.Pending, StepStatus.Pending, StepStatus.Pending }, 1)]
    [InlineData(new[] { StepStatus.Succeeded, StepStatus.Skipped, StepStatus.Failed }, 3)]
    [InlineData(new[] { StepStatus.Succeeded, StepStatus.Running, StepStatus.Pending }, 2)]
    [InlineData(new[] { StepStatus.Skipped, StepStatus.Succeeded, StepStatus.Succeeded }, 4)]
    public void Resume_starts_at_the_first_step_not_completed(StepStatus[] journaled, int expected)
    {
        var definition = new OperationDefinition("setup", [new NamedStep("a"), new NamedStep("b"), new NamedStep("c")]);

        Assert.Equal(expected, definition.ResumeOrdinal(journaled));
    }

    [Fact]
    public void Resume_refuses_a_journal_of_another_length()
    {
        var definition = new OperationDefinition("setup", [new NamedStep("a"), new NamedStep("b")]);

        Assert.Throws<ArgumentException>(() => definition.ResumeOrdinal([StepStatus.Succeeded]));
    }

    [Fact]
    public async Task Plan_collects_every_steps_plan_in_order()
    {
        var masker = new SecretMasker(["s3cr'et"]);
        var command = "env " + ShellQuote.Quote("PGPASSWORD=s3cr'et") + " psql -c " + ShellQuote.Quote("SELECT 1");
        var first = new StepPlan([PlannedAction.ForCommand("pg1", command, masker)]);
        var second = new StepPlan([PlannedAction.ForFile("pg2", "/root/.pgpass", "+*:*:*:repl:s3cr'et", masker)]);
        var definition = new OperationDefinition("setup", [new NamedStep("roles", first), new NamedStep("pgpass", second)]);

        var plans = await definition.PlanAsync(new PlanContext());

        Assert.Equal(["roles", "pgpass"], plans.Select(p => p.Step.Name));
        var action = Assert.Single(plans[0].Plan.Actions);
        Assert.Equal("pg1", action.Host);
        Assert.False(action.IsFileChange);
        Assert.DoesNotContain("s3cr", action.Command, StringComparison.Ordinal);
        Assert.Contains(SecretMasker.Mask, action.Command, StringComparison.Ordinal);
        var file = Assert.Single(plans[1].Plan.Actions);
        Assert.True(file.IsFileChange);
        Assert.Equal("/root/.pgpass", file.FilePath);
        Assert.Equal("+*:*:*:repl:" + SecretMasker.Mask, file.Diff);
    }

    [Theory]
    [InlineData(OperationStatus.Pending, false)]
    [InlineData(OperationStatus.Running, false)]
    [InlineData(OperationStatus.Succeeded, true)]
    [InlineData(OperationStatus.Failed, true)]
    [InlineData(OperationStatus.Interrupted, true)]
    [InlineData(OperationStatus.Cancelled, true)]
    public void Finished_statuses(OperationStatus status, bool finished) => Assert.Equal(finished, status.IsFinished());

    [Theory]
    [InlineData(StepStatus.Pending, false)]
    [InlineData(StepStatus.Running, false)]
    [InlineData(StepStatus.Failed, false)]
    [InlineData(StepStatus.Succeeded, true)]
    [InlineData(StepStatus.Skipped, true)]
    public void Complete_step_statuses(StepStatus status, bool complete) => Assert.Equal(complete, status.IsComplete());

    [Theory]
    [InlineData(LogStream.Info, "info")]
    [InlineData(LogStream.Stdout, "stdout")]
    [InlineData(LogStream.Stderr, "stderr")]
    public void Log_streams_round_trip_the_store_text(LogStream stream, string text)
    {
        Assert.Equal(text, stream.ToStoreText());
        Assert.Equal(stream, OperationStatusExtensions.ParseLogStream(text));
    }
}
