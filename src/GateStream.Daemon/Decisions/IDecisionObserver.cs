using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions;

/// <summary>
/// Sees every decision once it is durable, in sequence order, before the Watch subscribers do (for example the
/// Kafka decisions topic). Called on the publishing shard thread under the hub's lock: it must be quick and must
/// not throw.
/// </summary>
internal interface IDecisionObserver
{
    void OnDecision(V1.Decision decision);
}
