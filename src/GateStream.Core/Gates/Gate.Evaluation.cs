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
        var (canaryRequests, canaryErrors) = CanaryLifetime;
        if (canaryRequests > _canaryRequestsSeen)
        {
            _canaryRequestsSeen = canaryRequests;
            _lastCanaryRequestMicros = nowMicros;
        }

        _canaryHistory.Sample(nowMicros, canaryRequests, canaryErrors);
        _lastEvaluatedMicros = nowMicros;
        _baselineHistory.Sample(nowMicros, BaselineLifetime.Requests, BaselineLifetime.Errors);
        SampleChart(nowMicros, canaryRequests, canaryErrors);
        if (_weightFromTraffic)
        {
            AdoptObservedShare(nowMicros);
        }
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
        else if (spec.Confidence is { } confidence)
        {
            (enough, condition) = EvaluateChange(rule, spec, confidence, now);
        }
        else
        {
            (enough, condition) = EvaluateThreshold(rule, spec, now);
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

                if (canary)
                {
                    // The canary's requests are all since the gate started: its rate is over that span at most, or a
                    // young canary would look slow and fire a throughput rule.
                    span = Math.Min(span, now - StartedMicros);
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
                // Quantiles need the histograms, which only the series' event-time window keeps: a longer rule window
                // reads the whole series window (and evidence says so).
                var window = series.Requests;
                rule.WindowMicros = Math.Min(rule.WindowMicros, EventTime.FromTimeSpan(window.Options.Length));
                var (value, samples) = window.LatencyAtQuantileOver(rule.WindowMicros, signal.Quantile);
                return (value / 1_000.0, samples);
            }

            default:
            {
                var metric = series.Signal(signal.Metric!);
                if (metric is null || (spec.Query is not null && metric.LatestSampleMicros <= now - rule.WindowMicros))
                {
                    // A query's result counts for the check it was taken for only: an older one is no value, as a
                    // failed or timed-out query is in Flagger.
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
                // A query rule rests on the one result taken for this check.
                return (value, spec.Query is null ? s.Samples : 1);
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

    /// <summary>
    /// A rule with <c>confidence</c>: fires when the change detector (<see cref="ChangePointTest"/>) on the canary's
    /// error indicator, against the rule's bound in error-rate terms, crosses its alarm level. The window reading
    /// still decides whether there is enough evidence to pass; evidence shows the rate since the estimated change.
    /// </summary>
    private (bool Enough, bool Condition) EvaluateChange(RuleState rule, RuleSpec spec, double confidence, long now)
    {
        var (enough, _) = EvaluateThreshold(rule, spec, now);
        var success = spec.Signal.Kind == SignalKind.SuccessRate;
        var bound = ErrorBound(rule, spec.Threshold!, success);
        var detector = rule.Detector;
        if (bound is { } p0)
        {
            var (requests, errors) = CanaryLifetime;
            detector.Observe(now, requests, errors, p0);
            rule.Threshold = success ? 100 * (1 - p0) : p0;
            rule.Bound = success ? BoundSide.Lower : BoundSide.Upper;
        }

        rule.HasTest = true;
        rule.PValue = ChangePointTest.Level(detector.LogStatistic);
        var fires = bound is not null && detector.LogStatistic >= ChangePointTest.LogThreshold(confidence);
        if (detector.ChangeSinceMicros >= 0 && detector.RequestsSinceChange > 0)
        {
            var rate = (double)detector.ErrorsSinceChange / detector.RequestsSinceChange;
            rule.Observed = success ? 100 * (1 - rate) : rate;
            rule.Samples = detector.RequestsSinceChange;
            rule.WindowMicros = now - detector.ChangeSinceMicros;
        }

        return (enough || fires, fires);
    }

    /// <summary>
    /// The rule's bound as an error rate (p0 of the change detector), or null when it has none yet (no baseline) or
    /// bounds only the good side. Relative bounds add two standard errors of the baseline's rate, so noise in the
    /// baseline makes the test slower, never trigger-happy.
    /// </summary>
    private static double? ErrorBound(RuleState rule, ThresholdSpec threshold, bool success)
    {
        if (!threshold.IsRelative)
        {
            return success ? threshold.Min is { } min ? 1 - (min / 100.0) : null : threshold.Max;
        }

        if (rule.Baseline is not { } baselineValue || rule.BaselineSamples <= 0)
        {
            return null;
        }

        var pb = success ? 1 - (baselineValue / 100.0) : baselineValue;
        var smoothed = ((pb * rule.BaselineSamples) + 0.5) / (rule.BaselineSamples + 1.0);
        var slack = 2 * Math.Sqrt(smoothed * (1 - smoothed) / rule.BaselineSamples);
        double? bound = (threshold.Comparison, success) switch
        {
            (ComparisonKind.BaselineDifference, false) => threshold.Max is { } increase ? pb + increase : null,
            (ComparisonKind.BaselineDifference, true) => threshold.Min is { } decrease ? pb + (decrease / 100.0) : null,
            (ComparisonKind.BaselineRatio, false) => threshold.Max is { } ratio ? pb * ratio : null,
            _ => threshold.Min is { } ratio ? 1 - (ratio * (1 - pb)) : null,
        };
        return bound is { } b ? Math.Min(1, b + slack) : null;
    }
}
