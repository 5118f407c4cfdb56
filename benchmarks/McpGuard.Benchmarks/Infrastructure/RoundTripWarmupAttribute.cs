using BenchmarkDotNet.Attributes;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// 30 warm-up iterations for the round-trip benchmarks, whatever the job says: the guarded client's code (not precompiled,
/// unlike much of the framework) keeps moving up the JIT tiers for several seconds, and with the 10 of <c>--job medium</c>
/// the per-iteration times were still falling through the whole measurement (155 µs to 118 µs in one launch). Steady
/// state is what a long-running agent host sees.
/// </summary>
internal sealed class RoundTripWarmupAttribute() : WarmupCountAttribute(30);
