using GateStream.Core.Gates;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions;

/// <summary>
/// Reads of gate state shared by the gRPC DecisionService and the HTTP API, so both answer alike. The state is copied
/// on the gate's shard (its single writer) and mapped to the wire form off it.
/// </summary>
internal static class GateQueries
{
    public static async Task<V1.ListGatesResponse> ListAsync(EngineHost engine, V1.ListGatesRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(request);
        var lastSequence = engine.Hub.LastSequence;
        var views = await engine.ListAsync(request.IncludeFinished, cancellationToken).ConfigureAwait(false);
        var deployments = request.Deployments.ToHashSet(StringComparer.Ordinal);
        var response = new V1.ListGatesResponse { LastSequence = lastSequence };
        response.Gates.Add(views.Where(v => deployments.Count == 0 || deployments.Contains(v.Deployment)).Select(DecisionMapper.ToProto));
        return response;
    }

    /// <summary>One gate in full: its state, its latest decision and every rule's evidence at the latest evaluation. Null when no gate has the id.</summary>
    public static async Task<V1.Gate?> GetAsync(EngineHost engine, string gateId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var slash = gateId.LastIndexOf('/');
        if (slash <= 0)
        {
            return null;
        }

        var copy = await engine.OnShardOfAsync(gateId[..slash], book => book.Find(gateId) is { } gate ? Copy(engine, book, gate) : null, cancellationToken)
            .ConfigureAwait(false);
        return copy is { } c ? ToProto(c) : null;
    }

    /// <summary>
    /// The gate a deployment's rollout is under now: the one not in a final phase, or when none is, the one that
    /// finished last among those the daemon still holds. Null when the deployment has none.
    /// </summary>
    public static async Task<V1.Gate?> CurrentAsync(EngineHost engine, string deployment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var copy = await engine.OnShardOfAsync(deployment, book =>
        {
            var gates = book.Gates.Where(g => g.Deployment == deployment).ToArray();
            var current = gates.FirstOrDefault(g => !g.IsFinished)
                ?? gates.OrderByDescending(g => g.LastDecision?.TimeMicros ?? g.StartedMicros).ThenByDescending(g => g.StartedMicros).FirstOrDefault();
            return current is null ? null : Copy(engine, book, current);
        }, cancellationToken).ConfigureAwait(false);
        return copy is { } c ? ToProto(c) : null;
    }

    private static (GateView View, GateDecision? Last, IReadOnlyList<Evidence> Rules)? Copy(EngineHost engine, GateBook book, Gate gate) =>
        (gate.View(book.OwnershipOf(gate.Deployment)), gate.LastDecision, gate.CurrentEvidence(engine.NowMicros));

    private static V1.Gate ToProto((GateView View, GateDecision? Last, IReadOnlyList<Evidence> Rules) copy)
    {
        var proto = DecisionMapper.ToProto(copy.View);
        if (copy.Last is { } last)
        {
            proto.LastDecision = DecisionMapper.ToProto(last);
        }

        proto.Rules.Add(copy.Rules.Select(DecisionMapper.ToProto));
        return proto;
    }
}
