namespace GateStream.Core.Gates;

/// <summary>Numbers decisions and keeps them in memory: replay, tests, and anything without a durable log.</summary>
public sealed class InMemoryDecisionSink : IDecisionSink
{
    private readonly List<GateDecision> _decisions = [];
    private readonly Lock _lock = new();
    private ulong _sequence;

    public InMemoryDecisionSink(ulong lastSequence = 0) => _sequence = lastSequence;

    public IReadOnlyList<GateDecision> Decisions
    {
        get
        {
            lock (_lock)
            {
                return [.. _decisions];
            }
        }
    }

    public GateDecision Publish(GateDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        lock (_lock)
        {
            var numbered = decision with { Sequence = ++_sequence };
            _decisions.Add(numbered);
            return numbered;
        }
    }
}
