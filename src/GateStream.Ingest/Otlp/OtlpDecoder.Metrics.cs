using System.Runtime.InteropServices;
using GateStream.Core.Windows;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Otlp;

/// <summary>
/// Metrics: each data point becomes samples of signals named by the metric (histograms and summaries:
/// <c>&lt;name&gt;.count</c>, <c>&lt;name&gt;.sum</c> and optionally <c>&lt;name&gt;.mean</c>), grouped per resource.
/// </summary>
public sealed partial class OtlpDecoder
{
    private const ulong TemporalityDelta = 1;
    private const ulong TemporalityCumulative = 2;
    private const ulong NoRecordedValue = 1;

    private const int GaugeField = 5;
    private const int SumField = 7;
    private const int HistogramField = 9;
    private const int ExponentialHistogramField = 10;
    private const int SummaryField = 11;

    private static ReadOnlySpan<byte> CountSuffix => ".count"u8;

    private static ReadOnlySpan<byte> SumSuffix => ".sum"u8;

    private static ReadOnlySpan<byte> MeanSuffix => ".mean"u8;

    private enum PointProblem : byte
    {
        Name,
        Temporality,
        Time,
        Value,
    }

    private enum PointShape : byte
    {
        Number,
        Histogram,
        Summary,
    }

    [StructLayout(LayoutKind.Auto)]
    private struct PointFacts
    {
        public ulong TimeNanos;
        public ulong Flags;
        public bool HasValue;
        public double Value;
        public ulong Count;
        public bool HasSum;
        public double Sum;
    }

    private bool DecodeScopeMetrics(ReadOnlySpan<byte> data, int origin, scoped ref ResourceKey key, bool keyOk, ref long refused)
    {
        var reader = new WireReader(data, origin, "ScopeMetrics", ref _error);
        while (reader.TryReadNext(2, "metrics", out var metric, out var metricOrigin))
        {
            if (!DecodeMetric(metric, metricOrigin, ref key, keyOk, ref refused))
            {
                return false;
            }
        }

        return !reader.Failed;
    }

    private bool DecodeMetric(ReadOnlySpan<byte> data, int origin, scoped ref ResourceKey key, bool keyOk, ref long refused)
    {
        // The name may follow the data on the wire, and the data is a oneof (the last member wins): find both first.
        ReadOnlySpan<byte> name = default;
        ReadOnlySpan<byte> body = default;
        var bodyOrigin = 0;
        var kind = 0;
        var reader = new WireReader(data, origin, "Metric", ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            switch (field)
            {
                case 1:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "name") || !reader.TryReadLengthDelimited(out name, out _))
                    {
                        return false;
                    }

                    break;
                case GaugeField or SumField or HistogramField or ExponentialHistogramField or SummaryField:
                    if (!reader.Expect(wire, WireType.LengthDelimited, DataFieldName(field)) || !reader.TryReadLengthDelimited(out body, out bodyOrigin))
                    {
                        return false;
                    }

                    kind = field;
                    break;
                default:
                    if (!reader.TrySkip(wire))
                    {
                        return false;
                    }

                    break;
            }
        }

        if (kind == 0)
        {
            return true;
        }

        var container = DataMessageName(kind);
        var shape = kind switch
        {
            GaugeField or SumField => PointShape.Number,
            SummaryField => PointShape.Summary,
            _ => PointShape.Histogram,
        };

        // Gauges and summaries carry no temporality; for the others it may follow the points, so read it first.
        ulong temporality = kind == SummaryField ? TemporalityCumulative : 0;
        var monotonic = true;
        if (kind is SumField or HistogramField or ExponentialHistogramField
            && !ReadTemporality(body, bodyOrigin, container, kind == SumField, out temporality, out monotonic))
        {
            return false;
        }

        var sampleKind = kind switch
        {
            GaugeField => MetricKind.Gauge,
            // A sum that goes up and down is a level (queue length, pool in use): its readings are what matter.
            SumField when !monotonic && temporality == TemporalityCumulative => MetricKind.Gauge,
            _ => temporality switch
            {
                TemporalityDelta => MetricKind.SumDelta,
                TemporalityCumulative => MetricKind.SumCumulative,
                _ => (MetricKind)0,
            },
        };

        var longestSuffix = shape == PointShape.Number ? 0 : CountSuffix.Length;
        var nameOk = !name.IsEmpty && name.Length + longestSuffix <= _options.MaxSignalNameBytes && IsCleanUtf8(name);
        var pointReader = new WireReader(body, bodyOrigin, container, ref _error);
        while (pointReader.TryReadNext(1, "data_points", out var point, out var pointOrigin))
        {
            if (!DecodePoint(point, pointOrigin, shape, out var facts))
            {
                return false;
            }

            if ((facts.Flags & NoRecordedValue) != 0 || (shape == PointShape.Number && !facts.HasValue))
            {
                _ignored++;
            }
            else if (!keyOk)
            {
                refused++;
            }
            else if (!nameOk)
            {
                RejectPoint(name, PointProblem.Name, container, longestSuffix);
            }
            else if (sampleKind == 0)
            {
                RejectPoint(name, PointProblem.Temporality, container, longestSuffix);
            }
            else if (facts.TimeNanos == 0)
            {
                RejectPoint(name, PointProblem.Time, container, longestSuffix);
            }
            else if (!double.IsFinite(facts.Value) || (facts.HasSum && !double.IsFinite(facts.Sum)))
            {
                RejectPoint(name, PointProblem.Value, container, longestSuffix);
            }
            else
            {
                Record(ref key, name, shape, sampleKind, in facts);
                _accepted++;
            }
        }

        return !pointReader.Failed;
    }

    private void Record(scoped ref ResourceKey key, ReadOnlySpan<byte> name, PointShape shape, MetricKind kind, in PointFacts point)
    {
        var batch = MetricBatchFor(ref key);
        var time = (long)(point.TimeNanos / 1_000);
        if (shape == PointShape.Number)
        {
            batch.Add(name, time, point.Value, kind);
            return;
        }

        batch.Add(Suffixed(name, CountSuffix), time, point.Count, kind);
        if (point.HasSum)
        {
            batch.Add(Suffixed(name, SumSuffix), time, point.Sum, kind);
            if (_options.HistogramMean && point.Count > 0)
            {
                batch.Add(Suffixed(name, MeanSuffix), time, point.Sum / point.Count, MetricKind.Gauge);
            }
        }
    }

    private ReadOnlySpan<byte> Suffixed(ReadOnlySpan<byte> name, ReadOnlySpan<byte> suffix)
    {
        // The name was checked against MaxSignalNameBytes with the longest suffix, the scratch's size.
        name.CopyTo(_nameScratch);
        suffix.CopyTo(_nameScratch.AsSpan(name.Length));
        return _nameScratch.AsSpan(0, name.Length + suffix.Length);
    }

    private void RejectPoint(ReadOnlySpan<byte> name, PointProblem problem, string container, int suffix)
    {
        _rejected++;
        if (!WantsProblem)
        {
            return;
        }

        var limit = _options.MaxSignalNameBytes - suffix;
        var why = problem switch
        {
            PointProblem.Name when name.IsEmpty => "its name is empty",
            PointProblem.Name when name.Length > limit => suffix == 0
                ? $"its name is {name.Length} bytes, over the {limit}-byte limit"
                : $"its name is {name.Length} bytes, over the {limit}-byte limit (its signals get a suffix such as '.count' and may have {_options.MaxSignalNameBytes})",
            PointProblem.Name => "its name is not valid UTF-8 or contains control characters",
            PointProblem.Temporality => $"the {container.ToLowerInvariant()} has no aggregation_temporality",
            PointProblem.Time => "the data point has no time_unix_nano",
            _ => "the data point's value is not a finite number",
        };
        NoteProblem($"resource_metrics[{_resourceIndex}]: metric '{Printable(name)}': {why}; data point rejected");
    }

    private bool ReadTemporality(ReadOnlySpan<byte> data, int origin, string container, bool isSum, out ulong temporality, out bool monotonic)
    {
        temporality = 0;
        monotonic = false;
        var reader = new WireReader(data, origin, container, ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            if (field == 2)
            {
                if (!reader.Expect(wire, WireType.Varint, "aggregation_temporality") || !reader.TryReadVarint(out temporality))
                {
                    return false;
                }
            }
            else if (field == 3 && isSum)
            {
                if (!reader.Expect(wire, WireType.Varint, "is_monotonic") || !reader.TryReadVarint(out var flag))
                {
                    return false;
                }

                monotonic = flag != 0;
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        if (!isSum)
        {
            monotonic = true;
        }

        return true;
    }

    /// <summary>
    /// Reads time, flags and the value (number points) or count and sum (histogram, exponential histogram and summary
    /// points, which share those field numbers).
    /// </summary>
    private bool DecodePoint(ReadOnlySpan<byte> data, int origin, PointShape shape, out PointFacts point)
    {
        point = default;
        // A summary's sum is a plain double: present even when zero.
        point.HasSum = shape == PointShape.Summary;
        var flagsField = shape == PointShape.Histogram ? 10 : 8;
        var reader = new WireReader(data, origin, PointMessageName(shape), ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            if (field == 3)
            {
                if (!reader.Expect(wire, WireType.Fixed64, "time_unix_nano") || !reader.TryReadFixed64(out point.TimeNanos))
                {
                    return false;
                }
            }
            else if (field == flagsField)
            {
                if (!reader.Expect(wire, WireType.Varint, "flags") || !reader.TryReadVarint(out point.Flags))
                {
                    return false;
                }
            }
            else if (shape == PointShape.Number && field is 4 or 6)
            {
                if (!reader.Expect(wire, WireType.Fixed64, field == 4 ? "as_double" : "as_int") || !reader.TryReadFixed64(out var bits))
                {
                    return false;
                }

                point.Value = field == 4 ? BitConverter.UInt64BitsToDouble(bits) : (long)bits;
                point.HasValue = true;
            }
            else if (shape != PointShape.Number && field == 4)
            {
                if (!reader.Expect(wire, WireType.Fixed64, "count") || !reader.TryReadFixed64(out point.Count))
                {
                    return false;
                }
            }
            else if (shape != PointShape.Number && field == 5)
            {
                if (!reader.Expect(wire, WireType.Fixed64, "sum") || !reader.TryReadDouble(out point.Sum))
                {
                    return false;
                }

                point.HasSum = true;
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        return true;
    }

    private static string DataFieldName(int field) => field switch
    {
        GaugeField => "gauge",
        SumField => "sum",
        HistogramField => "histogram",
        ExponentialHistogramField => "exponential_histogram",
        _ => "summary",
    };

    private static string DataMessageName(int field) => field switch
    {
        GaugeField => "Gauge",
        SumField => "Sum",
        HistogramField => "Histogram",
        ExponentialHistogramField => "ExponentialHistogram",
        _ => "Summary",
    };

    private static string PointMessageName(PointShape shape) => shape switch
    {
        PointShape.Number => "NumberDataPoint",
        PointShape.Histogram => "HistogramDataPoint",
        _ => "SummaryDataPoint",
    };
}
