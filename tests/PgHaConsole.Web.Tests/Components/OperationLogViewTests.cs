using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using PgHaConsole.Core.Operations;
using PgHaConsole.Web.Components.Controls.Operations;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>The operation log: chunks that never re-render once full, and the host filter.</summary>
public sealed class OperationLogViewTests
{
    private static BunitContext NewContext()
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Render<MudPopoverProvider>();
        return ctx;
    }

    private static List<OperationLogLine> Log(int count) =>
        [.. Enumerable.Range(1, count).Select(i => new OperationLogLine(i, DateTimeOffset.UnixEpoch.AddSeconds(i), 1, (i % 3) switch { 0 => null, 1 => "pg1", _ => "pg2" },
            i % 7 == 0 ? LogStream.Stderr : LogStream.Stdout, "line " + i))];

    [Fact]
    public void Chunks_are_full_except_the_last_and_follow_the_filter()
    {
        var chunks = OperationLogChunks.Of(Log(250), null);
        Assert.Equal([true, true, false], chunks.Select(c => c.Full));
        Assert.Equal(250, chunks.Sum(c => c.Lines.Count));
        Assert.Equal(["*:0", "*:1", "*:2"], chunks.Select(c => c.Key));

        var pg1 = OperationLogChunks.Of(Log(250), "pg1");
        Assert.All(pg1.SelectMany(c => c.Lines), l => Assert.Equal("pg1", l.Host));
        Assert.Equal(84, pg1.Sum(c => c.Lines.Count));
        Assert.StartsWith("pg1:", pg1[0].Key, StringComparison.Ordinal);
        Assert.Equal(["pg1", "pg2", "console"], OperationLogChunks.HostsOf(Log(5)));
        Assert.Empty(OperationLogChunks.Of([], null));
    }

    [Fact]
    public void Full_chunks_of_the_previous_render_are_reused_and_a_changed_one_is_not()
    {
        var first = OperationLogChunks.Of(Log(250), null, []);
        var grown = OperationLogChunks.Of(Log(320), null, first);
        Assert.Same(first[0], grown[0]);
        Assert.Same(first[1], grown[1]);
        Assert.NotSame(first[2], grown[2]);
        Assert.Equal(Enumerable.Range(1, 320).Select(i => (long)i), grown.SelectMany(c => c.Lines).Select(l => l.Seq));

        // The window moved (the oldest lines dropped): nothing stale is reused.
        var moved = OperationLogChunks.Of(Log(320).Skip(10).ToList(), null, grown);
        Assert.All(moved.Zip(grown), p => Assert.NotSame(p.Second, p.First));
        Assert.Equal(11, moved[0].Lines[0].Seq);

        // Another filter: its own chunks.
        var pg1 = OperationLogChunks.Of(Log(320), "pg1", grown);
        Assert.All(pg1.SelectMany(c => c.Lines), l => Assert.Equal("pg1", l.Host));
    }

    [Fact]
    public async Task When_the_oldest_lines_drop_out_the_full_chunks_show_the_new_window()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<OperationLogView>(p => p.Add(x => x.Lines, Log(250)));
        cut.Render(p => p.Add(x => x.Lines, Log(260).Skip(10).ToList()));
        var lines = cut.FindAll("[data-testid=log-line]");
        Assert.Equal(250, lines.Count);
        Assert.Equal("line 11", lines[0].TextContent.Split(']')[^1].Trim());
        Assert.Equal("line 260", lines[^1].TextContent.Split(']')[^1].Trim());
    }

    [Fact]
    public async Task A_growing_log_renders_only_its_last_chunk_again()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<OperationLogView>(p => p.Add(x => x.Lines, Log(250)));
        Assert.Equal(250, cut.FindAll("[data-testid=log-line]").Count);
        var first = cut.FindComponents<OperationLogChunk>()[0].Instance;
        var rendersBefore = first.Renders;

        cut.Render(p => p.Add(x => x.Lines, Log(260)));
        cut.Render(p => p.Add(x => x.Lines, Log(301)));

        Assert.Equal(301, cut.FindAll("[data-testid=log-line]").Count);
        Assert.Equal(rendersBefore, first.Renders);
        Assert.Equal("line 301", cut.FindAll("[data-testid=log-line]")[^1].TextContent.Split(']')[^1].Trim());
        Assert.Equal(4, cut.FindComponents<OperationLogChunk>().Count);
    }

    [Fact]
    public async Task The_host_filter_shows_one_hosts_lines_and_toggles_back()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<OperationLogView>(p => p.Add(x => x.Lines, Log(30)));
        Assert.Equal(30, cut.FindAll("[data-testid=log-line]").Count);

        cut.Find("[data-testid=log-host-pg2] .mud-chip-content, [data-testid=log-host-pg2]").Click();
        cut.WaitForAssertion(() => Assert.All(cut.FindAll("[data-testid=log-line]"), l => Assert.Equal("pg2", l.GetAttribute("data-host"))));
        Assert.Equal(10, cut.FindAll("[data-testid=log-line]").Count);

        cut.Find("[data-testid=log-host-pg2] .mud-chip-content, [data-testid=log-host-pg2]").Click();
        cut.WaitForAssertion(() => Assert.Equal(30, cut.FindAll("[data-testid=log-line]").Count));
    }
}
