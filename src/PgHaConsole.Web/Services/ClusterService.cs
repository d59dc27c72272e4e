using System.Security.Cryptography;
using PgHaConsole.Core.Model;
using PgHaConsole.Core.Validation;
using PgHaConsole.Infrastructure.Instances;
using PgHaConsole.Infrastructure.Store;
using PgHaConsole.Web.ViewModels;

namespace PgHaConsole.Web.Services;

/// <summary>The outcome of a change: the value, or field errors, or "not found". Nothing is saved on errors.</summary>
public sealed record ServiceResult<T>(T? Value, IReadOnlyList<ValidationError> Errors, bool NotFound = false)
{
    public bool Succeeded => !NotFound && Errors.Count == 0;

    public static ServiceResult<T> Ok(T value) => new(value, []);

    public static ServiceResult<T> Invalid(IReadOnlyList<ValidationError> errors) => new(default, errors);

    public static ServiceResult<T> Missing() => new(default, [], NotFound: true);
}

/// <summary>Inventory: validate first, save in one transaction, audit every change.</summary>
public sealed class ClusterService(IClusterRepository clusters, AuditService audit, IClusterLeases? leases = null)
{
    public async Task<IReadOnlyList<ClusterSpec>> ListAsync(CancellationToken ct) =>
        (await clusters.ListAsync(ct)).Select(c => c.Spec).ToList();

    public async Task<ClusterSpec?> GetAsync(Guid id, CancellationToken ct) => (await clusters.GetAsync(id, ct))?.Spec;

    public async Task<ServiceResult<ClusterSpec>> CreateAsync(ClusterInput input, string actor, CancellationToken ct)
    {
        var spec = input.ToSpec(existing: null);
        var secrets = new ClusterSecrets
        {
            ReplicationPassword = string.IsNullOrEmpty(input.ReplicationPassword) ? GeneratePassword(24) : input.ReplicationPassword,
            MonitorPassword = GeneratePassword(24),
            VrrpPassword = string.IsNullOrEmpty(input.Vrrp.Password) ? GeneratePassword(8) : input.Vrrp.Password,
        };
        var nodeSecrets = new Dictionary<Guid, NodeSecrets>();
        AddIfPresent(nodeSecrets, spec.Node1.Id, ClusterInput.SecretsOf(input.Node1));
        AddIfPresent(nodeSecrets, spec.Node2.Id, ClusterInput.SecretsOf(input.Node2));

        var errors = ClusterValidator.Validate(spec, secrets, RequireNodeSecrets(spec, nodeSecrets)).ToList();
        if (errors.Count == 0 && await clusters.FindByNameAsync(spec.Name, ct) is not null)
        {
            errors.Add(new ValidationError("name", $"A cluster named '{spec.Name}' exists already."));
        }

        if (errors.Count > 0)
        {
            await audit.WriteAsync(actor, "cluster.create", null, spec.Name, "refused", Summarize(errors), ct);
            return ServiceResult<ClusterSpec>.Invalid(errors);
        }

        try
        {
            await clusters.AddAsync(spec, secrets, nodeSecrets, ct);
        }
        catch (NameAlreadyExistsException)
        {
            return ServiceResult<ClusterSpec>.Invalid([new ValidationError("name", $"A cluster named '{spec.Name}' exists already.")]);
        }

        // This instance decides for the cluster it added from its first picture: its lease is taken now, not at the
        // next renewal, which an instance starting meanwhile could beat (seen in the two-console lab run).
        if (leases is not null)
        {
            await leases.RenewNowAsync(ct);
        }

        await audit.WriteAsync(actor, "cluster.create", spec.Id, spec.Name, "succeeded", null, ct);
        return ServiceResult<ClusterSpec>.Ok(spec);
    }

    public async Task<ServiceResult<ClusterSpec>> UpdateAsync(Guid id, ClusterInput input, string actor, CancellationToken ct)
    {
        var existing = (await clusters.GetAsync(id, ct))?.Spec;
        if (existing is null)
        {
            return ServiceResult<ClusterSpec>.Missing();
        }

        var spec = input.ToSpec(existing);
        ClusterSecrets? secrets = null;
        if (!string.IsNullOrEmpty(input.ReplicationPassword) || !string.IsNullOrEmpty(input.Vrrp.Password))
        {
            var stored = await clusters.GetClusterSecretsAsync(id, ct) ?? new ClusterSecrets();
            secrets = stored with
            {
                ReplicationPassword = string.IsNullOrEmpty(input.ReplicationPassword) ? stored.ReplicationPassword : input.ReplicationPassword,
                VrrpPassword = string.IsNullOrEmpty(input.Vrrp.Password) ? stored.VrrpPassword : input.Vrrp.Password,
            };
        }

        var nodeSecrets = new Dictionary<Guid, NodeSecrets>();
        AddIfPresent(nodeSecrets, spec.Node1.Id, ClusterInput.SecretsOf(input.Node1));
        AddIfPresent(nodeSecrets, spec.Node2.Id, ClusterInput.SecretsOf(input.Node2));

        var errors = ClusterValidator.Validate(spec, secrets, nodeSecrets.Count == 0 ? null : nodeSecrets).ToList();
        var sameName = await clusters.FindByNameAsync(spec.Name, ct);
        if (sameName is not null && sameName.Spec.Id != id)
        {
            errors.Add(new ValidationError("name", $"A cluster named '{spec.Name}' exists already."));
        }

        if (errors.Count > 0)
        {
            await audit.WriteAsync(actor, "cluster.update", id, spec.Name, "refused", Summarize(errors), ct);
            return ServiceResult<ClusterSpec>.Invalid(errors);
        }

        await clusters.UpdateAsync(spec, secrets, nodeSecrets.Count == 0 ? null : nodeSecrets, expectedRowVersion: null, ct);
        await audit.WriteAsync(actor, "cluster.update", id, spec.Name, "succeeded", null, ct);
        return ServiceResult<ClusterSpec>.Ok(spec);
    }

    public async Task<bool> DeleteAsync(Guid id, string actor, CancellationToken ct)
    {
        var existing = (await clusters.GetAsync(id, ct))?.Spec;
        if (existing is null)
        {
            return false;
        }

        await clusters.DeleteAsync(id, ct);
        await audit.WriteAsync(actor, "cluster.delete", id, existing.Name, "succeeded", null, ct);
        return true;
    }

    /// <summary>Imports the lab's lab.json: the private key is read from the path the lab recorded.</summary>
    public async Task<ServiceResult<ClusterSpec>> ImportLabAsync(string labJson, string? name, string actor, CancellationToken ct)
    {
        var (lab, errors) = LabImport.Parse(labJson);
        if (lab is null)
        {
            return ServiceResult<ClusterSpec>.Invalid(errors);
        }

        var input = ClusterInput.From(LabImport.ToCluster(lab, string.IsNullOrWhiteSpace(name) ? "lab" : name.Trim()));
        var keyErrors = new List<ValidationError>();
        for (var i = 0; i < 2; i++)
        {
            var path = lab.Nodes[i].SshKeyPath;
            string? key = null;
            try
            {
                key = await File.ReadAllTextAsync(path, ct);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                keyErrors.Add(new ValidationError($"nodes[{i}].sshKeyPath", $"Cannot read the lab's SSH key at {path}: {ex.Message}"));
            }

            (i == 0 ? input.Node1 : input.Node2).PrivateKey = key;
        }

        if (keyErrors.Count > 0)
        {
            return ServiceResult<ClusterSpec>.Invalid(keyErrors);
        }

        var created = await CreateAsync(input, actor, ct);
        if (!created.Succeeded)
        {
            return created;
        }

        // The lab recorded its hosts' keys itself: pin them, as a user confirming them would.
        var spec = created.Value!;
        var labSpec = LabImport.ToCluster(lab, spec.Name);
        await clusters.PinHostKeyAsync(spec.Node1.Id, labSpec.Node1.HostKeySha256!, ct);
        await clusters.PinHostKeyAsync(spec.Node2.Id, labSpec.Node2.HostKeySha256!, ct);
        await audit.WriteAsync(actor, "cluster.import-lab", spec.Id, spec.Name, "succeeded", "host keys pinned from lab.json", ct);
        return ServiceResult<ClusterSpec>.Ok((await clusters.GetAsync(spec.Id, ct))!.Spec);
    }

    private static IReadOnlyDictionary<Guid, NodeSecrets> RequireNodeSecrets(ClusterSpec spec, Dictionary<Guid, NodeSecrets> given)
    {
        // On create every node needs credentials: an empty entry makes the validator name the missing field.
        var all = new Dictionary<Guid, NodeSecrets>(given);
        foreach (var node in spec.Nodes)
        {
            all.TryAdd(node.Id, new NodeSecrets());
        }

        return all;
    }

    private static void AddIfPresent(Dictionary<Guid, NodeSecrets> map, Guid id, NodeSecrets? secrets)
    {
        if (secrets is not null)
        {
            map[id] = secrets;
        }
    }

    private static string Summarize(IEnumerable<ValidationError> errors) =>
        string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}"));

    /// <summary>Letters and digits only: the VRRP PASS field and libpq files need no escaping then.</summary>
    internal static string GeneratePassword(int length)
    {
        const string alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return RandomNumberGenerator.GetString(alphabet, length);
    }
}
