using System.Diagnostics;
using System.Globalization;
using McpGuard.Benchmarks.Infrastructure;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--quick</c>: a self-timed guarded/unguarded comparison in one process. Both clients are warmed up, then
/// measured in alternating batches (order flipped every round so drift hits both alike); the result is the ratio of
/// the median per-call times. Finishes well within two minutes; the last line is <c>RATIO guarded/unguarded=x.xx</c>.
/// </summary>
internal static class QuickComparison
{
    private const int Rounds = 9;
    private static readonly TimeSpan s_warmup = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan s_targetBatch = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(90);

    public static async Task<int> RunAsync(TextWriter output)
    {
        var total = Stopwatch.StartNew();
        CultureInfo inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv, $"McpGuard quick comparison: CallToolAsync round trip over the in-process transport, {Scenario.ResultChars}-char result, .NET {Environment.Version}, {Environment.ProcessorCount} logical CPUs"));

        await using RoundTripHarness unguarded = await RoundTripHarness.StartAsync(ClientMode.Unguarded);
        await using RoundTripHarness guarded = await RoundTripHarness.StartAsync(ClientMode.Guarded);

        // Warm up both (JIT tiering, pools), alternating.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < s_warmup)
        {
            await RunBatchAsync(unguarded, 200);
            await RunBatchAsync(guarded, 200);
        }

        // Calibrate N on the slower of the two so one batch takes about s_targetBatch.
        double perCall = Math.Max((await RunBatchAsync(unguarded, 500)).PerCallMicroseconds, (await RunBatchAsync(guarded, 500)).PerCallMicroseconds);
        int n = (int)Math.Clamp(s_targetBatch.TotalMilliseconds * 1000 / perCall, 200, 200_000);
        output.WriteLine(string.Create(inv, $"warm-up {warm.Elapsed.TotalSeconds:F1} s; {Rounds} rounds x {n} calls per client"));
        output.WriteLine("round  unguarded us/call  guarded us/call  ratio  unguarded B/call  guarded B/call");

        var u = new List<double>();
        var g = new List<double>();
        var ua = new List<double>();
        var ga = new List<double>();
        for (int round = 1; round <= Rounds && total.Elapsed < s_budget; round++)
        {
            BatchResult bu;
            BatchResult bg;
            if (round % 2 == 1)
            {
                bu = await RunBatchAsync(unguarded, n);
                bg = await RunBatchAsync(guarded, n);
            }
            else
            {
                bg = await RunBatchAsync(guarded, n);
                bu = await RunBatchAsync(unguarded, n);
            }

            u.Add(bu.PerCallMicroseconds);
            g.Add(bg.PerCallMicroseconds);
            ua.Add(bu.BytesPerCall);
            ga.Add(bg.BytesPerCall);
            output.WriteLine(string.Create(inv, $"{round,5}  {bu.PerCallMicroseconds,17:F2}  {bg.PerCallMicroseconds,15:F2}  {bg.PerCallMicroseconds / bu.PerCallMicroseconds,5:F2}  {bu.BytesPerCall,16:F0}  {bg.BytesPerCall,14:F0}"));
        }

        double mu = Median(u);
        double mg = Median(g);
        output.WriteLine(string.Create(inv, $"median  {mu,16:F2}  {mg,15:F2}  {mg / mu,5:F2}  {Median(ua),16:F0}  {Median(ga),14:F0}"));
        output.WriteLine(string.Create(inv, $"(bytes are process-wide allocations per call: client, guard and in-process server; total time {total.Elapsed.TotalSeconds:F1} s)"));
        output.WriteLine(string.Create(inv, $"RATIO guarded/unguarded={mg / mu:F2}"));
        return 0;
    }

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
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private readonly record struct BatchResult(double PerCallMicroseconds, double BytesPerCall);
}
