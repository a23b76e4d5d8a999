using System.CommandLine;
using GateStream.Client;
using GateStream.Examples.Haproxy;
using Grpc.Net.Client;

// gatestream-haproxy: follow one deployment's decisions and move HAProxy server weights to match. See README.md.
var server = new Option<string>("--server")
{
    Description = "The daemon's gRPC address.",
    DefaultValueFactory = _ => "http://127.0.0.1:4317",
    HelpName = "url",
};
var socket = new Option<string>("--haproxy-socket") { Description = "HAProxy's admin socket (stats socket ... level admin).", Required = true, HelpName = "path" };
var deployment = new Option<string>("--deployment") { Description = "The GateStream deployment to follow.", Required = true, HelpName = "name" };
var backend = new Option<string>("--backend") { Description = "The HAProxy backend serving it; its servers are named like the versions. Default: the deployment's name.", HelpName = "name" };
var state = new Option<string?>("--state-file") { Description = "Keeps the last applied decision's sequence, so a restart resumes after it.", HelpName = "path" };

var root = new RootCommand("Follows GateStream's decisions for one deployment and sets HAProxy server weights through its runtime API.")
{
    server, socket, deployment, backend, state,
};
root.SetAction(async (parse, cancellationToken) =>
{
    var name = parse.GetValue(deployment)!;
    using var channel = GrpcChannel.ForAddress(parse.GetValue(server)!);
    var controller = new WeightController(
        new DecisionWatcher(channel),
        new HaproxyRuntime(parse.GetValue(socket)!),
        new ControllerOptions(name, parse.GetValue(backend) ?? name, parse.GetValue(state)),
        Console.Out);
    try
    {
        await controller.RunAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
        return 0;
    }
    catch (HaproxyException e)
    {
        // Not acknowledged: after the HAProxy configuration is fixed, a restart applies the same decision again.
        await Console.Error.WriteLineAsync("gatestream-haproxy: " + e.Message).ConfigureAwait(false);
        return 1;
    }
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
