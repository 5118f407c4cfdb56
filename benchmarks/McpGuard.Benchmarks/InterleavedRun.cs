using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--interleaved &lt;processes&gt;</c>: the <c>--quick</c> comparison repeated in fresh processes. Each child process
/// runs both clients (guarded and unguarded, each with its own in-process server) in alternating batches and reports the
/// ratio of their median per-call times; this run prints every process's ratio, their median and its distribution-free
/// (sign-test) interval. The last line is <c>INTERLEAVED guarded/unguarded=x.xx</c>.
/// </summary>
/// <remarks>
/// Why a second cross-process instrument next to <see cref="PairRun"/>: on the benchmarks doc's VM a process's speed is
/// a property of the process (the same client ran at 67 µs in one process and 85 µs in the next). A pair of
/// <c>--count</c> processes compares two processes, so every pair ratio carries the difference between two process
/// states as well as the guard's cost. Here both clients share one process, so that state cancels inside each ratio
/// (a randomized-block design with the process as the block), and fresh processes still sample the states.
/// </remarks>
internal static partial class InterleavedRun
{
    public static async Task<int> RunAsync(TextWriter output, int processes)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv, $"McpGuard interleaved run: {processes} fresh processes of --quick, {Environment.ProcessorCount} logical CPUs"));
        output.WriteLine("process  unguarded-us  guarded-us  ratio");
        var ratios = new List<double>();
        var baseTimes = new List<double>();
        var guardedTimes = new List<double>();
        for (int i = 0; i < processes; i++)
        {
            (double b, double g) = await RunChildAsync();
            baseTimes.Add(b);
            guardedTimes.Add(g);
            ratios.Add(g / b);
            output.WriteLine(string.Create(inv, $"{i + 1,7}  {b,12:F2}  {g,10:F2}  {g / b,5:F3}"));
        }

        output.WriteLine(string.Create(inv, $"median per-call time over processes: unguarded {PairRun.Median(baseTimes):F1} us, guarded {PairRun.Median(guardedTimes):F1} us"));
        output.WriteLine(PairRun.MedianWithInterval(ratios, "median within-process ratio", "processes", "F3"));
        output.WriteLine(string.Create(inv, $"INTERLEAVED guarded/unguarded={PairRun.Median(ratios):F2}"));
        return 0;
    }

    private static async Task<(double Unguarded, double Guarded)> RunChildAsync()
    {
        ProcessStartInfo start = PairRun.SelfStartInfo();
        start.ArgumentList.Add("--quick");
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        string text = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        Match median = MedianLine().Match(text);
        if (child.ExitCode != 0 || !median.Success)
        {
            throw new InvalidOperationException($"The --quick child failed (exit {child.ExitCode}).");
        }

        return (double.Parse(median.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(median.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    // "median     72.16 (  48098 B)     77.63 (  49569 B)     1.08": the two clients' median per-call times.
    [GeneratedRegex(@"^median\s+([0-9.]+) \(\s*[0-9]+ B\)\s+([0-9.]+) \(", RegexOptions.Multiline)]
    private static partial Regex MedianLine();
}
