using System.Threading.Channels;
using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Daemon.Push;
using GateStream.Wire;
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
        Deliver(deployment, () => copy ??= ToPush(batch));
    }

    private void OnMetrics(MetricSampleBatch batch)
    {
        var deployment = System.Text.Encoding.UTF8.GetString(batch.Key.Deployment);
        V1.PushRequest? copy = null;
        Deliver(deployment, () => copy ??= ToPush(batch));
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

    private static V1.PushRequest ToPush(EventBatch batch) => new() { Events = { BatchMapper.ToWire(batch) } };

    private static V1.PushRequest ToPush(MetricSampleBatch batch) => new() { Metrics = { BatchMapper.ToWire(batch) } };

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
