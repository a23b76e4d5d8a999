using GateStream.Core.Time;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Cli.Replay;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream record</c>: captures what the daemon ingests (IngestService.Tap) into an events file for replay.</summary>
internal static class RecordCommand
{
    public const string Examples = """
          gatestream record --out monday.gse --duration 8h                   a working day of traffic, every deployment
          gatestream record --out checkout.gse --deployment checkout         until Ctrl+C
          gatestream replay --events monday.gse --policy policies/           what a policy would have decided on it
        """;

    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var output = new Option<FileInfo>("--out") { Description = "The events file to write (replaced if it exists).", Required = true, HelpName = "file" };
        var duration = CommonOptions.Duration("--duration", "Stop after this long. Default: until Ctrl+C.");
        var deployments = new Option<string[]>("--deployment") { Description = "Only batches of this deployment (repeatable). Default: all.", HelpName = "name" };
        var command = new Command("record", "Capture the daemon's live event stream to a file (length-delimited gatestream.v1.PushRequest messages) for 'gatestream replay'.")
        {
            server,
            output,
            duration,
            deployments,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var file = parse.GetValue(output)!;
            var limit = duration.ValueOf(parse);
            var request = new V1.TapRequest();
            request.Deployments.Add(parse.GetValue(deployments) ?? []);
            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var call = connection.Ingest.Tap(request, cancellationToken: stop.Token);
            try
            {
                // The tap is live once the daemon sends headers; no file is made before that.
                await call.ResponseHeadersAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, "tap");
            }

            V1.RecordingStart start;
            try
            {
                start = await RecordingStartAsync(connection, request.Deployments, stop.Token).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, "list gates");
            }

            FileStream stream;
            try
            {
                stream = new FileStream(file.FullName, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--out: cannot write {file.FullName}: {e.Message}");
            }

            await using (stream.ConfigureAwait(false))
            {
                var what = request.Deployments.Count == 0 ? "every deployment" : "deployments " + string.Join(", ", request.Deployments);
                io.Status($"gatestream record: recording {what} from {connection.Server} to {file.FullName}" + (limit is { } d ? $" for {Durations.Format(d)}." : " (Ctrl+C to stop)."));
                if (limit is { } span)
                {
                    stop.CancelAfter(span);
                }

                var output = new Output(stream);
                output.Write(new V1.RecordingEntry { Start = start });
                // Every decision after the start's sequence, from the log, then live: none is missed while the watch connects.
                var liveRequest = new V1.WatchRequest { FromSequence = start.LastSequence, FromStart = start.LastSequence == 0, IncludeShadow = true };
                liveRequest.Deployments.Add(request.Deployments);
                using var watch = connection.Decisions.Watch(liveRequest, cancellationToken: stop.Token);
                var live = RecordDecisionsAsync(watch, output, stop.Token);
                var exit = await RecordAsync(connection, call, stop, output, io).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
                var decisions = await live.ConfigureAwait(false);
                io.Status($"gatestream record: {Plural.Of(start.Gates.Count, "gate")} under way at the start, {Plural.Of(decisions, "live decision")} recorded beside the traffic.");
                return exit;
            }
        });
        return command;
    }

    /// <summary>
    /// The gates under way as the recording starts, each with its latest decision from the decision log (a Watch from
    /// just before it), so a replay can continue them; and the sequence the live decisions are recorded after.
    /// </summary>
    private static async Task<V1.RecordingStart> RecordingStartAsync(DaemonConnection connection, IEnumerable<string> deployments, CancellationToken cancellationToken)
    {
        var list = new V1.ListGatesRequest();
        list.Deployments.Add(deployments);
        var gates = await connection.Decisions.ListGatesAsync(list, cancellationToken: cancellationToken).ConfigureAwait(false);
        var start = new V1.RecordingStart
        {
            Time = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            LastSequence = gates.LastSequence,
        };
        foreach (var gate in gates.Gates.Where(g => g.Phase is not (V1.Phase.Succeeded or V1.Phase.RolledBack)).OrderBy(g => g.Id, StringComparer.Ordinal))
        {
            var recorded = new V1.RecordedGate { Gate = gate };
            if (gate.LastDecisionSequence > 0)
            {
                using var one = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                one.CancelAfter(TimeSpan.FromSeconds(10));
                using var watch = connection.Decisions.Watch(
                    new V1.WatchRequest { Gates = { gate.Id }, FromSequence = gate.LastDecisionSequence - 1, IncludeShadow = true }, cancellationToken: one.Token);
                if (await watch.ResponseStream.MoveNext(one.Token).ConfigureAwait(false) && watch.ResponseStream.Current.Sequence == gate.LastDecisionSequence)
                {
                    recorded.LastDecision = watch.ResponseStream.Current;
                }
            }

            start.Gates.Add(recorded);
        }

        return start;
    }

    /// <summary>Writes the daemon's decisions as they are published, beside the traffic, until the recording stops.</summary>
    private static async Task<long> RecordDecisionsAsync(AsyncServerStreamingCall<V1.Decision> watch, Output output, CancellationToken stop)
    {
        long count = 0;
        try
        {
            while (await watch.ResponseStream.MoveNext(stop).ConfigureAwait(false))
            {
                output.Write(new V1.RecordingEntry { LiveDecision = watch.ResponseStream.Current });
                count++;
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // The recording stopped, or the daemon ended the stream: the tap's end says which.
        }

        return count;
    }

    /// <summary>The events file, written by the tap loop and the decisions loop: one entry at a time.</summary>
    private sealed class Output(FileStream file)
    {
        private readonly Lock _lock = new();

        public FileStream File => file;

        public void Write(V1.RecordingEntry entry)
        {
            lock (_lock)
            {
                EventsFile.Write(file, entry);
            }
        }

        public void Write(V1.PushRequest message)
        {
            lock (_lock)
            {
                EventsFile.Write(file, message);
            }
        }

        public void Flush()
        {
            lock (_lock)
            {
                file.Flush();
            }
        }
    }

    /// <summary>Writes every tapped message until <paramref name="stop"/> (Ctrl+C or --duration) or the daemon ends the tap.</summary>
    private static async Task<int> RecordAsync(DaemonConnection connection, AsyncServerStreamingCall<V1.PushRequest> call, CancellationTokenSource stop, Output output, CommandIO io)
    {
        var file = output.File;
        long messages = 0, events = 0, samples = 0;
        var clock = Stopwatch.StartNew();
        var lastFlush = TimeSpan.Zero;
        string? ended = null;
        try
        {
            while (await call.ResponseStream.MoveNext(stop.Token).ConfigureAwait(false))
            {
                var message = call.ResponseStream.Current;
                output.Write(message);
                messages++;
                foreach (var batch in message.Events)
                {
                    events += batch.TimeDeltasMicros.Count;
                }

                foreach (var batch in message.Metrics)
                {
                    samples += batch.Samples.Count;
                }

                if (clock.Elapsed - lastFlush >= FlushEvery)
                {
                    // A recording cut short by a crash still replays up to about a second before it.
                    output.Flush();
                    lastFlush = clock.Elapsed;
                }
            }

            ended = "the daemon ended the tap";
        }
        catch (Exception e) when (stop.IsCancellationRequested && e is RpcException or OperationCanceledException)
        {
            // Ctrl+C or --duration: the normal end.
        }
        catch (RpcException e)
        {
            ended = connection.Describe(e, "tap").Message;
        }
        catch (IOException e)
        {
            throw new CliException($"--out: writing {file.Name} failed: {e.Message}");
        }

        output.Flush();
        var dropped = ended is null ? null : DroppedCount(call);
        io.Line(string.Create(CultureInfo.InvariantCulture,
            $"Recorded {Plural.Of(messages, "message")} ({Plural.Of(events, "event")}, {Plural.Of(samples, "sample")}) in {Durations.Format(TimeSpan.FromSeconds(Math.Round(clock.Elapsed.TotalSeconds, 1)))} to {file.Name} ({Plural.Of(file.Length, "byte")}).")
            + (dropped is { Length: > 0 } and not "0" ? $" The daemon dropped {dropped} messages this tap could not keep up with." : ""));
        if (ended is not null)
        {
            io.Status($"gatestream record: {ended}; the file holds everything received before that.");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    /// <summary>The daemon's count of messages this tap lost, sent as a trailer when the daemon ends the stream.</summary>
    private static string? DroppedCount(AsyncServerStreamingCall<V1.PushRequest> call)
    {
        try
        {
            return call.GetTrailers().GetValue("gatestream-tap-dropped");
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
