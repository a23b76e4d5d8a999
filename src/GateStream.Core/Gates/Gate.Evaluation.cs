using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

public sealed partial class Gate
{
    /// <summary>Brings every rule's reading up to <paramref name="nowMicros"/>. No allocation.</summary>
    private void EvaluateRules(Ingest.Shard shard, long nowMicros)
    {
        SampleHistories(shard, nowMicros);
        foreach (var rule in _rules)
        {
            Evaluate(rule, nowMicros);
        }
    }

    private void SampleHistories(Ingest.Shard shard, long nowMicros)
    {
        ResolveSeries(shard);
        _canary?.AdvanceTo(nowMicros);
        _baseline?.AdvanceTo(nowMicros);
        _canaryHistory.Sample(nowMicros, CanaryLifetime.Requests, CanaryLifetime.Errors);
        _baselineHistory.Sample(nowMicros, BaselineLifetime.Requests, BaselineLifetime.Errors);
    }

    private (long Requests, long Errors) CanaryLifetime => _canary is null
        ? (0, 0)
        : (_canary.Requests.LifetimeRequests - _canaryStartRequests, _canary.Requests.LifetimeErrors - _canaryStartErrors);

    private (long Requests, long Errors) BaselineLifetime => _baseline is null
        ? (0, 0)
        : (_baseline.Requests.LifetimeRequests - _baselineStartRequests, _baseline.Requests.LifetimeErrors - _baselineStartErrors);

    private void Evaluate(RuleState rule, long now)
    {
        var spec = rule.Spec;
        rule.Observed = null;
        rule.Baseline = null;
        rule.Threshold = null;
        rule.Bound = BoundSide.None;
        rule.Samples = 0;
        rule.BaselineSamples = 0;
        rule.WindowMicros = EventTime.FromTimeSpan(spec.Window);

        bool enough;
        bool condition;
        if (spec.ErrorBudget is { } budget)
        {
            (enough, condition) = EvaluateBudget(rule, budget, now);
        }
        else if (spec.BurnRate is { } burn)
        {
            (enough, condition) = EvaluateBurnRate(rule, burn, now);
        }
        else
        {
            (enough, condition) = EvaluateThreshold(rule, spec, now);
        }

        if (condition && spec.Confidence is { } confidence)
        {
            rule.HasTest = true;
            rule.PValue = Math.Min(rule.PValue, SequentialPValue(spec));
            condition = rule.PValue <= 1 - confidence;
        }

        if (now < rule.SuppressedUntilMicros)
        {
            rule.Status = RuleStatus.Suppressed;
            rule.BreachedSinceMicros = -1;
            return;
        }

        if (!enough)
        {
            rule.Status = RuleStatus.InsufficientEvidence;
            rule.BreachedSinceMicros = -1;
            return;
        }

        if (!condition)
        {
            rule.Status = RuleStatus.Passing;
            rule.BreachedSinceMicros = -1;
            return;
        }

        if (rule.BreachedSinceMicros < 0)
        {
            rule.BreachedSinceMicros = now;
        }

        rule.Status = now - rule.BreachedSinceMicros >= EventTime.FromTimeSpan(spec.For) ? RuleStatus.Firing : RuleStatus.Pending;
    }

    private (bool Enough, bool Condition) EvaluateThreshold(RuleState rule, RuleSpec spec, long now)
    {
        var threshold = spec.Threshold!;
        var (observed, samples) = Read(_canary, _canaryHistory, spec, rule, now, canary: true);
        rule.Samples = samples;
        rule.Observed = samples > 0 ? observed : null;
        var enough = samples >= Math.Max(1, spec.MinSamples);

        var min = threshold.Min;
        var max = threshold.Max;
        if (threshold.IsRelative)
        {
            var (baseline, baselineSamples) = Read(_baseline, _baselineHistory, spec, rule, now, canary: false);
            rule.BaselineSamples = baselineSamples;
            rule.Baseline = baselineSamples > 0 ? baseline : null;
            enough &= baselineSamples >= Math.Max(1, spec.MinSamples);
            (min, max) = threshold.Resolve(baseline);
        }

        if (!enough)
        {
            rule.Threshold = max ?? min;
            return (false, false);
        }

        if (max is { } hi && observed > hi)
        {
            rule.Threshold = hi;
            rule.Bound = BoundSide.Upper;
            return (true, true);
        }

        if (min is { } lo && observed < lo)
        {
            rule.Threshold = lo;
            rule.Bound = BoundSide.Lower;
            return (true, true);
        }

        rule.Threshold = max ?? min;
        rule.Bound = max is null ? BoundSide.Lower : BoundSide.Upper;
        return (true, false);
    }

    /// <summary>The signal's value for one version and how many samples it rests on.</summary>
    private (double Value, long Samples) Read(Series? series, CountHistory history, RuleSpec spec, RuleState rule, long now, bool canary)
    {
        if (series is null)
        {
            return (0, 0);
        }

        var signal = spec.Signal;
        switch (signal.Kind)
        {
            case SignalKind.ErrorRate:
            case SignalKind.SuccessRate:
            case SignalKind.Throughput:
            case SignalKind.ThroughputDrop:
            {
                var (requests, errors, span) = CountsOver(series, history, rule.WindowMicros, now);
                if (signal.Kind == SignalKind.ErrorRate)
                {
                    return (requests == 0 ? 0 : (double)errors / requests, requests);
                }

                if (signal.Kind == SignalKind.SuccessRate)
                {
                    return (requests == 0 ? 0 : 100.0 * (requests - errors) / requests, requests);
                }

                var rps = span <= 0 ? 0 : requests * 1_000_000.0 / span;
                if (signal.Kind == SignalKind.Throughput || !canary)
                {
                    return (rps, requests);
                }

                // Throughput drop: the canary against what its weight predicts from the baseline.
                var (baselineRequests, _, baselineSpan) = _baseline is null ? (0, 0, 0) : CountsOver(_baseline, _baselineHistory, rule.WindowMicros, now);
                if (Weight is <= 0 or >= 100 || baselineRequests == 0 || baselineSpan <= 0)
                {
                    return (0, 0);
                }

                var expected = baselineRequests * 1_000_000.0 / baselineSpan * Weight / (100 - Weight);
                return (1 - (rps / expected), Math.Min(requests, baselineRequests));
            }

            case SignalKind.Latency:
            {
                var window = series.Requests;
                rule.WindowMicros = Math.Min(rule.WindowMicros, EventTime.FromTimeSpan(window.Options.Length));
                return (window.LatencyAtQuantile(signal.Quantile) / 1_000.0, window.Requests);
            }

            default:
            {
                var metric = series.Signal(signal.Metric!);
                if (metric is null)
                {
                    return (0, 0);
                }

                var s = metric.Snapshot();
                var value = signal.Aggregation switch
                {
                    MetricAggregation.Min => s.Min,
                    MetricAggregation.Max => s.Max,
                    MetricAggregation.Mean => s.Mean,
                    MetricAggregation.Rate => s.Rate,
                    MetricAggregation.Sum => s.Sum,
                    _ => s.Last,
                };
                return (value, s.Samples);
            }
        }
    }

    /// <summary>Counts over a window: the series' event-time buckets when the window fits in them, else the gate's history.</summary>
    private static (long Requests, long Errors, long SpanMicros) CountsOver(Series series, CountHistory history, long windowMicros, long now)
    {
        var window = series.Requests;
        return windowMicros <= EventTime.FromTimeSpan(window.Options.Length)
            ? window.CountsOver(windowMicros)
            : history.Over(now, windowMicros);
    }

    private (bool Enough, bool Condition) EvaluateBudget(RuleState rule, ErrorBudgetSpec budget, long now)
    {
        var (requests, errors) = CanaryLifetime;
        var elapsed = now - StartedMicros;
        rule.Samples = requests;
        rule.WindowMicros = elapsed;
        rule.Threshold = budget.MaxConsumed;
        rule.Bound = BoundSide.Upper;
        if (requests < Math.Max(1, rule.Spec.MinSamples))
        {
            return (false, false);
        }

        var consumed = (double)errors / requests / (1 - budget.Slo) * elapsed / EventTime.FromTimeSpan(budget.Period);
        rule.Observed = consumed;
        // The rule speaks only about the rollout's first `within`.
        return (true, elapsed <= EventTime.FromTimeSpan(budget.Within) && consumed > budget.MaxConsumed);
    }

    private (bool Enough, bool Condition) EvaluateBurnRate(RuleState rule, BurnRateSpec burn, long now)
    {
        var (requests, _) = CanaryLifetime;
        rule.Samples = requests;
        rule.Bound = BoundSide.Upper;
        if (requests < Math.Max(1, rule.Spec.MinSamples) || _canary is null)
        {
            return (false, false);
        }

        var allowed = 1 - burn.Slo;
        var worst = double.NegativeInfinity;
        var fires = false;
        foreach (var pair in burn.Windows)
        {
            var longBurn = BurnOver(pair.LongWindow, now) / allowed;
            var shortBurn = BurnOver(pair.ShortWindow, now) / allowed;
            var both = Math.Min(longBurn, shortBurn);
            if (both > worst || (both > pair.Factor && !fires))
            {
                worst = both;
                rule.Observed = both;
                rule.Threshold = pair.Factor;
                rule.WindowMicros = EventTime.FromTimeSpan(pair.LongWindow);
            }

            fires |= longBurn > pair.Factor && shortBurn > pair.Factor;
        }

        return (true, fires);
    }

    private double BurnOver(TimeSpan window, long now)
    {
        var (requests, errors, _) = CountsOver(_canary!, _canaryHistory, EventTime.FromTimeSpan(window), now);
        return requests == 0 ? 0 : (double)errors / requests;
    }

    /// <summary>The sequential test's p-value for this rule, on counts since the rollout started.</summary>
    private double SequentialPValue(RuleSpec spec)
    {
        var (cr, ce) = CanaryLifetime;
        var threshold = spec.Threshold;
        if (threshold is null)
        {
            return 1;
        }

        var success = spec.Signal.Kind == SignalKind.SuccessRate;
        if (!threshold.IsRelative)
        {
            // Everything in error-rate terms: success >= min%  <=>  errors <= 1 - min/100.
            var bound = success ? 1 - (threshold.Min ?? 0) / 100.0 : threshold.Max ?? 1;
            return SequentialTest.OneSamplePValue(ce, cr, bound);
        }

        var (br, be) = BaselineLifetime;
        var baselineRate = br == 0 ? 0 : (double)be / br;
        var margin = (threshold.Comparison, success) switch
        {
            (ComparisonKind.BaselineDifference, false) => threshold.Max ?? 0,
            (ComparisonKind.BaselineDifference, true) => (threshold.Min ?? 0) / 100.0,
            (ComparisonKind.BaselineRatio, false) => ((threshold.Max ?? 1) - 1) * baselineRate,
            _ => (1 - (threshold.Min ?? 1)) * (1 - baselineRate),
        };
        return SequentialTest.TwoSamplePValue(ce, cr, be, br, margin);
    }
}
