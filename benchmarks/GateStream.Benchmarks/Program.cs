using BenchmarkDotNet.Running;

// Every suite in this assembly; pick with --filter (see benchmarks/README.md).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
