using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Cli.Replay;
using GateStream.Core;
using GateStream.Core.Policies;
using GateStream.Policies;

namespace GateStream.Cli.Commands;

/// <summary>
/// <c>gatestream replay</c>: recorded traffic through the daemon's engine on a virtual clock, against a policy:
/// the decisions it would have taken, and a summary. Same file and policy, same bytes out.
/// </summary>
internal static class ReplayCommand
{
    public const string Examples = """
          gatestream replay --events monday.gse --policy policies/            decisions, then a summary
          gatestream replay --events monday.gse --policy stricter.yaml --json JSON lines, the last one {"summary":...}
          gatestream replay --events incident.gse --policy api.yaml --speed realtime
          diff <(gatestream replay --events monday.gse --policy old.yaml) \
               <(gatestream replay --events monday.gse --policy new.yaml)   what a policy change changes
          gatestream replay --events 'kafka://kafka-1:9092/gatestream-events?from=2026-11-26T06:00:00Z&to=2026-11-26T07:00:00Z' --policy api.yaml
                                                                             an hour of a topic, partitions merged by timestamp
        """;

    public static Command Create()
    {
        var events = new Option<string>("--events")
        {
            Description = "The events file ('gatestream record' writes it), or a Kafka topic: kafka://host:port[,host:port]/topic?encoding=gatestream|otlp|json&from=X&to=Y (X, Y: an offset or an RFC 3339 time).",
            Required = true,
            HelpName = "file|kafka://...",
        };
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Kafka brokers (host:port[,host:port]) for a kafka://topic source that names none.",
            HelpName = "host:port",
        };
        var policy = new Option<string[]>("--policy")
        {
            Description = "Policy file or directory (repeatable), loaded as the daemon loads its policy directory.",
            Required = true,
            HelpName = "file|dir",
        };
        var speed = new Option<double?>("--speed")
        {
            Description = "max (default): as fast as possible; realtime: at the pace the events were recorded; or a factor such as 10x.",
            HelpName = "max|realtime|Nx",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "max";
                if (text == "max")
                {
                    return null;
                }

                if (text == "realtime")
                {
                    return 1.0;
                }

                if (text.EndsWith('x') && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var factor) && factor > 0)
                {
                    return factor;
                }

                result.AddError($"--speed: '{text}' is not max, realtime or a factor such as 10x");
                return null;
            },
        };
        var json = CommonOptions.Json("Decisions as JSON lines (gatestream.v1.Decision, as 'watch --json'), then one {\"summary\": ...} line.");
        var tick = CommonOptions.Duration("--tick-interval", "Evaluation interval, as the daemon's GateStream:Engine:TickInterval.", Defaults.TickInterval);
        var output = CommonOptions.Output(OutputFormat.Text, OutputFormat.Json);
        var command = new Command("replay", "Run recorded events through the engine against a policy, on the events' own clock: the decisions it would have taken, and a summary.")
        {
            events,
            bootstrap,
            policy,
            speed,
            output,
            json,
            tick,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var asJson = CommonOptions.FormatOf(parse, output, json, OutputFormat.Text) == OutputFormat.Json;
            var source = parse.GetValue(events)!;
            KafkaSource? kafka = null;
            if (KafkaSource.IsKafka(source))
            {
                try
                {
                    kafka = KafkaSource.Parse(source, parse.GetValue(bootstrap));
                }
                catch (FormatException e)
                {
                    throw new UsageException($"--events: {e.Message}");
                }
            }
            else if (parse.GetValue(bootstrap) is not null)
            {
                throw new UsageException("--bootstrap: only for a kafka:// source");
            }

            var policies = LoadPolicies(parse.GetValue(policy)!, io);
            var options = new ReplayOptions { TickInterval = tick.ValueOf(parse) ?? Defaults.TickInterval };
            if (kafka is not null)
            {
                return await RunAsync(kafka, policies, options, parse.GetValue(speed), asJson, io, cancellationToken).ConfigureAwait(false);
            }

            FileStream stream;
            try
            {
                stream = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--events: cannot read {source}: {e.Message}");
            }

            await using (stream.ConfigureAwait(false))
            {
                return await RunAsync(stream, policies, options, parse.GetValue(speed), asJson, io, cancellationToken).ConfigureAwait(false);
            }
        });
        return command;
    }

    internal static async Task<int> RunAsync(Stream events, PolicySet policies, ReplayOptions options, double? speed, bool json, CommandIO io, CancellationToken cancellationToken)
    {
        var engine = CreateEngine(policies, options, json, io);
        var pacer = new Pacer(speed);
        try
        {
            await ReplayProgress.RunAsync(io, events.CanSeek ? events.Length : 0, "replaying", async progress =>
            {
                foreach (var message in EventsFile.ReadEntries(events))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await pacer.WaitAsync(GateStream.Wire.BatchMapper.NewestTime(message.Events, message.Metrics), cancellationToken).ConfigureAwait(false);
                    engine.Apply(message);
                    progress?.Report(events.CanSeek ? events.Position : 0, engine.Events);
                }
            }).ConfigureAwait(false);
        }
        catch (EventsFileException e) when (e.WholeMessages > 0)
        {
            io.Status($"gatestream replay: warning: {e.Message}; replaying the messages before it.");
        }
        catch (EventsFileException e)
        {
            throw new CliException($"--events: not an events file ('gatestream record' writes them): {e.Message}");
        }

        WriteSummary(engine, json, io);
        return ExitCodes.Success;
    }

    /// <summary>
    /// Replays a range of a Kafka topic: its messages decoded by the daemon's Kafka decoders, partitions merged by
    /// message timestamp (ties by partition, then offset), so the same topic content gives the same output.
    /// </summary>
    internal static async Task<int> RunAsync(KafkaSource source, PolicySet policies, ReplayOptions options, double? speed, bool json, CommandIO io, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var engine = CreateEngine(policies, options, json, io);
        var pacer = new Pacer(speed);
        const int MaxWarnings = 10;
        long undecodable = 0;
        long refused = 0;
        using var reader = OpenKafka(source, timeout);
        try
        {
            await ReplayProgress.RunAsync(io, 0, "replaying " + source.Topic, async progress =>
            {
            foreach (var message in reader.Read(cancellationToken))
            {
                progress?.Total(Math.Max(1, reader.MessagesInRange));
                var decoded = message.Decoded;
                if (!decoded.Decoded)
                {
                    if (++undecodable <= MaxWarnings)
                    {
                        io.Status(string.Create(CultureInfo.InvariantCulture, $"gatestream replay: warning: {source.Topic}[{message.Partition}]@{message.Offset}: {decoded.Problem}; skipped."));
                    }

                    engine.Refuse();
                    continue;
                }

                if (decoded.Refused > 0 && ++refused <= MaxWarnings)
                {
                    io.Status(string.Create(CultureInfo.InvariantCulture, $"gatestream replay: warning: {source.Topic}[{message.Partition}]@{message.Offset}: {Plural.Of(decoded.Refused, "item")} refused: {decoded.RefusedReason}."));
                }

                await pacer.WaitAsync(decoded.NewestMicros == long.MinValue ? null : decoded.NewestMicros, cancellationToken).ConfigureAwait(false);
                engine.Apply(decoded.EventBatches, decoded.MetricBatches);
                progress?.Report(reader.MessagesRead, engine.Events);
            }
            }).ConfigureAwait(false);
        }
        catch (KafkaReplayException e)
        {
            throw new CliException($"--events: {e.Message}");
        }

        if (undecodable > MaxWarnings || refused > MaxWarnings)
        {
            io.Status(string.Create(CultureInfo.InvariantCulture, $"gatestream replay: warning: {Plural.Of(undecodable, "undecodable message")} skipped, {Plural.Of(refused, "message")} with refused items."));
        }

        WriteSummary(engine, json, io);
        return ExitCodes.Success;
    }

    /// <summary>
    /// The Kafka reader, or one line saying librdkafka is missing: the .NET tool carries it for linux-x64 and linux-arm64
    /// only (the other commands need no native library).
    /// </summary>
    private static KafkaEventsReader OpenKafka(KafkaSource source, TimeSpan? timeout)
    {
        try
        {
            return new KafkaEventsReader(source) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        }
        catch (Exception e) when (e is DllNotFoundException || e.InnerException is DllNotFoundException)
        {
            throw new CliException(
                $"--events: a Kafka replay needs librdkafka, which this gatestream carries for linux-x64 and linux-arm64 only ({System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier} here): replay a file recorded with 'gatestream record' instead");
        }
    }

    private static ReplayEngine CreateEngine(PolicySet policies, ReplayOptions options, bool json, CommandIO io) => new(policies, options)
    {
        Decided = decision =>
        {
            var proto = GateStream.Wire.DecisionMapper.ToProto(decision);
            io.Line(json ? DecisionFormat.Json.Format(proto) : DecisionFormat.Human(proto));
        },
    };

    private static void WriteSummary(ReplayEngine engine, bool json, CommandIO io)
    {
        var summary = engine.Finish();
        if (json)
        {
            ReplaySummaryWriter.WriteJson(summary, io.Out);
        }
        else
        {
            ReplaySummaryWriter.WriteText(summary, io.Out);
        }
    }

    /// <summary>Loads the policies or fails with every error as file:line:column (on stderr: stdout is the replay's).</summary>
    internal static PolicySet LoadPolicies(IReadOnlyList<string> paths, CommandIO io)
    {
        var (files, problems) = PolicyFiles.Expand(paths);
        var result = files.Count > 0 ? PolicyLoader.LoadFiles(files) : null;
        var errors = problems.Where(p => p.Severity == ProblemSeverity.Error).Concat(result?.Errors ?? []).ToList();
        foreach (var problem in errors.Concat(problems.Where(p => p.Severity == ProblemSeverity.Warning)).Concat(result?.Warnings ?? []))
        {
            io.Status(problem.ToString());
        }

        if (errors.Count > 0)
        {
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--policy: {Plural.Of(errors.Count, "error")}; nothing was replayed ('gatestream validate' checks policies)"));
        }

        return result?.Policies ?? throw new CliException($"--policy: no policy file in {string.Join(", ", paths)}");
    }

    /// <summary>Keeps the recorded pace between messages (<c>--speed</c>): nothing when the speed is max.</summary>
    private sealed class Pacer(double? speed)
    {
        private readonly Stopwatch _pace = Stopwatch.StartNew();
        private long? _firstMicros;

        public async ValueTask WaitAsync(long? newestMicros, CancellationToken cancellationToken)
        {
            if (speed is not { } factor || newestMicros is not { } newest)
            {
                return;
            }

            _firstMicros ??= newest;
            var due = TimeSpan.FromTicks((long)((newest - _firstMicros.Value) * 10 / factor)) - _pace.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
