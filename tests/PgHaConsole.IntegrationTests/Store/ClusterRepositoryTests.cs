using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class ClusterRepositoryTests(IStoreHarness harness) : StoreTestBase(harness)
{
    private IClusterRepository Clusters => Get<IClusterRepository>();

    [Fact]
    public async Task Add_then_get_round_trips_every_field()
    {
        var spec = NewCluster();
        var secrets = NewClusterSecrets();
        var nodeSecrets = NewNodeSecrets(spec);

        var added = await Clusters.AddAsync(spec, secrets, nodeSecrets, Ct);
        var read = await Clusters.GetAsync(spec.Id, Ct);

        Assert.NotNull(read);
        // Records compare by value, nested records included (Node1, Node2, Vrrp, Postgres).
        Assert.Equal(spec, read.Spec);
        Assert.Equal(spec.Vrrp, read.Spec.Vrrp);
        Assert.Equal(spec.Postgres, read.Spec.Postgres);
        Assert.Equal(spec.Node1, read.Spec.Node1);
        Assert.Equal(spec.Node2, read.Spec.Node2);
        Assert.Equal(1, read.RowVersion);
        Assert.Equal(Start.ToUnixTimeMilliseconds(), read.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
        Assert.Equal(read.CreatedAt, read.UpdatedAt);
        Assert.Equal(new ClusterSecretsPresence(true, true, true), read.Secrets);
        Assert.Equal(new StoredNodeState(spec.Node1.Id, null, true, true, false), read.Nodes[spec.Node1.Id]);
        Assert.Equal(new StoredNodeState(spec.Node2.Id, null, false, false, true), read.Nodes[spec.Node2.Id]);
        Assert.Equal(read.Spec, added.Spec);

        Assert.Equal(secrets, await Clusters.GetClusterSecretsAsync(spec.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node1.Id], await Clusters.GetNodeSecretsAsync(spec.Node1.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node2.Id], await Clusters.GetNodeSecretsAsync(spec.Node2.Id, Ct));
    }

    [Fact]
    public async Task List_and_find_by_name_are_case_insensitive_on_the_name()
    {
        var b = NewCluster("beta");
        var a = NewCluster("Alpha");
        await Clusters.AddAsync(b, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);
        await Clusters.AddAsync(a, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);

        var all = await Clusters.ListAsync(Ct);

        Assert.Equal(["Alpha", "beta"], all.Select(c => c.Spec.Name));
        Assert.Equal(a.Id, (await Clusters.FindByNameAsync("ALPHA", Ct))?.Spec.Id);
        Assert.Null(await Clusters.FindByNameAsync("gamma", Ct));
        Assert.Null(await Clusters.GetAsync(Guid.NewGuid(), Ct));
        Assert.Equal(new ClusterSecretsPresence(false, false, false), all[0].Secrets);
    }

    [Fact]
    public async Task Duplicate_name_throws_domain_exception_and_saves_nothing()
    {
        await Clusters.AddAsync(NewCluster("prod"), NewClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);
        var nodesBefore = await ScalarAsync("SELECT COUNT(*) FROM nodes");
        var secretsBefore = await ScalarAsync("SELECT COUNT(*) FROM secrets");
        var clash = NewCluster("PROD");

        var ex = await Assert.ThrowsAsync<NameAlreadyExistsException>(
            () => Clusters.AddAsync(clash, NewClusterSecrets(), NewNodeSecrets(clash), Ct));

        Assert.Equal("PROD", ex.Name);
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM clusters"));
        Assert.Equal(nodesBefore, await ScalarAsync("SELECT COUNT(*) FROM nodes"));
        Assert.Equal(secretsBefore, await ScalarAsync("SELECT COUNT(*) FROM secrets"));
        Assert.Null(await Clusters.GetNodeSecretsAsync(clash.Node1.Id, Ct));
    }

    [Fact]
    public async Task Rename_to_a_taken_name_throws_and_changes_nothing()
    {
        await Clusters.AddAsync(NewCluster("one"), new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);
        var two = NewCluster("two");
        await Clusters.AddAsync(two, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);

        await Assert.ThrowsAsync<NameAlreadyExistsException>(
            () => Clusters.UpdateAsync(two with { Name = "One", WriteVip = "198.18.4.150" }, null, null, null, Ct));

        var read = await Clusters.GetAsync(two.Id, Ct);
        Assert.Equal("two", read!.Spec.Name);
        Assert.Equal(two.WriteVip, read.Spec.WriteVip);
        Assert.Equal(1, read.RowVersion);
    }

    [Fact]
    public async Task Update_with_null_secrets_keeps_them_and_bumps_the_version()
    {
        var spec = NewCluster();
        var secrets = NewClusterSecrets();
        var nodeSecrets = NewNodeSecrets(spec);
        await Clusters.AddAsync(spec, secrets, nodeSecrets, Ct);
        Time.Advance(TimeSpan.FromMinutes(5));

        var changed = spec with
        {
            ReadVip = "198.18.4.102",
            Balancer = BalancerMode.Haproxy,
            Node2 = spec.Node2 with { Address = "198.18.4.13", SshUser = "ops" },
            Postgres = spec.Postgres with { MajorVersion = 17, ServiceControl = ServiceControl.PgCtl, SystemdUnit = null },
        };
        var updated = await Clusters.UpdateAsync(changed, null, null, expectedRowVersion: 1, Ct);

        Assert.Equal(changed, updated.Spec);
        Assert.Equal(2, updated.RowVersion);
        Assert.Equal(Start.AddMinutes(5).ToUnixTimeMilliseconds(), updated.UpdatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(Start.ToUnixTimeMilliseconds(), updated.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(secrets, await Clusters.GetClusterSecretsAsync(spec.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node1.Id], await Clusters.GetNodeSecretsAsync(spec.Node1.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node2.Id], await Clusters.GetNodeSecretsAsync(spec.Node2.Id, Ct));
    }

    [Fact]
    public async Task Update_replaces_only_the_secrets_given()
    {
        var spec = NewCluster();
        var nodeSecrets = NewNodeSecrets(spec);
        await Clusters.AddAsync(spec, NewClusterSecrets(), nodeSecrets, Ct);

        var newClusterSecrets = new ClusterSecrets { ReplicationPassword = "new-repl-secret" };
        var newNode2 = new NodeSecrets { PrivateKey = "new-key-material" };
        var updated = await Clusters.UpdateAsync(
            spec with { Node2 = spec.Node2 with { AuthKind = SshAuthKind.PrivateKey } },
            newClusterSecrets,
            new Dictionary<Guid, NodeSecrets> { [spec.Node2.Id] = newNode2 },
            null,
            Ct);

        Assert.Equal(newClusterSecrets, await Clusters.GetClusterSecretsAsync(spec.Id, Ct));
        Assert.Equal(new ClusterSecretsPresence(true, false, false), updated.Secrets);
        Assert.Equal(newNode2, await Clusters.GetNodeSecretsAsync(spec.Node2.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node1.Id], await Clusters.GetNodeSecretsAsync(spec.Node1.Id, Ct));
    }

    [Fact]
    public async Task Update_with_a_stale_version_is_refused_and_changes_nothing()
    {
        var spec = NewCluster();
        await Clusters.AddAsync(spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);
        await Clusters.UpdateAsync(spec with { WriteVip = "198.18.4.110" }, null, null, 1, Ct);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(
            () => Clusters.UpdateAsync(spec with { WriteVip = "198.18.4.120" }, null, null, 1, Ct));
        await Assert.ThrowsAsync<EntityNotFoundException>(
            () => Clusters.UpdateAsync(NewCluster("ghost"), null, null, null, Ct));

        var read = await Clusters.GetAsync(spec.Id, Ct);
        Assert.Equal("198.18.4.110", read!.Spec.WriteVip);
        Assert.Equal(2, read.RowVersion);
    }

    [Fact]
    public async Task Update_that_replaces_a_node_removes_the_old_node_and_its_secrets()
    {
        var spec = NewCluster();
        await Clusters.AddAsync(spec, new ClusterSecrets(), NewNodeSecrets(spec), Ct);
        var replacement = new NodeSpec { Name = "pg3", Address = "198.18.4.13" };

        var updated = await Clusters.UpdateAsync(
            spec with { Node2 = replacement },
            null,
            new Dictionary<Guid, NodeSecrets> { [replacement.Id] = new() { Password = "pg3-password" } },
            null,
            Ct);

        Assert.Equal(replacement, updated.Spec.Node2);
        Assert.Null(await Clusters.GetNodeSecretsAsync(spec.Node2.Id, Ct));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM secrets WHERE owner_id = @Id", new { spec.Node2.Id }));
        Assert.Equal("pg3-password", (await Clusters.GetNodeSecretsAsync(replacement.Id, Ct))!.Password);
        Assert.Equal(2, await ScalarAsync("SELECT COUNT(*) FROM nodes"));
    }

    [Fact]
    public async Task Update_can_swap_the_two_nodes()
    {
        var spec = NewCluster();
        await Clusters.AddAsync(spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);

        var updated = await Clusters.UpdateAsync(spec with { Node1 = spec.Node2, Node2 = spec.Node1 }, null, null, null, Ct);

        Assert.Equal(spec.Node2.Id, updated.Spec.Node1.Id);
        Assert.Equal(spec.Node1.Id, updated.Spec.Node2.Id);
    }

    [Fact]
    public async Task Delete_cascades_nodes_and_secrets()
    {
        var keep = NewCluster("keep");
        await Clusters.AddAsync(keep, NewClusterSecrets(), NewNodeSecrets(keep), Ct);
        var gone = NewCluster("gone");
        await Clusters.AddAsync(gone, NewClusterSecrets(), NewNodeSecrets(gone), Ct);

        Assert.True(await Clusters.DeleteAsync(gone.Id, Ct));
        Assert.False(await Clusters.DeleteAsync(gone.Id, Ct));

        Assert.Null(await Clusters.GetAsync(gone.Id, Ct));
        Assert.Null(await Clusters.GetClusterSecretsAsync(gone.Id, Ct));
        Assert.Null(await Clusters.GetNodeSecretsAsync(gone.Node1.Id, Ct));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM nodes WHERE cluster_id = @Id", new { gone.Id }));
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM secrets WHERE cluster_id = @Id", new { gone.Id }));
        // The other cluster is untouched: 3 cluster secrets + 2 for node 1 + 1 for node 2.
        Assert.Equal(2, await ScalarAsync("SELECT COUNT(*) FROM nodes"));
        Assert.Equal(6, await ScalarAsync("SELECT COUNT(*) FROM secrets"));
    }

    [Fact]
    public async Task Host_key_pending_then_pinned()
    {
        var spec = NewCluster();
        await Clusters.AddAsync(spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets>(), Ct);
        var seen = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("host-key-blob"u8)).TrimEnd('=');

        await Clusters.SetPendingHostKeyAsync(spec.Node2.Id, seen, Ct);
        var pending = await Clusters.GetAsync(spec.Id, Ct);
        Assert.Equal(seen, pending!.Nodes[spec.Node2.Id].PendingHostKeySha256);
        Assert.Null(pending.Spec.Node2.HostKeySha256);

        await Clusters.PinHostKeyAsync(spec.Node2.Id, seen, Ct);
        var pinned = await Clusters.GetAsync(spec.Id, Ct);
        Assert.Equal(seen, pinned!.Spec.Node2.HostKeySha256);
        Assert.Null(pinned.Nodes[spec.Node2.Id].PendingHostKeySha256);
        Assert.Equal(spec.Node1.HostKeySha256, pinned.Spec.Node1.HostKeySha256);

        // An edit of the spec never moves a pin: only PinHostKeyAsync does.
        await Clusters.UpdateAsync(pinned.Spec with { Node2 = pinned.Spec.Node2 with { HostKeySha256 = null } }, null, null, null, Ct);
        Assert.Equal(seen, (await Clusters.GetAsync(spec.Id, Ct))!.Spec.Node2.HostKeySha256);

        await Assert.ThrowsAsync<ArgumentException>(() => Clusters.PinHostKeyAsync(spec.Node2.Id, "SHA256:" + seen, Ct));
        await Assert.ThrowsAsync<EntityNotFoundException>(() => Clusters.PinHostKeyAsync(Guid.NewGuid(), seen, Ct));
    }

    [Fact]
    public async Task Secrets_for_a_node_outside_the_cluster_are_refused_before_anything_is_written()
    {
        var spec = NewCluster();

        await Assert.ThrowsAsync<ArgumentException>(() => Clusters.AddAsync(
            spec, new ClusterSecrets(), new Dictionary<Guid, NodeSecrets> { [Guid.NewGuid()] = new() { Password = "x" } }, Ct));

        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM clusters"));
    }

    [Fact]
    public async Task Client_networks_are_stored_with_the_cluster_canonical_and_kept_by_updates()
    {
        var spec = NewCluster();
        await Clusters.AddAsync(spec, NewClusterSecrets(), NewNodeSecrets(spec), Ct);
        Assert.Empty((await Clusters.GetAsync(spec.Id, Ct))!.Spec.ClientCidrs);

        var stored = await Clusters.SetClientCidrsAsync(spec.Id, [" 10.20.0.0/16", "2001:DB8::/32"], Ct);
        Assert.Equal(["10.20.0.0/16", "2001:db8::/32"], stored.Spec.ClientCidrs);
        Assert.Equal(2, stored.RowVersion);

        // The cluster form's update does not carry them and does not drop them.
        var updated = await Clusters.UpdateAsync(spec with { WriteVip = "198.18.4.61" }, null, null, stored.RowVersion, Ct);
        Assert.Equal(["10.20.0.0/16", "2001:db8::/32"], updated.Spec.ClientCidrs);
        Assert.Equal(["10.20.0.0/16", "2001:db8::/32"], (await Clusters.ListAsync(Ct)).Single().Spec.ClientCidrs);

        Assert.Empty((await Clusters.SetClientCidrsAsync(spec.Id, [], Ct)).Spec.ClientCidrs);
        await Assert.ThrowsAsync<ArgumentException>(() => Clusters.SetClientCidrsAsync(spec.Id, ["10.20.0.0/16 trust"], Ct));
        await Assert.ThrowsAsync<EntityNotFoundException>(() => Clusters.SetClientCidrsAsync(Guid.NewGuid(), ["10.20.0.0/16"], Ct));
    }
}


public sealed class ClusterRepositorySqliteTests() : ClusterRepositoryTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class ClusterRepositoryPostgresTests(StorePostgresFixture server) : ClusterRepositoryTests(new PostgresStoreHarness(server));
