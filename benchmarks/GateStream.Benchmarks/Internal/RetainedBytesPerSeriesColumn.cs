using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using GateStream.Benchmarks.Core;

namespace GateStream.Benchmarks.Internal;

/// <summary>
/// "Retained/series" for <see cref="SeriesMemoryBenchmarks"/>. Columns are computed in the host process,
/// which cannot see the benchmark process's [GlobalSetup], so the column runs the same measurement
/// (<see cref="SeriesMemoryBenchmarks.MeasureRetainedBytesPerSeries"/>) itself, once.
/// </summary>
internal sealed class RetainedBytesPerSeriesColumn : IColumn
{
    private readonly Lazy<double> _bytesPerSeries = new(
        () => SeriesMemoryBenchmarks.MeasureRetainedBytesPerSeries(SeriesMemoryBenchmarks.MeasuredSeries).BytesPerSeries);

    public string Id => nameof(RetainedBytesPerSeriesColumn);

    public string ColumnName => "Retained/series";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend =>
        $"Heap retained per live series, default window ({SeriesMemoryBenchmarks.MeasuredSeries:N0} series, GC.GetTotalMemory); budget {SeriesMemoryBenchmarks.BudgetBytes / 1024:F0} KiB";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        return benchmarkCase.Descriptor.Type == typeof(SeriesMemoryBenchmarks)
            ? $"{_bytesPerSeries.Value / 1024:F1} KiB"
            : "-";
    }
}
