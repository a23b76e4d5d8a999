using BenchmarkDotNet.Running;

// Every suite in this assembly; pick with --filter (see benchmarks/README.md).
BenchmarkSwitcher.FromAssembly(typeof(GateStream.Benchmarks.Core.ShardApplyBenchmarks).Assembly).Run(args);
