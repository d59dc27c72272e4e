using System.Text;
using PgHaConsole.Infrastructure.Identity;
using PgHaConsole.Infrastructure.Store;

namespace PgHaConsole.IntegrationTests.Store;

public abstract class ApiTokenRepositoryTests(IStoreHarness harness) : StoreTestBase(harness)
{
    private IApiTokenRepository Tokens => Get<IApiTokenRepository>();

    [Fact]
    public async Task Created_token_is_random_prefixed_and_stored_only_as_its_hash()
    {
        var created = await Tokens.CreateAsync("ci", ConsoleRoles.Operator, "alice", Ct);
        var other = await Tokens.CreateAsync("ci-2", ConsoleRoles.Viewer, "alice", Ct);

        Assert.StartsWith("phc_", created.Token, StringComparison.Ordinal);
        // 32 bytes in base64url without padding: 43 characters.
        Assert.Equal(4 + 43, created.Token.Length);
        Assert.Matches("^phc_[A-Za-z0-9_-]{43}$", created.Token);
        Assert.NotEqual(created.Token, other.Token);
        Assert.Equal(created.Token[..8], created.Record.Prefix);
        Assert.Equal(ConsoleRoles.Operator, created.Record.Role);

        var expectedHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(created.Token)));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM api_tokens WHERE token_hash = @H", new { H = expectedHash }));
        var raw = Encoding.UTF8.GetString(await Harness.DumpRawAsync(Ct));
        Assert.DoesNotContain(created.Token, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Token[8..], raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_finds_active_tokens_and_revoke_stops_them()
    {
        var created = await Tokens.CreateAsync("deploy", ConsoleRoles.Admin, "root-admin", Ct);

        var found = await Tokens.FindActiveByTokenAsync(created.Token, Ct);
        Assert.Equal(created.Record, found);
        Assert.Null(await Tokens.FindActiveByTokenAsync(created.Token + "x", Ct));
        Assert.Null(await Tokens.FindActiveByTokenAsync("", Ct));

        Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(await Tokens.RevokeAsync(created.Record.Id, Ct));
        Assert.False(await Tokens.RevokeAsync(created.Record.Id, Ct));

        Assert.Null(await Tokens.FindActiveByTokenAsync(created.Token, Ct));
        var listed = Assert.Single(await Tokens.ListAsync(Ct));
        Assert.False(listed.IsActive);
        Assert.Equal(Start.AddSeconds(30).ToUnixTimeMilliseconds(), listed.RevokedAt!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Touch_records_use_at_most_once_a_minute()
    {
        var created = await Tokens.CreateAsync("probe", ConsoleRoles.Viewer, "bob", Ct);
        Assert.Null(created.Record.LastUsedAt);

        await Tokens.TouchAsync(created.Record.Id, Ct);
        var first = (await Tokens.FindActiveByTokenAsync(created.Token, Ct))!.LastUsedAt;
        Time.Advance(TimeSpan.FromSeconds(20));
        await Tokens.TouchAsync(created.Record.Id, Ct);
        var throttled = (await Tokens.FindActiveByTokenAsync(created.Token, Ct))!.LastUsedAt;
        Time.Advance(TimeSpan.FromSeconds(50));
        await Tokens.TouchAsync(created.Record.Id, Ct);
        var later = (await Tokens.FindActiveByTokenAsync(created.Token, Ct))!.LastUsedAt;

        Assert.Equal(Start.ToUnixTimeMilliseconds(), first!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(first, throttled);
        Assert.Equal(Start.AddSeconds(70).ToUnixTimeMilliseconds(), later!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Imported_bootstrap_token_works_and_is_hashed()
    {
        const string Chosen = "bootstrap-token-value-1234";

        var record = await Tokens.ImportAsync(Chosen, "bootstrap", ConsoleRoles.Admin, "bootstrap", Ct);

        Assert.Equal(record, await Tokens.FindActiveByTokenAsync(Chosen, Ct));
        Assert.Equal("bootstra", record.Prefix);
        await Assert.ThrowsAsync<NameAlreadyExistsException>(() => Tokens.ImportAsync(Chosen, "again", ConsoleRoles.Admin, "bootstrap", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Tokens.ImportAsync("short", "x", ConsoleRoles.Admin, "bootstrap", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Tokens.CreateAsync("x", "Root", "bootstrap", Ct));
        Assert.DoesNotContain(Chosen, Encoding.UTF8.GetString(await Harness.DumpRawAsync(Ct)), StringComparison.Ordinal);
    }
}

public sealed class ApiTokenRepositorySqliteTests() : ApiTokenRepositoryTests(new SqliteStoreHarness());

[Collection(StorePostgresCollection.Name)]
public sealed class ApiTokenRepositoryPostgresTests(StorePostgresFixture server) : ApiTokenRepositoryTests(new PostgresStoreHarness(server));
