using BenchmarkDotNet.Running;
using McpGuard.Benchmarks;

// --quick [--breakdown | --large]: one-process self-timed guarded/unguarded comparison; the last line is
// "RATIO guarded/unguarded=x.xx". Otherwise BenchmarkDotNet, e.g. `-- --filter '*CallToolRoundTrip*' --job short`.
if (args.Contains("--quick", StringComparer.Ordinal))
{
    return await QuickComparison.RunAsync(Console.Out, breakdown: args.Contains("--breakdown", StringComparer.Ordinal), large: args.Contains("--large", StringComparer.Ordinal));
}

// --prefilter [files.jsonl...]: detector rules let through by the keyword prefilter (see PrefilterStats).
// --count <mode> <n> [resultChars]: runs n calls of one client after a warm-up and prints CPU time and allocations per call. CPU time
// and allocations are steadier than wall-clock time on a busy machine (see CountRun).
if (args.Length > 0 && args[0] is "--guardcost" or "--guardcost-only")
{
    return await GuardCostRun.RunAsync(Console.Out, args);
}

if (args.Length > 0 && args[0] == "--prefilter")
{
    return PrefilterStats.Run(args[1..]);
}

// --pairs <baseline> <candidate> <pairs> <calls> [resultChars]: the ratio across fresh processes, pair by pair (see PairRun).
if (args.Length >= 5 && args[0] == "--pairs")
{
    var inv = System.Globalization.CultureInfo.InvariantCulture;
    return await PairRun.RunAsync(Console.Out, Enum.Parse<McpGuard.Benchmarks.Infrastructure.ClientMode>(args[1], ignoreCase: true), Enum.Parse<McpGuard.Benchmarks.Infrastructure.ClientMode>(args[2], ignoreCase: true), int.Parse(args[3], inv), int.Parse(args[4], inv), args.Length > 5 ? int.Parse(args[5], inv) : McpGuard.Benchmarks.Infrastructure.Scenario.ResultChars);
}

// --interleaved <processes>: the --quick comparison in that many fresh processes, with the median ratio's interval (see InterleavedRun).
if (args.Length >= 2 && args[0] == "--interleaved")
{
    return await InterleavedRun.RunAsync(Console.Out, int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
}

int countAt = Array.IndexOf(args, "--count");
if (countAt >= 0 && countAt + 2 < args.Length)
{
    return await CountRun.RunAsync(Console.Out, Enum.Parse<McpGuard.Benchmarks.Infrastructure.ClientMode>(args[countAt + 1], ignoreCase: true), int.Parse(args[countAt + 2], System.Globalization.CultureInfo.InvariantCulture), countAt + 3 < args.Length ? int.Parse(args[countAt + 3], System.Globalization.CultureInfo.InvariantCulture) : McpGuard.Benchmarks.Infrastructure.Scenario.ResultChars);
}

BenchmarkSwitcher.FromAssembly(typeof(QuickComparison).Assembly).Run(args);
return 0;
