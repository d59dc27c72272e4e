using System.Text.RegularExpressions;
using Dapper;

namespace PgHaConsole.Infrastructure.Store;

/// <summary>Host-key pinning: the key a node must present (pinned), and the one it presented last (pending, for the operator to confirm).</summary>
public sealed partial class ClusterRepository
{
    public async Task PinHostKeyAsync(Guid nodeId, string sha256, CancellationToken ct)
    {
        CheckFingerprint(sha256);
        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE nodes SET host_key_sha256 = @Key, pending_host_key_sha256 = NULL WHERE id = @Id",
            new { Id = nodeId, Key = sha256 },
            cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException("node", nodeId);
        }
    }

    public async Task SetPendingHostKeyAsync(Guid nodeId, string? sha256, CancellationToken ct)
    {
        if (sha256 is not null)
        {
            CheckFingerprint(sha256);
        }

        await using var connection = await _factory.OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE nodes SET pending_host_key_sha256 = @Key WHERE id = @Id",
            new { Id = nodeId, Key = sha256 },
            cancellationToken: ct));
        if (changed == 0)
        {
            throw new EntityNotFoundException("node", nodeId);
        }
    }

    // 32 bytes in unpadded base64 are 43 characters.
    [GeneratedRegex("^[A-Za-z0-9+/]{43}$")]
    private static partial Regex FingerprintPattern();

    private static void CheckFingerprint(string sha256)
    {
        if (!FingerprintPattern().IsMatch(sha256))
        {
            throw new ArgumentException(
                "A host key fingerprint is the unpadded base64 SHA-256 (43 characters, without the 'SHA256:' prefix).",
                nameof(sha256));
        }
    }
}
