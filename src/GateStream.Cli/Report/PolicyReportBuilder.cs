using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Report;

/// <summary>Builds a <see cref="PolicyReport"/> from decisions in log order. Pure: the same decisions give the same report.</summary>
public static class PolicyReportBuilder
{
    /// <summary>The "rule" of automatic PROMOTE decisions: progression, not a rule.</summary>
    public const string Progression = "(progression)";

    /// <summary>The "rule" of an automatic RESUME: a hold that released itself.</summary>
    public const string Released = "(hold released)";

    /// <summary>A stop whose evidence names no firing rule (should not happen; kept visible rather than dropped).</summary>
    public const string Unknown = "(no firing rule)";

    /// <param name="decisions">The log, in sequence order.</param>
    /// <param name="gateStarts">Gates' started_time by id, where the daemon still holds the gate (ListGates include_finished).</param>
    /// <param name="since">Only decisions taken at or after this count.</param>
    /// <param name="until">The end of the period (the report's "now").</param>
    /// <param name="reversalWindow">How soon an override must follow an automatic stop to count as reversing it.</param>
    /// <param name="includeShadow">Count shadow decisions too.</param>
    public static PolicyReport Build(
        IReadOnlyList<V1.Decision> decisions,
        IReadOnlyDictionary<string, DateTimeOffset> gateStarts,
        DateTimeOffset since,
        DateTimeOffset until,
        TimeSpan reversalWindow,
        bool includeShadow)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentNullException.ThrowIfNull(gateStarts);
        var rules = new SortedDictionary<(string Rule, V1.Action Action), (long Decisions, long Reversed)>(RuleOrder.Instance);
        var overrides = new SortedDictionary<V1.OverrideKind, long>();
        var deployments = new SortedDictionary<string, DeploymentTally>(StringComparer.Ordinal);
        var promotions = new List<PromotionRow>();
        var lastStop = new Dictionary<string, (V1.Decision Decision, string Rule)>(StringComparer.Ordinal);
        var rolloutStart = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var gatesInRange = new HashSet<string>(StringComparer.Ordinal);
        long inRange = 0;

        foreach (var d in decisions)
        {
            if (d.Shadow && !includeShadow)
            {
                continue;
            }

            var time = d.Time?.ToDateTimeOffset() ?? DateTimeOffset.MinValue;
            var counted = time >= since && time <= until;
            rolloutStart.TryAdd(d.Gate, time);
            if (counted)
            {
                inRange++;
                gatesInRange.Add(d.Gate);
                var tally = Tally(deployments, d.Deployment);
                tally.Gates.Add(d.Gate);
                if (d.Action == V1.Action.Rollback)
                {
                    if (d.Override is null)
                    {
                        tally.RollbacksAutomatic++;
                    }
                    else
                    {
                        tally.RollbacksOverride++;
                    }
                }
            }

            if (d.Override is { } by)
            {
                if (counted)
                {
                    overrides[by.Kind] = overrides.GetValueOrDefault(by.Kind) + 1;
                }

                // The next override after an automatic stop answers it: undone (reversed) or not.
                if (lastStop.Remove(d.Gate, out var stop)
                    && by.Kind is V1.OverrideKind.Resume or V1.OverrideKind.Promote or V1.OverrideKind.PromoteFull
                    && time - stop.Decision.Time.ToDateTimeOffset() <= reversalWindow
                    && stop.Decision.Time.ToDateTimeOffset() >= since && stop.Decision.Time.ToDateTimeOffset() <= until)
                {
                    var key = (stop.Rule, stop.Decision.Action);
                    var row = rules[key];
                    rules[key] = (row.Decisions, row.Reversed + 1);
                }
            }
            else
            {
                var rule = RuleOf(d);
                if (counted)
                {
                    var key = (rule, d.Action);
                    var row = rules.GetValueOrDefault(key);
                    rules[key] = (row.Decisions + 1, row.Reversed);
                }

                if (d.Action is V1.Action.Hold or V1.Action.Pause or V1.Action.Rollback)
                {
                    lastStop[d.Gate] = (d, rule);
                }
                else if (d.Action == V1.Action.Resume)
                {
                    lastStop.Remove(d.Gate);
                }
            }

            var final = d.Phase is V1.Phase.Succeeded or V1.Phase.RolledBack;
            if (d.Action == V1.Action.Promote && d.Weight == 100 && counted)
            {
                var fromGate = gateStarts.TryGetValue(d.Gate, out var started) && started <= time;
                var start = fromGate ? started : rolloutStart[d.Gate];
                promotions.Add(new PromotionRow(d.Gate, d.Deployment, start, time, fromGate));
                Tally(deployments, d.Deployment).Promotions.Add(time - start);
            }

            if (final)
            {
                // A later rollout of the same canary version is a new gate with the same id: it starts afresh.
                rolloutStart.Remove(d.Gate);
            }
        }

        return new PolicyReport
        {
            Since = since,
            Until = until,
            ReversalWindow = reversalWindow,
            DecisionsRead = decisions.Count,
            DecisionsInRange = inRange,
            Gates = gatesInRange.Count,
            Rules = [.. rules.Select(r => new RuleActionRow(r.Key.Rule, r.Key.Action, r.Value.Decisions, r.Value.Reversed))],
            Overrides = [.. overrides.Select(o => new OverrideRow(o.Key, o.Value))],
            Deployments = [.. deployments.Select(d => new DeploymentRow(
                d.Key, d.Value.Gates.Count, d.Value.Promotions.Count, d.Value.RollbacksAutomatic, d.Value.RollbacksOverride,
                Median(d.Value.Promotions), d.Value.Promotions.Count == 0 ? null : d.Value.Promotions.Max()))],
            Promotions = [.. promotions.OrderBy(p => p.Promoted).ThenBy(p => p.Gate, StringComparer.Ordinal)],
        };
    }

    /// <summary>The rule behind an automatic decision: the firing rule whose action it took (the most severe wins).</summary>
    public static string RuleOf(V1.Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        switch (decision.Action)
        {
            case V1.Action.Promote:
                return Progression;
            case V1.Action.Resume:
                return Released;
        }

        V1.Evidence? firing = null;
        foreach (var e in decision.Evidence)
        {
            if (e.Status != V1.RuleStatus.Firing)
            {
                continue;
            }

            if (e.Action == decision.Action)
            {
                return e.Rule;
            }

            firing ??= e;
        }

        return firing?.Rule ?? Unknown;
    }

    private static DeploymentTally Tally(SortedDictionary<string, DeploymentTally> deployments, string deployment)
    {
        if (!deployments.TryGetValue(deployment, out var tally))
        {
            tally = new DeploymentTally();
            deployments.Add(deployment, tally);
        }

        return tally;
    }

    private static TimeSpan? Median(List<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private sealed class DeploymentTally
    {
        public HashSet<string> Gates { get; } = new(StringComparer.Ordinal);

        public List<TimeSpan> Promotions { get; } = [];

        public long RollbacksAutomatic { get; set; }

        public long RollbacksOverride { get; set; }
    }

    /// <summary>Rules by name (the pseudo-rules in parentheses last), then actions in enum order.</summary>
    private sealed class RuleOrder : IComparer<(string Rule, V1.Action Action)>
    {
        public static readonly RuleOrder Instance = new();

        public int Compare((string Rule, V1.Action Action) x, (string Rule, V1.Action Action) y)
        {
            var xPseudo = x.Rule.StartsWith('(');
            var yPseudo = y.Rule.StartsWith('(');
            if (xPseudo != yPseudo)
            {
                return xPseudo ? 1 : -1;
            }

            var byName = string.CompareOrdinal(x.Rule, y.Rule);
            return byName != 0 ? byName : x.Action.CompareTo(y.Action);
        }
    }
}
