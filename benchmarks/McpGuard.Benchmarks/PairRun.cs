using System.Diagnostics;
using System.Globalization;
using McpGuard.Benchmarks.Infrastructure;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--pairs &lt;baseline&gt; &lt;candidate&gt; &lt;pairs&gt; &lt;calls&gt; [resultChars]</c>: the guarded/unguarded ratio across
/// processes. Each pair runs this program twice with <c>--count</c> (one fresh process per client, warm-up then
/// <c>calls</c> measured calls), alternating which client goes first, and divides the two wall-clock times per call.
/// </summary>
/// <remarks>
/// Why: on the 2-core VM of the benchmarks doc one process's round trip differs from the next process's by up to ±30 %
/// for the same client (garbage-collector and page-fault behaviour around the SDK's large-object strings differs from
/// process to process), so a BenchmarkDotNet run with three launches per benchmark decides little. Pairs cancel slow
/// periods of the machine, and the median of many pair ratios with its distribution-free confidence interval (sign
/// test: order statistics of the sorted ratios) says how far the figure can be trusted.
/// </remarks>
internal static class PairRun
{
    public static async Task<int> RunAsync(TextWriter output, ClientMode baseline, ClientMode candidate, int pairs, int calls, int resultChars)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv, $"McpGuard pair run: {candidate} against {baseline}, {pairs} pairs of fresh processes, {calls} measured calls each, {resultChars}-char result, {Environment.ProcessorCount} logical CPUs"));
        output.WriteLine("pair  baseline-us  candidate-us  ratio");
        var ratios = new List<double>();
        var baseTimes = new List<double>();
        var candTimes = new List<double>();
        for (int i = 0; i < pairs; i++)
        {
            double b, c;
            if (i % 2 == 0)
            {
                b = await RunChildAsync(baseline, calls, resultChars);
                c = await RunChildAsync(candidate, calls, resultChars);
            }
            else
            {
                c = await RunChildAsync(candidate, calls, resultChars);
                b = await RunChildAsync(baseline, calls, resultChars);
            }

            baseTimes.Add(b);
            candTimes.Add(c);
            ratios.Add(c / b);
            output.WriteLine(string.Create(inv, $"{i + 1,4}  {b,11:F1}  {c,12:F1}  {c / b,5:F2}"));
        }

        output.WriteLine(string.Create(inv, $"median per-call time: baseline {Median(baseTimes):F1} us, candidate {Median(candTimes):F1} us (ratio of medians {Median(candTimes) / Median(baseTimes):F2})"));
        output.WriteLine(MedianWithInterval(ratios, "median pair ratio", "pairs", "F2"));
        output.WriteLine(string.Create(inv, $"PAIRS {candidate}/{baseline}={Median(ratios):F2}"));
        return 0;
    }

    /// <summary>"<paramref name="what"/> m, 96 % interval [lo, hi], range [min, max]": the median of <paramref name="ratios"/>
    /// with its sign-test interval (see <see cref="SignTestInterval"/>), numbers in <paramref name="format"/>.</summary>
    internal static string MedianWithInterval(List<double> ratios, string what, string samples, string format)
    {
        List<double> sorted = [.. ratios.Order()];
        (int lo, int hi, double coverage) = SignTestInterval(sorted.Count);
        CultureInfo inv = CultureInfo.InvariantCulture;
        string F(double v) => v.ToString(format, inv);
        string range = $"range [{F(sorted[0])}, {F(sorted[^1])}]";
        return lo >= 0
            ? $"{what} {F(Median(sorted))}, {coverage.ToString("P0", inv)} interval [{F(sorted[lo])}, {F(sorted[hi])}], {range}"
            : $"{what} {F(Median(sorted))} (too few {samples} for an interval), {range}";
    }

    /// <summary>A start of this benchmark program in a fresh process, standard output redirected; the caller adds the arguments.</summary>
    internal static ProcessStartInfo SelfStartInfo()
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(PairRun).Assembly.Location); // run as `dotnet McpGuard.Benchmarks.dll`
        }

        return start;
    }

    private static async Task<double> RunChildAsync(ClientMode mode, int calls, int resultChars)
    {
        ProcessStartInfo start = SelfStartInfo();
        foreach (string arg in new[] { "--count", mode.ToString(), calls.ToString(CultureInfo.InvariantCulture), resultChars.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        string text = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        int at = text.IndexOf(" wall=", StringComparison.Ordinal);
        if (child.ExitCode != 0 || at < 0)
        {
            throw new InvalidOperationException($"The --count child for {mode} failed (exit {child.ExitCode}).");
        }

        int end = text.IndexOf("us", at, StringComparison.Ordinal);
        return double.Parse(text.AsSpan(at + 6, end - at - 6), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Indices (0-based, into the sorted sample) of the widest order-statistic interval for the median whose coverage is
    /// at least 95 % (sign test: the number of ratios below the true median is Binomial(n, 1/2)); (-1, -1, 0) below 6.
    /// </summary>
    private static (int Lo, int Hi, double Coverage) SignTestInterval(int n)
    {
        int best = -1;
        double coverage = 0;
        for (int k = 0; k < n / 2; k++)
        {
            double tail = 0; // P(X <= k)
            for (int j = 0; j <= k; j++)
            {
                tail += Choose(n, j) / Math.Pow(2, n);
            }

            if (1 - 2 * tail < 0.95)
            {
                break;
            }

            best = k;
            coverage = 1 - 2 * tail;
        }

        return best < 0 ? (-1, -1, 0) : (best, n - 1 - best, coverage);
    }

    private static double Choose(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++)
        {
            r = r * (n - k + i) / i;
        }

        return r;
    }

    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
