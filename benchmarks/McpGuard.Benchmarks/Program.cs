using BenchmarkDotNet.Running;
using McpGuard.Benchmarks;

// --quick [--breakdown]: one-process self-timed guarded/unguarded comparison; the last line is
// "RATIO guarded/unguarded=x.xx". Otherwise BenchmarkDotNet, e.g. `-- --filter '*CallToolRoundTrip*' --job short`.
if (args.Contains("--quick", StringComparer.Ordinal))
{
    return await QuickComparison.RunAsync(Console.Out, breakdown: args.Contains("--breakdown", StringComparer.Ordinal));
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
