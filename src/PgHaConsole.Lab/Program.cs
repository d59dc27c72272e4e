using PgHaConsole.Lab;

// up | status | down [--state DIR] [--install-packages] | restart-host|stop-host|start-host HOST; exit 0 on success, 1 on a refusal or failure,
// 2 on bad usage, and `status` exits 3 when the lab is down or degraded (so scripts can test it).
const string Usage = "usage: dotnet run --project src/PgHaConsole.Lab -- up|status|down [--ipvs] [--state DIR] [--install-packages] | restart-host|stop-host|start-host pg1|pg2";

string? command = null;
string? host = null;
string? stateDir = null;
var install = false;
var ipvs = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--state" when i + 1 < args.Length:
            stateDir = args[++i];
            break;
        case "--install-packages":
            install = true;
            break;
        case "--ipvs":
            // up only: the same hosts inside a user-mode Linux kernel that has IPVS (status and down handle either kind).
            ipvs = true;
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        case "up" or "status" or "down" when command is null:
            command = args[i];
            break;
        case "restart-host" or "stop-host" or "start-host" when command is null && i + 1 < args.Length:
            // A power cycle of one host (namespace lab): stop-host kills every process of the host, start-host boots it.
            command = args[i];
            host = args[++i];
            break;
        case "restart-host" or "stop-host" or "start-host":
            Console.Error.WriteLine($"{args[i]} needs a host name (pg1 or pg2), once");
            Console.Error.WriteLine(Usage);
            return 2;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            Console.Error.WriteLine(Usage);
            return 2;
    }
}

if (command is null)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};

var controller = new LabController(Console.Out);
var options = new LabOptions(stateDir, install, ipvs);
try
{
    switch (command)
    {
        case "up":
            var up = await controller.UpAsync(options, cts.Token);
            if (up.AlreadyRunning)
            {
                Console.WriteLine($"The lab is already running (state dir {up.StateDir}).");
            }

            foreach (var node in up.Info.Nodes)
            {
                Console.WriteLine($"  {node.Name}  {node.Address}  ssh -i {node.SshKeyPath} {node.SshUser}@{node.Address}");
            }

            return 0;
        case "down":
            await controller.DownAsync(options, cts.Token);
            return 0;
        case "restart-host":
            await controller.RestartHostAsync(host!, cts.Token);
            return 0;
        case "stop-host":
            await controller.PowerOffHostAsync(host!, cts.Token);
            return 0;
        case "start-host":
            await controller.PowerOnHostAsync(host!, cts.Token);
            return 0;
        default:
            var status = await controller.StatusAsync(options, cts.Token);
            Console.Write(status.Render());
            return status.Healthy ? 0 : 3;
    }
}
catch (ArgumentException ex) when (host is not null)
{
    Console.Error.WriteLine($"lab {command}: {ex.Message}");
    return 2;
}
catch (LabException ex)
{
    Console.Error.WriteLine($"lab {command}: {ex.Message} How to fix: {ex.Fix}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"lab {command}: cancelled. Run `down` then `up` if the lab was left half-built.");
    return 1;
}
