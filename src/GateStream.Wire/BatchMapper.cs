using GateStream.Core.Events;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>What converting one wire batch did.</summary>
/// <param name="Accepted">Events (or samples) that passed validation and are in the engine batch.</param>
/// <param name="Rejected">Events of a batch refused whole, or metric samples refused (all of a batch without a key, or single invalid ones).</param>
/// <param name="Problem">Null when nothing was rejected; otherwise the first problem, in English, for senders and logs.</param>
/// <param name="RefusedWhole">The whole batch was refused (its key, or its columns): nothing of it is in the engine batch.</param>
public readonly record struct BatchResult(int Accepted, int Rejected, string? Problem, bool RefusedWhole = false);

/// <summary>
/// The native ingest batches of <c>events.proto</c> (<c>EventBatch</c>, <c>MetricBatch</c>) to the engine's columns
/// and back, with the batch rules of <c>events.proto</c>: an event batch whose columns disagree, or a batch without a
/// key, is refused whole; an invalid metric sample is refused alone. The native reader of GateStream.Ingest applies
/// the same rules, with the same words, to raw bytes (the parity tests hold the two together).
/// </summary>
public static class BatchMapper
{
    private const string KeyRequired = "deployment and version are required";

    /// <summary>
    /// Expands a wire batch (base time + deltas) into <paramref name="batch"/>'s key and columns; the caller sets
    /// <see cref="EventBatch.Source"/>. Allocates nothing when the batch's arrays are large enough.
    /// </summary>
    /// <returns>The events accepted, or the batch refused whole (then <paramref name="batch"/> is left empty).</returns>
    public static BatchResult ToEngine(V1.EventBatch proto, EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(proto);
        ArgumentNullException.ThrowIfNull(batch);
        var n = proto.TimeDeltasMicros.Count;
        if (Refusal(proto, n) is { } problem)
        {
            batch.Resize(0);
            return new BatchResult(0, n, problem, RefusedWhole: true);
        }

        batch.Key.Set(proto.Deployment, proto.Version);
        batch.Resize(n);
        var times = batch.WritableTimes;
        var latencies = batch.WritableLatencies;
        var errors = batch.WritableErrors;
        var deltas = proto.TimeDeltasMicros;
        var protoLatencies = proto.LatencyMicros;
        var time = proto.BaseTimeUnixMicros;
        for (var i = 0; i < n; i++)
        {
            time += deltas[i];
            times[i] = time;
            latencies[i] = protoLatencies[i];
        }

        // An errors column wins over status codes; with neither, every event succeeded.
        if (proto.Errors.Count != 0)
        {
            var protoErrors = proto.Errors;
            for (var i = 0; i < n; i++)
            {
                errors[i] = protoErrors[i];
            }
        }
        else if (proto.StatusCodes.Count != 0)
        {
            var codes = proto.StatusCodes;
            for (var i = 0; i < n; i++)
            {
                errors[i] = codes[i] >= 500;
            }
        }
        else
        {
            errors.Clear();
        }

        return new BatchResult(n, 0, null);
    }

    /// <summary>
    /// Copies a wire metric batch's valid samples into <paramref name="batch"/> (cleared first); the caller sets
    /// <see cref="MetricSampleBatch.Source"/>. A batch without a key is refused whole; an invalid sample alone.
    /// </summary>
    public static BatchResult ToEngine(V1.MetricBatch proto, MetricSampleBatch batch)
    {
        ArgumentNullException.ThrowIfNull(proto);
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        if (proto.Deployment.Length == 0 || proto.Version.Length == 0)
        {
            return new BatchResult(0, proto.Samples.Count, KeyRequired, RefusedWhole: true);
        }

        batch.Key.Set(proto.Deployment, proto.Version);
        var rejected = 0;
        string? first = null;
        for (var i = 0; i < proto.Samples.Count; i++)
        {
            var sample = proto.Samples[i];
            if (SampleRefusal(sample) is { } why)
            {
                rejected++;
                first ??= $"samples[{i}]: {why}";
                continue;
            }

            WireEnums.TryToEngine(sample.Kind, out var kind);
            batch.Add(sample.Name, sample.TimeUnixMicros, sample.Value, kind);
        }

        return new BatchResult(batch.Count, rejected, first);
    }

    /// <summary>The engine's columns back in wire form (base time + deltas, an errors column): the exact events.</summary>
    public static V1.EventBatch ToWire(EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var proto = new V1.EventBatch
        {
            Deployment = System.Text.Encoding.UTF8.GetString(batch.Key.Deployment),
            Version = System.Text.Encoding.UTF8.GetString(batch.Key.Version),
        };
        var times = batch.TimesMicros;
        var latencies = batch.LatenciesMicros;
        var errors = batch.Errors;
        proto.BaseTimeUnixMicros = times.Length > 0 ? times[0] : 0;
        var previous = proto.BaseTimeUnixMicros;
        for (var i = 0; i < times.Length; i++)
        {
            proto.TimeDeltasMicros.Add(times[i] - previous);
            previous = times[i];
            // A latency outside uint32 (negative or absurd) is what the shard refuses anyway; keep it refusable.
            proto.LatencyMicros.Add(latencies[i] is < 0 or > uint.MaxValue ? uint.MaxValue : (uint)latencies[i]);
            proto.Errors.Add(errors[i]);
        }

        return proto;
    }

    /// <summary>The engine's samples back in wire form.</summary>
    public static V1.MetricBatch ToWire(MetricSampleBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var proto = new V1.MetricBatch
        {
            Deployment = System.Text.Encoding.UTF8.GetString(batch.Key.Deployment),
            Version = System.Text.Encoding.UTF8.GetString(batch.Key.Version),
        };
        for (var i = 0; i < batch.Count; i++)
        {
            proto.Samples.Add(new V1.MetricSample
            {
                Name = System.Text.Encoding.UTF8.GetString(batch.NameAt(i)),
                TimeUnixMicros = batch.TimeAt(i),
                Value = batch.ValueAt(i),
                Kind = WireEnums.ToWire(batch.KindAt(i)),
            });
        }

        return proto;
    }

    /// <summary>The newest event or sample time in a message (µs), or null when it holds none.</summary>
    public static long? NewestTime(V1.PushRequest message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return NewestTime(message.Events, message.Metrics);
    }

    /// <summary>The newest event or sample time in the batches (µs), or null when they hold none.</summary>
    public static long? NewestTime(IReadOnlyList<V1.EventBatch> events, IReadOnlyList<V1.MetricBatch> metrics)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(metrics);
        long? newest = null;
        foreach (var batch in events)
        {
            var deltas = batch.TimeDeltasMicros;
            var time = batch.BaseTimeUnixMicros;
            for (var i = 0; i < deltas.Count; i++)
            {
                time += deltas[i];
                if (newest is null || time > newest)
                {
                    newest = time;
                }
            }
        }

        foreach (var batch in metrics)
        {
            foreach (var sample in batch.Samples)
            {
                if (newest is null || sample.TimeUnixMicros > newest)
                {
                    newest = sample.TimeUnixMicros;
                }
            }
        }

        return newest;
    }

    /// <summary>The rules of events.proto for an event batch; null when it is valid.</summary>
    private static string? Refusal(V1.EventBatch proto, int n)
    {
        if (proto.Deployment.Length == 0 || proto.Version.Length == 0)
        {
            return KeyRequired;
        }

        if (proto.LatencyMicros.Count != n)
        {
            return $"latency_micros has {proto.LatencyMicros.Count} values for {n} events";
        }

        if (proto.StatusCodes.Count is var s && s != 0 && s != n)
        {
            return $"status_codes has {s} values for {n} events (it must be empty or one per event)";
        }

        if (proto.Errors.Count is var e && e != 0 && e != n)
        {
            return $"errors has {e} values for {n} events (it must be empty or one per event)";
        }

        return null;
    }

    /// <summary>The rules of events.proto for one metric sample; null when it is valid.</summary>
    private static string? SampleRefusal(V1.MetricSample sample)
    {
        if (sample.Name.Length == 0)
        {
            return "name is required";
        }

        if (!WireEnums.TryToEngine(sample.Kind, out _))
        {
            return sample.Kind == V1.MetricKind.Unspecified ? "kind is METRIC_KIND_UNSPECIFIED" : $"kind {(int)sample.Kind} is not a known MetricKind";
        }

        return double.IsFinite(sample.Value) ? null : "value must be finite";
    }
}
