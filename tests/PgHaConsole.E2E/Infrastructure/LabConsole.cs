using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace PgHaConsole.E2E.Infrastructure;

/// <summary>
/// A real console process pointed at the lab (bootstrap admin, API token, poll every second) and the REST calls the
/// end-to-end tests share: import the lab, start an operation, wait for it, read its log. One place for what every
/// E2E test class used to repeat.
/// </summary>
public sealed class LabConsole : IAsyncDisposable
{
    private LabConsole(ConsoleProcess process, string adminPassword, string token)
    {
        Process = process;
        AdminPassword = adminPassword;
        Token = token;
        Api = new HttpClient { BaseAddress = process.BaseUri, Timeout = TimeSpan.FromMinutes(2) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public ConsoleProcess Process { get; }

    public Uri BaseUri => Process.BaseUri;

    /// <summary>An HTTP client authenticated with the bootstrap API token (Admin).</summary>
    public HttpClient Api { get; }

    public string AdminPassword { get; }

    public string Token { get; }

    /// <summary>
    /// Starts a console whose bootstrap admin password and API token derive from <paramref name="name"/> (unique per
    /// test class), with <paramref name="settings"/> added to (or overriding) the lab defaults.
    /// </summary>
    public static async Task<LabConsole> StartAsync(string name, CancellationToken ct,
        IReadOnlyDictionary<string, string>? settings = null, string? dataDirectory = null)
    {
        var adminPassword = $"e2e-admin-password-{name}";
        var token = $"phc_e2e-{name}-token-0123456789abcdef";
        var environment = new Dictionary<string, string>
        {
            ["PgHaConsole__Bootstrap__AdminPassword"] = adminPassword,
            ["PgHaConsole__Bootstrap__ApiToken"] = token,
            ["PgHaConsole__Lab__LabFile"] = LabReset.LabFile,
            ["PgHaConsole__Topology__PollInterval"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return new LabConsole(await ConsoleProcess.StartAsync(environment, ct, dataDirectory), adminPassword, token);
    }

    /// <summary>Imports the lab's lab.json (or <paramref name="labJson"/>) as cluster <paramref name="name"/>; returns its id.</summary>
    public async Task<Guid> ImportLabAsync(CancellationToken ct, string name = "lab", string? labJson = null)
    {
        using var body = new StringContent(labJson ?? await File.ReadAllTextAsync(LabReset.LabFile, ct), Encoding.UTF8, "application/json");
        using var response = await Api.PostAsync($"api/clusters/import-lab?name={Uri.EscapeDataString(name)}", body, ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetGuid();
    }

    /// <summary>Starts an operation (POST answering 202 with its id).</summary>
    public async Task<Guid> StartOperationAsync(string path, object body, CancellationToken ct)
    {
        using var start = await Api.PostAsJsonAsync(path, body, ct);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, $"{path}: {start.StatusCode} {await start.Content.ReadAsStringAsync(ct)}");
        return (await start.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("operationId").GetGuid();
    }

    public async Task<JsonElement> OperationAsync(Guid id, CancellationToken ct) =>
        await Api.GetFromJsonAsync<JsonElement>($"api/operations/{id}", ct);

    public static bool Ended(string status) => status is "succeeded" or "failed" or "interrupted" or "cancelled";

    /// <summary>Polls the operation until <paramref name="done"/> holds for its status (default: it ended).</summary>
    public async Task<JsonElement> WaitOperationAsync(Guid id, TimeSpan timeout, CancellationToken ct, Func<string, bool>? done = null)
    {
        done ??= Ended;
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var op = await OperationAsync(id, ct);
            var status = op.GetProperty("status").GetString()!;
            if (done(status))
            {
                return op;
            }

            Assert.True(DateTime.UtcNow < until, $"operation still {status} after {timeout}: {op}");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>Starts an operation and waits until it ended (3 min unless told).</summary>
    public async Task<JsonElement> RunOperationAsync(string path, object body, CancellationToken ct, TimeSpan? timeout = null) =>
        await WaitOperationAsync(await StartOperationAsync(path, body, ct), timeout ?? TimeSpan.FromMinutes(3), ct);

    /// <summary>
    /// Starts an operation, waits until it ended and asserts it succeeded; a failure names the operation's error and its
    /// whole log, so a red CI run says why without a rerun.
    /// </summary>
    public async Task<JsonElement> RunSucceededAsync(string path, object body, CancellationToken ct, TimeSpan? timeout = null)
    {
        var op = await RunOperationAsync(path, body, ct, timeout);
        if (op.GetProperty("status").GetString() != "succeeded")
        {
            var log = await LogAsync(op.GetProperty("id").GetGuid(), ct);
            var output = Process.Output;
            Assert.Fail($"{path} ended {op.GetProperty("status").GetString()}: {op}\n--- its log ---\n{log}"
                + $"\n--- the console's output (last 8,000 characters) ---\n{(output.Length > 8_000 ? output[^8_000..] : output)}");
        }

        return op;
    }

    /// <summary>The operation's journaled log, one line per entry.</summary>
    public async Task<string> LogAsync(Guid id, CancellationToken ct) =>
        string.Join('\n', (await Api.GetFromJsonAsync<JsonElement>($"api/operations/{id}/log", ct))
            .EnumerateArray().Select(l => l.GetProperty("line").GetString()));

    public Task KillHardAsync() => Process.KillHardAsync();

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Process.DisposeAsync();
    }
}
