using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// The isolation target: one <c>CallToolAsync</c> round trip with a 64 KB text result (the same line-structured text as
/// the 4 KB scenario), unguarded vs guarded with content isolation at its defaults (sanitizer and injection detector on the
/// result). <c>Guarded</c> (isolation off) separates the foundation's share. Target: <c>GuardedIsolation</c> ratio ≤ 1.30.
/// </summary>
[MemoryDiagnoser]
[RoundTripWarmup]
public class CallToolRoundTrip64KBenchmarks
{
    private RoundTripHarness _unguarded = null!;
    private RoundTripHarness _guarded = null!;
    private RoundTripHarness _guardedIsolation = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _unguarded = await RoundTripHarness.StartAsync(ClientMode.Unguarded, Scenario.LargeResultChars);
        _guarded = await RoundTripHarness.StartAsync(ClientMode.Guarded, Scenario.LargeResultChars);
        _guardedIsolation = await RoundTripHarness.StartAsync(ClientMode.GuardedIsolation, Scenario.LargeResultChars);

        // Every client warmed up until tiered compilation settles, before BenchmarkDotNet's own warm-up (see SettleAsync).
        await RoundTripHarness.SettleAsync([_unguarded, _guarded, _guardedIsolation], 1000, TimeSpan.FromSeconds(3));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _unguarded.DisposeAsync();
        await _guarded.DisposeAsync();
        await _guardedIsolation.DisposeAsync();
    }

    /// <summary>The SDK client straight over the stream transport.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<CallToolResult> Unguarded64K() => _unguarded.CallAsync();

    /// <summary>Through McpGuard, foundation stages only (isolation off).</summary>
    [Benchmark]
    public ValueTask<CallToolResult> Guarded64K() => _guarded.CallAsync();

    /// <summary>Through McpGuard with content isolation at its defaults.</summary>
    [Benchmark]
    public ValueTask<CallToolResult> GuardedIsolation64K() => _guardedIsolation.CallAsync();
}
