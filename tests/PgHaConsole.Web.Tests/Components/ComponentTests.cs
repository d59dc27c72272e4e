using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;
using PgHaConsole.Infrastructure.Hosts;
using PgHaConsole.Infrastructure.Ssh;
using PgHaConsole.Web.Components.Controls;
using PgHaConsole.Web.Components.Layout;
using PgHaConsole.Web.Services;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Tests.Components;

/// <summary>bUnit: the panels render what they are given, errors at the field, loud host-key mismatches.</summary>
public sealed class ComponentTests
{
    /// <summary>MudBlazor's services are only IAsyncDisposable: each test disposes its context asynchronously.</summary>
    private static BunitContext NewContext()
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Render<MudPopoverProvider>();
        return ctx;
    }

    [Fact]
    public async Task Navigation_lists_every_area()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<NavMenu>();
        var text = cut.Find("[data-testid=main-nav]").TextContent;
        foreach (var item in new[] { "Clusters", "Topology", "Setup", "Operations", "History", "Audit", "Settings" })
        {
            Assert.Contains(item, text, StringComparison.Ordinal);
        }

        Assert.Equal(7, cut.FindAll("a").Count);
    }

    [Fact]
    public async Task Cluster_form_shows_each_server_error_at_its_field()
    {
        await using var ctx = NewContext();
        var errors = new Dictionary<string, string>
        {
            ["node1.address"] = "'10.91.4.300' is not an IPv4 address",
            ["vrrp.password"] = "at most 8 characters",
        };
        var cut = ctx.Render<ClusterForm>(p => p
            .Add(x => x.Input, new ClusterInput())
            .Add(x => x.Errors, errors)
            .Add(x => x.IsNew, true));

        Assert.Contains("'10.91.4.300' is not an IPv4 address", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("at most 8 characters", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("Nothing was saved", cut.Find("[data-testid=form-errors]").TextContent, StringComparison.Ordinal);
        // The node 1 address field itself is marked in error.
        var addressField = cut.Find("[data-testid=field-node1-address]").Closest(".mud-input-control");
        Assert.Contains("mud-input-error", addressField!.InnerHtml + addressField.ClassName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cluster_form_read_only_has_no_save_button()
    {
        await using var ctx = NewContext();
        var cut = ctx.Render<ClusterForm>(p => p.Add(x => x.Input, new ClusterInput()).Add(x => x.ReadOnly, true));
        Assert.Empty(cut.FindAll("[data-testid=save-cluster]"));
    }

    [Fact]
    public async Task Cluster_form_editable_has_a_save_button()
    {
        // The positive counterpart: without it the test above would pass for a form that never shows the button.
        await using var ctx = NewContext();
        var cut = ctx.Render<ClusterForm>(p => p.Add(x => x.Input, new ClusterInput()).Add(x => x.ReadOnly, false).Add(x => x.IsNew, true));
        Assert.Single(cut.FindAll("[data-testid=save-cluster]"));
    }

    [Theory]
    [InlineData("10.91.4.251", null)]
    [InlineData("10.91.4.300", "Not an IPv4 address (e.g. 10.91.4.251)")]
    [InlineData("10.91.4", "Not an IPv4 address (e.g. 10.91.4.251)")]
    [InlineData("", "Required")]
    public void Address_fields_validate_while_typing(string value, string? expected) =>
        Assert.Equal(expected, ClusterForm.Ipv4(value));

    [Fact]
    public async Task Host_key_mismatch_is_loud_and_offers_confirmation()
    {
        await using var ctx = NewContext();
        var node = new NodeConnectionResult(Guid.NewGuid(), "pg1", "198.18.4.247", NodeConnectionStatus.HostKeyMismatch,
            "NEWkeyNEWkeyNEWkeyNEWkeyNEWkeyNEWkeyNEWkey1", "OLDkeyOLDkeyOLDkeyOLDkeyOLDkeyOLDkeyOLDkey1", "refused", null);
        var cut = ctx.Render<NodeConnectionCard>(p => p.Add(x => x.Node, node));
        var alert = cut.Find("[data-testid=host-key-mismatch]").TextContent;
        Assert.Contains("possible interception", alert, StringComparison.Ordinal);
        Assert.Contains("OLDkeyOLDkey", alert, StringComparison.Ordinal);
        Assert.Contains("NEWkeyNEWkey", alert, StringComparison.Ordinal);
        Assert.Single(cut.FindAll("[data-testid=confirm-host-key]"));
        Assert.Contains("HOST KEY MISMATCH", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connected_node_shows_what_the_host_has()
    {
        await using var ctx = NewContext();
        var info = new HostInfo
        {
            Node = "pg1",
            LoginUser = "root",
            IsRoot = true,
            OsPrettyName = "Debian GNU/Linux 12 (bookworm)",
            Hostname = "pg1",
            PostgresInstalls = [new PostgresInstall("/usr/lib/postgresql/15/bin", 15, "postgres (PostgreSQL) 15.18")],
            Postmasters = [new RunningPostmaster(4242, "/data10/pgdata", null)],
            Keepalived = new ToolInfo(true, "/usr/sbin/keepalived", "2.2.7"),
            Haproxy = new ToolInfo(true, "/usr/sbin/haproxy", "2.6.12"),
            Ipvsadm = new ToolInfo(false, null, null),
            IpvsUsable = false,
            IpvsDetail = "Protocol not available",
            HostKey = new HostKeyInfo("KEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkey1", "ssh-ed25519", 256),
        };
        var node = new NodeConnectionResult(Guid.NewGuid(), "pg1", "198.18.4.247", NodeConnectionStatus.Ok,
            info.HostKey.Sha256, info.HostKey.Sha256, null, info);
        var cut = ctx.Render<NodeConnectionCard>(p => p.Add(x => x.Node, node));
        Assert.Equal("SHA256:KEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkeyKEYkey1", cut.Find("[data-testid=fingerprint]").TextContent.Trim());
        Assert.Contains("pid 4242 on /data10/pgdata", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("not installed", cut.Markup, StringComparison.Ordinal); // ipvsadm
        Assert.Contains("Protocol not available", cut.Markup, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=confirm-host-key]"));
    }
}
