using System.Security.Cryptography;
using System.Text;
using PgHaConsole.Core.Model;

namespace PgHaConsole.Infrastructure.Ssh;

/// <summary>
/// Everything needed to reach one host over SSH, secrets included (in memory only). <see cref="ToString"/>
/// never prints a secret: records otherwise list every property, and targets end up in log scopes and
/// assertion messages.
/// </summary>
public sealed record SshTarget
{
    /// <summary>Host name or IPv4 address.</summary>
    public required string Host { get; init; }

    public int Port { get; init; } = 22;

    public string User { get; init; } = "root";

    public SshAuthKind AuthKind { get; init; } = SshAuthKind.PrivateKey;

    /// <summary>Private key text (OpenSSH, PEM or PuTTY); takes precedence over <see cref="PrivateKeyPath"/>.</summary>
    public string? PrivateKey { get; init; }

    /// <summary>Path of a private key file on the console's machine (the lab's key, for instance).</summary>
    public string? PrivateKeyPath { get; init; }

    public string? Passphrase { get; init; }

    public string? Password { get; init; }

    /// <summary>Pinned host key SHA-256 fingerprint, unpadded base64; a <c>SHA256:</c> prefix is accepted.</summary>
    public string? HostKeySha256 { get; init; }

    public PrivilegeMode Privilege { get; init; } = PrivilegeMode.Root;

    /// <summary>How long connecting (TCP + key exchange + authentication) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Optional friendly name used in logs and messages (e.g. <c>pg1</c>).</summary>
    public string? Name { get; init; }

    /// <summary><c>user@host:port</c>: the pool keeps one connection per endpoint.</summary>
    public string EndpointKey => $"{User}@{Host}:{Port}";

    /// <summary>What logs and messages call this target.</summary>
    public string DisplayName => Name is null ? EndpointKey : $"{Name} ({EndpointKey})";

    /// <summary>The pin, normalised (no prefix, no padding), or null when none is set.</summary>
    public string? NormalizedPin => HostKeyFingerprint.Normalize(HostKeySha256);

    /// <summary>The secrets this target carries, for masking.</summary>
    public IEnumerable<string?> Secrets => [PrivateKey, Passphrase, Password];

    /// <summary>Builds a target from the inventory's node and its decrypted secrets.</summary>
    public static SshTarget FromNode(NodeSpec node, NodeSecrets? secrets, string? privateKeyPath = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        return new SshTarget
        {
            Name = node.Name,
            Host = node.Address,
            Port = node.SshPort,
            User = node.SshUser,
            AuthKind = node.AuthKind,
            Privilege = node.Privilege,
            HostKeySha256 = node.HostKeySha256,
            PrivateKey = secrets?.PrivateKey,
            PrivateKeyPath = privateKeyPath,
            Passphrase = secrets?.PrivateKeyPassphrase,
            Password = secrets?.Password,
        };
    }

    /// <summary>
    /// A digest of everything that shapes the connection: when an admin edits a node (new key, new pin), the
    /// pool sees a different digest and opens a fresh connection instead of reusing one made with old settings.
    /// </summary>
    internal string ConfigurationDigest()
    {
        // Who connects and how it authenticates; not the connect timeout: callers with different patience (the prober,
        // an operation) share one connection, and replacing it would close it under the other's feet.
        var text = string.Join('\u001f', EndpointKey, AuthKind, PrivateKey, PrivateKeyPath, Passphrase, Password,
            NormalizedPin, Privilege);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public override string ToString() =>
        $"SshTarget {{ {DisplayName}, Auth = {AuthKind}, Privilege = {Privilege}, HostKey = {(NormalizedPin is null ? "not pinned" : "SHA256:" + NormalizedPin)} }}";
}
