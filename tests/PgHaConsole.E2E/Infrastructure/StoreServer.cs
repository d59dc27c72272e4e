using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PgHaConsole.E2E.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL 15 on loopback for the console's own store (never a managed cluster): initdb in a temp
/// directory as the postgres user, started on a free port, stopped and removed on dispose.
/// </summary>
public sealed class StoreServer : IAsyncDisposable
{
    private const string BinDir = "/usr/lib/postgresql/15/bin";

    private readonly string _root;
    private readonly string _dataDir;

    private StoreServer(string root, int port)
    {
        _root = root;
        _dataDir = Path.Combine(root, "data");
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;GSS Encryption Mode=Disable";
    }

    public string ConnectionString { get; }

    public static async Task<StoreServer> StartAsync(CancellationToken ct)
    {
        var root = Directory.CreateTempSubdirectory("pgha-e2e-store-").FullName;
        var port = FreePort();
        var server = new StoreServer(root, port);
        await RunAsync(ct, "chown", "-R", "postgres:postgres", root);
        await RunAsync(ct, "runuser", "-u", "postgres", "--", $"{BinDir}/initdb", "-D", server._dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync");
        await RunAsync(ct, "runuser", "-u", "postgres", "--", $"{BinDir}/pg_ctl", "-D", server._dataDir, "-l", Path.Combine(root, "server.log"),
            "-o", $"-k {root} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off", "-w", "-t", "60", "start");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(CancellationToken.None, "runuser", "-u", "postgres", "--", $"{BinDir}/pg_ctl", "-D", _dataDir, "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task RunAsync(CancellationToken ct, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException(file + " did not start");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
