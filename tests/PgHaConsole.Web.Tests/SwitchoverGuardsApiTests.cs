using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.Operations;
using PgHaConsole.Infrastructure.Operations;
using PgHaConsole.Infrastructure.Setup;
using PgHaConsole.Infrastructure.Switchover;
using PgHaConsole.Web.Tests.Infrastructure;

namespace PgHaConsole.Web.Tests;

/// <summary>
/// The guards the lab tests bypass (they run the executor directly), through the API of the real console (issue 18,
/// item 5): the switchover's typed cluster name (refused, audited, nothing queued) and the rollback of a switchover
/// (who may, and what it answers for a record in each state). No host is reachable here: the hosts of these clusters
/// have no pinned host key, so nothing is ever contacted.
/// </summary>
public sealed class SwitchoverGuardsApiTests(ConsoleFactory factory) : IClassFixture<ConsoleFactory>
{
    private IOperationJournal Journal => factory.Services.GetRequiredService<IOperationJournal>();

    private IClusterLock Lock => factory.Services.GetRequiredService<IClusterLock>();

    private Task<(Guid Id, string Name)> CreateClusterAsync() => factory.CreateClusterAsync("sw");

    private async Task<List<JsonElement>> AuditAsync(Guid clusterId, string action)
    {
        using var admin = factory.CreateClientWithToken(ConsoleFactory.AdminToken);
        return [.. (await admin.GetFromJsonAsync<JsonElement>($"/api/audit?clusterId={clusterId}&action={action}")).EnumerateArray()];
    }

    private long HangfireJobs() => factory.HangfireJobs();

    private static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    [Fact]
    public async Task A_switchover_without_or_with_a_wrong_typed_name_is_refused_audited_and_nothing_is_queued()
    {
        var (id, name) = await CreateClusterAsync();
        using var op = factory.CreateClientWithToken(await factory.CreateTokenAsync("Operator"));
        var jobsBefore = HangfireJobs();

        var attempts = new List<(string What, HttpContent? Body)>
        {
            ("no body", null),
            ("no confirm field", JsonContent.Create(new { })),
            ("confirm null", JsonContent.Create(new { confirm = (string?)null })),
            ("another name", JsonContent.Create(new { confirm = "prod" })),
            ("upper case", JsonContent.Create(new { confirm = name.ToUpperInvariant() })),
            ("trailing space", JsonContent.Create(new { confirm = name + " " })),
        };
        foreach (var (what, body) in attempts)
        {
            using var response = await op.PostAsync($"/api/clusters/{id}/switchover", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal($"Type the cluster's name ('{name}') to confirm the switchover.", await DetailAsync(response));
        }

        var refused = await AuditAsync(id, "operation.switchover");
        Assert.Equal(attempts.Count, refused.Count);
        Assert.All(refused, e =>
        {
            Assert.Equal("refused", e.GetProperty("result").GetString());
            Assert.Equal("confirmation did not match the cluster name", e.GetProperty("detail").GetString());
            Assert.StartsWith("token:", e.GetProperty("actor").GetString(), StringComparison.Ordinal);
        });

        // Nothing queued: no journal entry, the cluster's lock free, no Hangfire job.
        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Null(await Lock.GetHolderAsync(id, CancellationToken.None));
        Assert.Equal(jobsBefore, HangfireJobs());

        // The right name gets past the typed-name check to the preflight, which refuses for its own reason (nobody
        // answers at these addresses): the refusals above came from the name alone.
        using var right = await op.PostAsJsonAsync($"/api/clusters/{id}/switchover", new { confirm = name });
        Assert.Equal(HttpStatusCode.Conflict, right.StatusCode);
        Assert.StartsWith("The preflight failed: ", await DetailAsync(right), StringComparison.Ordinal);
        Assert.Contains(await AuditAsync(id, "operation.switchover"), e => e.GetProperty("detail").GetString()!.StartsWith("preflight: ", StringComparison.Ordinal));
        Assert.Empty(await Journal.ListByClusterAsync(id, 10, CancellationToken.None));
        Assert.Equal(jobsBefore, HangfireJobs());
    }

    /// <summary>A switchover journaled as the runner leaves one the console stopped during step 3: interrupted, holding the cluster.</summary>
    private async Task<Guid> InterruptedSwitchoverAsync(Guid clusterId, string name)
    {
        var ct = CancellationToken.None;
        var parameters = JsonSerializer.Serialize(new SwitchoverParameters { Confirm = name, From = "pg1", To = "pg2" }, OperationJson.Options);
        var op = await Journal.CreateAsync(clusterId, SwitchoverOperation.Kind, SwitchoverOperation.StepNames, "someone", null, ct);
        await Journal.SetParametersAsync(op.Id, parameters, ct);
        await Lock.AcquireAsync(clusterId, op.Id, ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Running, null, ct);
        for (var step = 1; step <= 2; step++)
        {
            await Journal.SetStepStatusAsync(op.Id, step, StepStatus.Running, null, ct);
            await Journal.SetStepStatusAsync(op.Id, step, StepStatus.Succeeded, "done", ct);
        }

        await Journal.SetStepStatusAsync(op.Id, 3, StepStatus.Running, null, ct);
        await Journal.SetOperationStatusAsync(op.Id, OperationStatus.Interrupted, "Interrupted at step 3: the console stopped.", ct);
        return op.Id;
    }

    [Theory]
    [InlineData("Operator")]
    [InlineData("Admin")]
    public async Task Rolling_back_an_interrupted_switchover_whose_hosts_cannot_be_reached_is_refused_with_the_reason_and_audited(string role)
    {
        var (clusterId, name) = await CreateClusterAsync();
        var id = await InterruptedSwitchoverAsync(clusterId, name);
        using var viewer = factory.CreateClientWithToken(await factory.CreateTokenAsync("Viewer"));
        using (var denied = await viewer.PostAsync($"/api/operations/{id}/rollback", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync(role));
        using var response = await client.PostAsync($"/api/operations/{id}/rollback", null);

        // The rollback must know whether pg2 was promoted before it restarts pg1 as the primary; it cannot ask pg2.
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{response.StatusCode}: {body}");
        var detail = await DetailAsync(response);
        Assert.Contains("pg2", detail, StringComparison.Ordinal);
        Assert.Contains("No SSH host key is pinned", detail, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", detail, StringComparison.Ordinal);

        var audit = Assert.Single(await AuditAsync(clusterId, "operation.switchover.rollback"));
        Assert.Equal("refused", audit.GetProperty("result").GetString());
        Assert.Equal(detail, audit.GetProperty("detail").GetString());

        // The switchover is still interrupted (resume or rollback stay possible) and still holds the cluster.
        Assert.Equal(OperationStatus.Interrupted, (await Journal.GetAsync(id, CancellationToken.None))!.Status);
        Assert.Equal(id, await Lock.GetHolderAsync(clusterId, CancellationToken.None));
    }

    [Fact]
    public async Task Rollback_refuses_what_is_not_an_unfinished_switchover_and_a_cluster_another_operation_holds()
    {
        var ct = CancellationToken.None;
        var (clusterId, name) = await CreateClusterAsync();
        using var client = factory.CreateClientWithToken(await factory.CreateTokenAsync("Operator"));

        using (var unknown = await client.PostAsync($"/api/operations/{Guid.NewGuid()}/rollback", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        var setup = await Journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "someone", null, ct);
        await Journal.SetOperationStatusAsync(setup.Id, OperationStatus.Failed, "Step 1 failed", ct);
        using (var notSwitchover = await client.PostAsync($"/api/operations/{setup.Id}/rollback", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, notSwitchover.StatusCode);
            Assert.Equal("Only a switchover can be rolled back; this is a setup (resume it instead).", await DetailAsync(notSwitchover));
        }

        var done = await Journal.CreateAsync(clusterId, SwitchoverOperation.Kind, SwitchoverOperation.StepNames, "someone", null, ct);
        await Journal.SetOperationStatusAsync(done.Id, OperationStatus.Succeeded, null, ct);
        using (var finished = await client.PostAsync($"/api/operations/{done.Id}/rollback", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, finished.StatusCode);
            Assert.Equal("The operation is succeeded: only an interrupted or failed switchover can be rolled back.", await DetailAsync(finished));
        }

        // A failed switchover while another operation holds the cluster: busy, naming the holder; nothing taken.
        var failed = await Journal.CreateAsync(clusterId, SwitchoverOperation.Kind, SwitchoverOperation.StepNames, "someone", null, ct);
        await Journal.SetParametersAsync(failed.Id, JsonSerializer.Serialize(new SwitchoverParameters { Confirm = name, From = "pg1", To = "pg2" }, OperationJson.Options), ct);
        await Journal.SetOperationStatusAsync(failed.Id, OperationStatus.Failed, "Step 4 failed", ct);
        var holder = await Journal.CreateAsync(clusterId, SetupOperation.Kind, SetupOperation.StepNames, "someone-else", null, ct);
        await Journal.SetOperationStatusAsync(holder.Id, OperationStatus.Running, null, ct);
        await Lock.AcquireAsync(clusterId, holder.Id, ct);
        try
        {
            using var busy = await client.PostAsync($"/api/operations/{failed.Id}/rollback", null);
            Assert.Equal(HttpStatusCode.Conflict, busy.StatusCode);
            var detail = await DetailAsync(busy);
            Assert.Contains("The cluster is busy", detail, StringComparison.Ordinal);
            Assert.Contains(holder.Id.ToString(), detail, StringComparison.Ordinal);
            Assert.Equal(holder.Id, await Lock.GetHolderAsync(clusterId, ct));
            Assert.Equal(OperationStatus.Failed, (await Journal.GetAsync(failed.Id, ct))!.Status);
        }
        finally
        {
            await Lock.ReleaseAsync(clusterId, holder.Id, ct);
        }

        // The cluster free again, the failed switchover's hosts unreachable: refused with the reason, and the lock the
        // rollback took for it given back (a failed switchover does not hold the cluster, a refused rollback must not either).
        using (var unreachable = await client.PostAsync($"/api/operations/{failed.Id}/rollback", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, unreachable.StatusCode);
            Assert.StartsWith("Cannot roll back: pg2 cannot be inspected (No SSH host key is pinned", await DetailAsync(unreachable), StringComparison.Ordinal);
        }

        Assert.Null(await Lock.GetHolderAsync(clusterId, ct));
        Assert.Equal(OperationStatus.Failed, (await Journal.GetAsync(failed.Id, ct))!.Status);

        var audit = await AuditAsync(clusterId, "operation.switchover.rollback");
        Assert.Equal(3, audit.Count(e => e.GetProperty("result").GetString() == "refused"));
        Assert.Single(await AuditAsync(clusterId, "operation.setup.rollback"));
    }
}
