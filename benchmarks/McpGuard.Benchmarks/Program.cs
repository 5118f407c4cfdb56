using BenchmarkDotNet.Running;
using McpGuard.Benchmarks;

// --quick: one-process self-timed guarded/unguarded comparison ending with "RATIO guarded/unguarded=x.xx".
// Otherwise: BenchmarkDotNet, e.g. `-- --filter '*CallToolRoundTrip*' --job short`.
if (args.Contains("--quick", StringComparer.Ordinal))
{
    return await QuickComparison.RunAsync(Console.Out);
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
