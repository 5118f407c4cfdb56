using BenchmarkDotNet.Attributes;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// 80 warm-up iterations for the round-trip benchmarks, whatever the job says: about 3,300 methods (the SDK's, System.Text.Json's
/// and the guard's; none of the guard's is precompiled) move up the JIT tiers in the background during the first ~30,000
/// calls, several seconds on two cores. With 10 warm-ups (<c>--job medium</c>) the per-iteration times were still falling
/// through the whole measurement (155 µs to 118 µs in one launch); with 30, the first half of a launch's guarded
/// iterations still ran at 110–165 µs and the second half at 84–93 µs, level with the baseline. <c>--count</c> shows the
/// methods jitted during measured calls; it levels off (3,279 after 30,000 calls, 3,299 after 120,000). Steady state is
/// what a long-running agent host sees.
/// </summary>
internal sealed class RoundTripWarmupAttribute() : WarmupCountAttribute(80);
