using BenchmarkDotNet.Running;
using McpGuard.Benchmarks;

// --quick [--breakdown]: one-process self-timed guarded/unguarded comparison; the last line is
// "RATIO guarded/unguarded=x.xx". Otherwise BenchmarkDotNet, e.g. `-- --filter '*CallToolRoundTrip*' --job short`.
if (args.Contains("--quick", StringComparer.Ordinal))
{
    return await QuickComparison.RunAsync(Console.Out, breakdown: args.Contains("--breakdown", StringComparer.Ordinal));
}

// --count <mode> <n>: runs n calls of one client after a warm-up and prints CPU time and allocations per call. Meant
// for `perf stat -e instructions:u` (run with two values of n and take the difference): a noise-free proxy on a busy machine.
int countAt = Array.IndexOf(args, "--count");
if (countAt >= 0 && countAt + 2 < args.Length)
{
    return await CountRun.RunAsync(Console.Out, Enum.Parse<McpGuard.Benchmarks.Infrastructure.ClientMode>(args[countAt + 1], ignoreCase: true), int.Parse(args[countAt + 2], System.Globalization.CultureInfo.InvariantCulture));
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
