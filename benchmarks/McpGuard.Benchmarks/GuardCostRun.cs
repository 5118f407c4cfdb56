using System.Diagnostics;
using System.Globalization;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Client;

namespace McpGuard.Benchmarks;

/// <summary>
/// <c>--guardcost [seconds] [resultChars]</c>: the guard's own work per call, without a server. Two clients, one guarded
/// (the round trip's engine) and one not, each over a <see cref="LoopbackClientTransport"/> that answers in the sending
/// thread. Alternating batches, the median per-call wall time of each and their difference; with
/// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c> idle workers do not spin, so wall time is close to CPU time.
/// Run one client alone (<c>--guardcost-only guarded|unguarded seconds</c>) under <c>perf record</c> to see where the
/// difference goes.
/// </summary>
internal static class GuardCostRun
{
    public static async Task<int> RunAsync(TextWriter output, string[] args)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        bool only = args[0] == "--guardcost-only";
        string? which = only ? args[1] : null;
        int seconds = args.Length > (only ? 2 : 1) ? int.Parse(args[only ? 2 : 1], inv) : 20;
        int chars = !only && args.Length > 2 ? int.Parse(args[2], inv) : Scenario.ResultChars;

        await using McpGuardEngine engine = new McpGuardEngineBuilder(Scenario.CreateOptions()).AddEvidenceSink(new NullEvidenceSink()).Build();
        await using McpClient unguarded = await McpClient.CreateAsync(new LoopbackClientTransport(chars));
        await using McpClient guarded = await engine.ConnectAsync(engine.WrapTransport(new LoopbackClientTransport(chars), Scenario.ServerName));
        await guarded.ListToolsAsync();
        McpClient[] clients = which switch { "guarded" => [guarded], "unguarded" => [unguarded], _ => [unguarded, guarded] };
        foreach (McpClient c in clients)
        {
            Scenario.Verify(await c.CallToolAsync(Scenario.ToolName, Scenario.Arguments), "loopback", chars);
        }

        var times = clients.Select(_ => new List<double>()).ToArray();
        var total = Stopwatch.StartNew();
        for (int round = 0; total.Elapsed < TimeSpan.FromSeconds(seconds); round++)
        {
            for (int k = 0; k < clients.Length; k++)
            {
                int i = (k + round) % clients.Length;
                long start = Stopwatch.GetTimestamp();
                for (int j = 0; j < 2000; j++)
                {
                    await clients[i].CallToolAsync(Scenario.ToolName, Scenario.Arguments).ConfigureAwait(false);
                }

                // The first quarter of the run is warm-up (tiered compilation).
                if (total.Elapsed > TimeSpan.FromSeconds(seconds / 4.0))
                {
                    times[i].Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / 2000);
                }
            }
        }

        double[] medians = [.. times.Select(t => t.Order().ElementAt(t.Count / 2))];
        if (clients.Length == 2)
        {
            output.WriteLine(string.Create(inv, $"GUARDCOST chars={chars} rounds={times[0].Count} unguarded={medians[0]:F2}us guarded={medians[1]:F2}us difference={medians[1] - medians[0]:F2}us"));
        }
        else
        {
            output.WriteLine(string.Create(inv, $"GUARDCOST {which} chars={chars} rounds={times[0].Count} {medians[0]:F2}us"));
        }

        return 0;
    }
}
