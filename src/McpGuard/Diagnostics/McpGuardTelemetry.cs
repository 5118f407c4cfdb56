using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace McpGuard.Diagnostics;

/// <summary>The one <see cref="ActivitySource"/> and one <see cref="Meter"/> of McpGuard, both named <c>McpGuard</c>.</summary>
/// <remarks>Attribute names are <c>mcpguard.*</c>. Instruments check for listeners before allocating.</remarks>
internal static class McpGuardTelemetry
{
    public const string Name = "McpGuard";

    public static readonly ActivitySource ActivitySource = new(Name, typeof(McpGuardTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(Name, typeof(McpGuardTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Count of tool-call decisions; tags <c>mcpguard.server</c>, <c>mcpguard.decision</c>, <c>mcpguard.rule_id</c>.</summary>
    public static readonly Counter<long> Decisions = Meter.CreateCounter<long>("mcpguard.decisions", unit: "{decision}", description: "Tool-call decisions made by McpGuard.");

    /// <summary>Time spent deciding on a call, excluding approval wait; milliseconds.</summary>
    public static readonly Histogram<double> DecisionDuration = Meter.CreateHistogram<double>("mcpguard.decision.duration", unit: "ms", description: "Time McpGuard spent evaluating a tool call, excluding approval wait.");

    /// <summary>Count of evidence events by kind; tag <c>mcpguard.evidence.kind</c>.</summary>
    public static readonly Counter<long> EvidenceEvents = Meter.CreateCounter<long>("mcpguard.evidence.events", unit: "{event}", description: "Evidence events emitted by McpGuard.");

    /// <summary>Count of evidence writes that failed.</summary>
    public static readonly Counter<long> EvidenceFailures = Meter.CreateCounter<long>("mcpguard.evidence.failures", unit: "{event}", description: "Evidence events that a sink failed to write.");
}
