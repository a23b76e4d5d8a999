using System.Threading.Channels;
using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Daemon.Push;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Engine;

/// <summary>
/// Copies ingested batches to <c>IngestService.Tap</c> subscribers (<c>gatestream record</c>). Installed on the
/// ingest path only while someone listens, so it costs nothing otherwise; a subscriber that cannot keep up loses
/// messages instead of slowing ingest.
/// </summary>
internal sealed class TapHub(ShardedIngest ingest)
{
    private const int Buffer = 4096;
    private readonly Lock _lock = new();
    private readonly List<Tap> _taps = [];

    public Tap Subscribe(IEnumerable<string> deployments)
    {
        var tap = new Tap([.. deployments]);
        lock (_lock)
        {
            _taps.Add(tap);
            ingest.EventTap = OnEvents;
            ingest.MetricTap = OnMetrics;
        }

        return tap;
    }

    public void Unsubscribe(Tap tap)
    {
        lock (_lock)
        {
            _taps.Remove(tap);
            if (_taps.Count == 0)
            {
                ingest.EventTap = null;
                ingest.MetricTap = null;
            }
        }
    }

    private void OnEvents(EventBatch batch)
    {
        var deployment = System.Text.Encoding.UTF8.GetString(batch.Key.Deployment);
        V1.PushRequest? copy = null;
        Deliver(deployment, () => copy ??= ToPush(batch, deployment));
    }

    private void OnMetrics(MetricSampleBatch batch)
    {
        var deployment = System.Text.Encoding.UTF8.GetString(batch.Key.Deployment);
        V1.PushRequest? copy = null;
        Deliver(deployment, () => copy ??= ToPush(batch, deployment));
    }

    private void Deliver(string deployment, Func<V1.PushRequest> message)
    {
        lock (_lock)
        {
            foreach (var tap in _taps)
            {
                if (tap.Wants(deployment) && !tap.Queue.Writer.TryWrite(message()))
                {
                    Interlocked.Increment(ref tap.Dropped);
                }
            }
        }
    }

    /// <summary>The engine's columns back in wire form (base time + deltas), the exact events as ingested.</summary>
    internal static V1.PushRequest ToPush(EventBatch batch, string deployment)
    {
        var proto = new V1.EventBatch
        {
            Deployment = deployment,
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

        var push = new V1.PushRequest();
        push.Events.Add(proto);
        return push;
    }

    private static V1.PushRequest ToPush(MetricSampleBatch batch, string deployment)
    {
        var proto = new V1.MetricBatch { Deployment = deployment, Version = System.Text.Encoding.UTF8.GetString(batch.Key.Version) };
        for (var i = 0; i < batch.Count; i++)
        {
            proto.Samples.Add(new V1.MetricSample
            {
                Name = System.Text.Encoding.UTF8.GetString(batch.NameAt(i)),
                TimeUnixMicros = batch.TimeAt(i),
                Value = batch.ValueAt(i),
                Kind = (V1.MetricKind)(int)batch.KindAt(i),
            });
        }

        var push = new V1.PushRequest();
        push.Metrics.Add(proto);
        return push;
    }

    internal sealed class Tap(HashSet<string> deployments)
    {
        public long Dropped;

        public Channel<V1.PushRequest> Queue { get; } = Channel.CreateBounded<V1.PushRequest>(new BoundedChannelOptions(Buffer)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        public bool Wants(string deployment) => deployments.Count == 0 || deployments.Contains(deployment);
    }
}
