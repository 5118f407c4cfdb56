using System.Diagnostics;
using System.Globalization;
using McpGuard.Benchmarks.Infrastructure;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--quick</c>: a self-timed guarded/unguarded comparison in one process. The clients are warmed up, then measured
/// in alternating batches (the order rotates every round so drift hits all alike); the result is the ratio of the
/// median per-call times. Finishes well within two minutes; the last line is <c>RATIO guarded/unguarded=x.xx</c>.
/// <c>--breakdown</c> adds the diagnostic clients (pass-through decorator, JSON Lines sink) to the rotation.
/// <c>--large</c> compares the 64 KB round trip instead: <c>GuardedIsolation</c> (the isolation target) against
/// <c>Unguarded</c>, with <c>Guarded</c> (isolation off) alongside; the last line is then
/// <c>RATIO guarded-isolation-64k/unguarded=x.xx</c>.
/// </summary>
internal static class QuickComparison
{
    private const int Rounds = 9;
    private static readonly TimeSpan s_warmup = TimeSpan.FromSeconds(10); // the guard's code keeps tiering up for several seconds
    private static readonly TimeSpan s_targetBatch = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(TextWriter output, bool breakdown, bool large = false)
    {
        int chars = large ? Scenario.LargeResultChars : Scenario.ResultChars;
        var total = Stopwatch.StartNew();
        CultureInfo inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv, $"McpGuard quick comparison: CallToolAsync round trip over the in-process transport, {chars}-char result, .NET {Environment.Version}, {Environment.ProcessorCount} logical CPUs"));

        ClientMode[] modes = large
            ? [ClientMode.Unguarded, ClientMode.GuardedIsolation, ClientMode.Guarded]
            : breakdown
            ? [ClientMode.Unguarded, ClientMode.Guarded, ClientMode.PassThroughPump, ClientMode.PassThroughInline, ClientMode.PullThrough, ClientMode.GuardedJsonLines]
            : [ClientMode.Unguarded, ClientMode.Guarded];
        var harnesses = new RoundTripHarness[modes.Length];
        try
        {
            for (int i = 0; i < modes.Length; i++)
            {
                harnesses[i] = await RoundTripHarness.StartAsync(modes[i], chars);
            }

            // Warm up all clients (JIT tiering, pools), alternating.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < s_warmup)
            {
                foreach (RoundTripHarness h in harnesses)
                {
                    await RunBatchAsync(h, 200);
                }
            }

            // Calibrate N on the slowest client so one batch takes about s_targetBatch.
            double perCall = 0;
            foreach (RoundTripHarness h in harnesses)
            {
                perCall = Math.Max(perCall, (await RunBatchAsync(h, 500)).PerCallMicroseconds);
            }

            int n = (int)Math.Clamp(s_targetBatch.TotalMilliseconds * 1000 / perCall / (modes.Length / 2.0), 200, 200_000);
            output.WriteLine(string.Create(inv, $"warm-up {warm.Elapsed.TotalSeconds:F1} s; {Rounds} rounds x {n} calls per client; us/call (process-wide bytes/call)"));
            output.WriteLine("round  " + string.Join("  ", modes.Select(m => $"{m,24}")) + "  guarded/unguarded");

            var times = modes.Select(_ => new List<double>()).ToArray();
            var bytes = modes.Select(_ => new List<double>()).ToArray();
            for (int round = 1; round <= Rounds && total.Elapsed < s_budget; round++)
            {
                var row = new BatchResult[modes.Length];
                for (int k = 0; k < modes.Length; k++)
                {
                    int i = (k + round) % modes.Length;
                    row[i] = await RunBatchAsync(harnesses[i], n);
                }

                for (int i = 0; i < modes.Length; i++)
                {
                    times[i].Add(row[i].PerCallMicroseconds);
                    bytes[i].Add(row[i].BytesPerCall);
                }

                output.WriteLine(string.Create(inv, $"{round,5}  {string.Join("  ", row.Select(r => Cell(r.PerCallMicroseconds, r.BytesPerCall)))}  {row[1].PerCallMicroseconds / row[0].PerCallMicroseconds,17:F2}"));
            }

            double[] medians = [.. times.Select(Median)];
            output.WriteLine(string.Create(inv, $"median {string.Join("  ", medians.Select((m, i) => Cell(m, Median(bytes[i]))))}  {medians[1] / medians[0],17:F2}"));
            for (int i = 2; i < modes.Length; i++)
            {
                output.WriteLine(string.Create(inv, $"{modes[i]}/unguarded={medians[i] / medians[0]:F2}"));
            }

            output.WriteLine(string.Create(inv, $"(bytes include the client, the guard and the in-process server; total time {total.Elapsed.TotalSeconds:F1} s)"));
            output.WriteLine(string.Create(inv, $"RATIO {(large ? "guarded-isolation-64k" : "guarded")}/unguarded={medians[1] / medians[0]:F2}"));
            return 0;
        }
        finally
        {
            foreach (RoundTripHarness? h in harnesses)
            {
                if (h is not null)
                {
                    await h.DisposeAsync();
                }
            }
        }
    }

    private static string Cell(double us, double bytesPerCall) => string.Create(CultureInfo.InvariantCulture, $"{us,10:F2} ({bytesPerCall,7:F0} B)").PadLeft(24);

    private static async Task<BatchResult> RunBatchAsync(RoundTripHarness harness, int calls)
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: false);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
        {
            await harness.CallAsync().ConfigureAwait(false);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        long bytes = GC.GetTotalAllocatedBytes(precise: false) - allocated;
        return new BatchResult(elapsed.TotalMicroseconds / calls, (double)bytes / calls);
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private readonly record struct BatchResult(double PerCallMicroseconds, double BytesPerCall);
}
