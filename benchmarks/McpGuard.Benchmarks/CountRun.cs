using System.Diagnostics;
using System.Globalization;
using McpGuard.Benchmarks.Infrastructure;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--count &lt;mode&gt; &lt;n&gt;</c>: one client, a warm-up (3,000 calls, at least 5 s, then until a second passes without a method compiled), then <c>n</c> calls; prints process CPU
/// time and allocated bytes per measured call. Wall-clock numbers on a shared machine drift with the load; allocations do
/// not, and CPU time much less. Where hardware counters exist, <c>perf stat -e instructions:u</c> over two runs with
/// different <c>n</c>, divided by the difference in calls, gives instructions per call (set
/// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c> so idle worker threads do not spin).
/// </summary>
internal static class CountRun
{
    public static async Task<int> RunAsync(TextWriter output, ClientMode mode, int n, int resultChars = Scenario.ResultChars)
    {
        await using RoundTripHarness harness = await RoundTripHarness.StartAsync(mode, resultChars);
        // Warm-up until tiered compilation has settled (see RoundTripHarness.SettleAsync): with 4 KB results 3,000 calls
        // take half a second, and after 5 s hundreds of the round trip's methods were still being recompiled at tier 1.
        TimeSpan warmup = await RoundTripHarness.SettleAsync([harness], 3000, TimeSpan.FromSeconds(5));

        long live0 = GC.GetTotalMemory(forceFullCollection: true);
        var process = Process.GetCurrentProcess();
        process.Refresh();
        TimeSpan cpu0 = process.TotalProcessorTime;
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        long jitted0 = System.Runtime.JitInfo.GetCompiledMethodCount();
        long items0 = ThreadPool.CompletedWorkItemCount;
        long faults0 = MinorFaults();
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        TimeSpan pause0 = GC.GetTotalPauseDuration();
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            await harness.CallAsync();
        }

        wall.Stop();
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalMicroseconds / n;
        double bytes = (double)(GC.GetTotalAllocatedBytes(precise: true) - bytes0) / n;
        long jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitted0;
        double items = (double)(ThreadPool.CompletedWorkItemCount - items0) / n;
        double faults = (double)(MinorFaults() - faults0) / n;
        double pause = (GC.GetTotalPauseDuration() - pause0).TotalMicroseconds / n;
        double retained = (double)(GC.GetTotalMemory(forceFullCollection: true) - live0) / n;
        string gcs = string.Create(CultureInfo.InvariantCulture, $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"COUNT {mode} chars={resultChars} warmup={warmup.TotalSeconds:F0}s n={n} wall={wall.Elapsed.TotalMicroseconds / n:F1}us cpu={cpu:F1}us bytes={bytes:F0} jitted={jitted} threadpool-items={items:F2} minor-faults={faults:F2} gc0/1/2={gcs} gc-pause={pause:F2}us retained-bytes={retained:F1}"));
        return 0;
    }

    /// <summary>Minor page faults of the process so far (<c>/proc/self/stat</c> field 10), or 0 where there is no procfs.</summary>
    private static long MinorFaults()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[7], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
