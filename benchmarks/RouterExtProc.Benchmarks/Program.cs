using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(RouterExtProc.Benchmarks.ParsingBenchmarks).Assembly).Run(args);
