using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using PgHaConsole.Core.Model;
using PgHaConsole.Infrastructure.Secrets;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class SecretsAtRestTests(IStoreHarness harness) : StoreTestBase(harness)
{
    [Fact]
    public async Task No_secret_is_found_in_clear_anywhere_in_the_store()
    {
        var spec = NewCluster();
        var clusterSecrets = NewClusterSecrets("clear");
        var nodeSecrets = NewNodeSecrets(spec);
        var clusters = Get<IClusterRepository>();
        await clusters.AddAsync(spec, clusterSecrets, nodeSecrets, Ct);
        // An update writes them again (new ciphertexts): search after both.
        var rotated = new ClusterSecrets
        {
            ReplicationPassword = "rotated-repl-" + Guid.NewGuid().ToString("N")[..8],
            MonitorPassword = clusterSecrets.MonitorPassword,
            VrrpPassword = clusterSecrets.VrrpPassword,
            // A rotation under way keeps its new secrets as pending ones: encrypted like the others.
            PendingReplicationPassword = "pending-repl-" + Guid.NewGuid().ToString("N")[..8],
            PendingMonitorPassword = "pending-mon-" + Guid.NewGuid().ToString("N")[..8],
            PendingVrrpPassword = "pV" + Guid.NewGuid().ToString("N")[..6],
        };
        await clusters.UpdateAsync(spec, rotated, nodeSecrets, null, Ct);

        var plaintexts = new[]
        {
            clusterSecrets.ReplicationPassword!,
            rotated.ReplicationPassword,
            rotated.PendingReplicationPassword,
            rotated.PendingMonitorPassword,
            rotated.PendingVrrpPassword,
            clusterSecrets.MonitorPassword!,
            clusterSecrets.VrrpPassword!,
            nodeSecrets[spec.Node1.Id].PrivateKey!,
            nodeSecrets[spec.Node1.Id].PrivateKeyPassphrase!,
            nodeSecrets[spec.Node2.Id].Password!,
        };

        var raw = await Harness.DumpRawAsync(Ct);

        // The dump is real: it holds the cluster's name and a node address.
        Assert.True(Contains(raw, spec.Name) && Contains(raw, spec.Node1.Address), "the raw dump does not hold the cluster's data");
        foreach (var secret in plaintexts)
        {
            Assert.False(Contains(raw, secret), $"a secret of {secret.Length} characters was found in clear in the {Harness.Kind} store");
            // The distinctive middle of the private key, in case a line were stored apart.
            Assert.False(Contains(raw, secret.Length > 40 ? secret[36..^36] : secret), "a part of a secret was found in clear");
        }

        // And what is stored decrypts back to them.
        Assert.Equal(rotated, await clusters.GetClusterSecretsAsync(spec.Id, Ct));
        Assert.Equal(nodeSecrets[spec.Node1.Id], await clusters.GetNodeSecretsAsync(spec.Node1.Id, Ct));
        Assert.Equal(9, await ScalarAsync("SELECT COUNT(*) FROM secrets"));
    }

    [Fact]
    public async Task Stored_value_is_data_protection_ciphertext_bound_to_the_key_ring()
    {
        var spec = NewCluster();
        await Get<IClusterRepository>().AddAsync(spec, new ClusterSecrets { VrrpPassword = "vrrp1234" }, new Dictionary<Guid, NodeSecrets>(), Ct);
        await using var connection = await OpenAsync();
        var stored = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT protected_value FROM secrets", cancellationToken: Ct));

        Assert.NotNull(stored);
        Assert.NotEqual("vrrp1234", stored);
        Assert.Equal("vrrp1234", Get<ISecretProtector>().Unprotect(stored));

        // Another key ring cannot read it, and the error names no secret.
        var otherKeys = Path.Combine(Harness.ScratchDirectory, "other-keys");
        await using var other = new ServiceCollection()
            .AddPgHaConsoleDataProtection(otherKeys)
            .BuildServiceProvider();
        var otherProtector = other.GetRequiredService<ISecretProtector>();
        var ex = Assert.Throws<SecretUnprotectException>(() => otherProtector.Unprotect(stored));
        Assert.DoesNotContain("vrrp1234", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(stored, ex.Message, StringComparison.Ordinal);
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}

public sealed class SecretsAtRestSqliteTests() : SecretsAtRestTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class SecretsAtRestPostgresTests(StorePostgresFixture server) : SecretsAtRestTests(new PostgresStoreHarness(server));
