using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// One <c>McpClient.CallToolAsync</c> round trip to the SDK's real in-process server: allowed call,
/// <c>{"path":"/data/a.txt"}</c> checked by an <see cref="ArgumentRule"/> with allowed roots, 4 KB text result.
/// The unguarded client is the baseline, so BenchmarkDotNet prints the guarded/unguarded ratio.
/// </summary>
[MemoryDiagnoser]
[RoundTripWarmup]
public class CallToolRoundTripBenchmarks
{
    private RoundTripHarness _unguarded = null!;
    private RoundTripHarness _guarded = null!;
    private RoundTripHarness _guardedJsonLines = null!;
    private RoundTripHarness _guardedIsolation = null!;
    private RoundTripHarness _passThrough = null!;
    private RoundTripHarness _passThroughInline = null!;
    private RoundTripHarness _pullThrough = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _unguarded = await RoundTripHarness.StartAsync(ClientMode.Unguarded);
        _guarded = await RoundTripHarness.StartAsync(ClientMode.Guarded);
        _guardedJsonLines = await RoundTripHarness.StartAsync(ClientMode.GuardedJsonLines);
        _guardedIsolation = await RoundTripHarness.StartAsync(ClientMode.GuardedIsolation);
        _passThrough = await RoundTripHarness.StartAsync(ClientMode.PassThroughPump);
        _passThroughInline = await RoundTripHarness.StartAsync(ClientMode.PassThroughInline);
        _pullThrough = await RoundTripHarness.StartAsync(ClientMode.PullThrough);

        // Every client warmed up until tiered compilation settles, before BenchmarkDotNet's own warm-up (see SettleAsync).
        await RoundTripHarness.SettleAsync([_unguarded, _guarded, _guardedJsonLines, _guardedIsolation, _passThrough, _passThroughInline, _pullThrough], 1000, TimeSpan.FromSeconds(3));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _unguarded.DisposeAsync();
        await _guarded.DisposeAsync();
        await _guardedJsonLines.DisposeAsync();
        await _guardedIsolation.DisposeAsync();
        await _passThrough.DisposeAsync();
        await _passThroughInline.DisposeAsync();
        await _pullThrough.DisposeAsync();
    }

    /// <summary>The SDK client straight over the stream transport.</summary>
    [Benchmark(Baseline = true)]
    public ValueTask<CallToolResult> Unguarded() => _unguarded.CallAsync();

    /// <summary>Through McpGuard: inventory, visibility, argument rule, decision and outcome evidence to a no-op sink.</summary>
    [Benchmark]
    public ValueTask<CallToolResult> Guarded() => _guarded.CallAsync();

    /// <summary>As <see cref="Guarded"/>, with the JSON Lines evidence file sink (two lines per call).</summary>
    [Benchmark]
    public ValueTask<CallToolResult> GuardedJsonLines() => _guardedJsonLines.CallAsync();

    /// <summary>As <see cref="Guarded"/>, with content isolation on (sanitizer and injection detector on the result).</summary>
    [Benchmark]
    public ValueTask<CallToolResult> GuardedIsolation() => _guardedIsolation.CallAsync();

    /// <summary>Diagnostic: a decorator with the guard's pump-and-channel hop but no policy work.</summary>
    [Benchmark]
    public ValueTask<CallToolResult> PassThroughPump() => _passThrough.CallAsync();

    /// <summary>Diagnostic: as <see cref="PassThroughPump"/> with synchronous continuations on the decorator's channel.</summary>
    [Benchmark]
    public ValueTask<CallToolResult> PassThroughInline() => _passThroughInline.CallAsync();

    /// <summary>Diagnostic: a decorator without a pump, processing messages in the session's own read.</summary>
    [Benchmark]
    public ValueTask<CallToolResult> PullThrough() => _pullThrough.CallAsync();
}
