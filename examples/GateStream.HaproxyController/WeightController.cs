using GateStream.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Examples.Haproxy;

/// <summary>What the controller drives: one HAProxy backend whose servers are named after the deployment's versions.</summary>
/// <param name="Deployment">The GateStream deployment whose decisions are followed.</param>
/// <param name="Backend">The HAProxy backend that serves it; its servers are named like the versions (v1, v2 ...).</param>
/// <param name="StateFile">Where the last applied decision's sequence is kept, so a restart resumes after it. Optional.</param>
public sealed record ControllerOptions(string Deployment, string Backend, string? StateFile = null);

/// <summary>
/// Follows the deployment's decisions and applies each to HAProxy: the canary server gets <c>Decision.weight</c>, the
/// baseline server the rest of 100. ROLLBACK sets the canary to 0; a full PROMOTE sets the baseline to 0. PAUSE and
/// HOLD carry the weight to keep, so they are applied the same way (a no-op when nothing changed). A decision is
/// acknowledged (its sequence stored) only after HAProxy accepted both weights, so a crash in between re-applies it.
/// </summary>
public sealed class WeightController(DecisionWatcher watcher, HaproxyRuntime haproxy, ControllerOptions options, TextWriter log)
{
    /// <summary>Decisions applied since start.</summary>
    public long Applied { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var filter = new DecisionFilter { FromSequence = ReadState() };
        filter.Deployments.Add(options.Deployment);
        await foreach (var decision in watcher.WatchAsync(filter, cancellationToken).ConfigureAwait(false))
        {
            await ApplyAsync(decision, cancellationToken).ConfigureAwait(false);
            WriteState(decision.Sequence);
            Applied++;
        }
    }

    public async Task ApplyAsync(V1.Decision decision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var canary = decision.Action == V1.Action.Rollback ? 0 : (int)Math.Min(decision.Weight, 100);
        // Lower the weight that shrinks first, so the pair never sends more to the canary than either decision allows.
        if (canary < await haproxy.GetWeightAsync(options.Backend, decision.CanaryVersion, cancellationToken).ConfigureAwait(false))
        {
            await haproxy.SetWeightAsync(options.Backend, decision.CanaryVersion, canary, cancellationToken).ConfigureAwait(false);
            await haproxy.SetWeightAsync(options.Backend, decision.BaselineVersion, 100 - canary, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await haproxy.SetWeightAsync(options.Backend, decision.BaselineVersion, 100 - canary, cancellationToken).ConfigureAwait(false);
            await haproxy.SetWeightAsync(options.Backend, decision.CanaryVersion, canary, cancellationToken).ConfigureAwait(false);
        }

        await log.WriteLineAsync(
            $"#{decision.Sequence} {decision.Action.ToString().ToUpperInvariant()} {decision.Gate}: {options.Backend}/{decision.CanaryVersion} weight {canary}, " +
            $"{options.Backend}/{decision.BaselineVersion} weight {100 - canary} ({decision.Reason})").ConfigureAwait(false);
    }

    private ulong ReadState() =>
        options.StateFile is { } path && File.Exists(path) && ulong.TryParse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : 0;

    private void WriteState(ulong sequence)
    {
        if (options.StateFile is not { } path)
        {
            return;
        }

        // Written aside and renamed, so a crash leaves the old sequence or the new one, never half of one.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.Move(temporary, path, overwrite: true);
    }
}
