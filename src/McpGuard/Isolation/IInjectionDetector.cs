namespace McpGuard;

/// <summary>Where a scanned text came from; detectors may weigh cues differently per target.</summary>
public enum ScanTarget
{
    /// <summary>A tool's name, title or description (<c>tools/list</c>).</summary>
    ToolMetadata,

    /// <summary>Text inside a tool's input or output schema (property descriptions, defaults, enum values).</summary>
    SchemaText,

    /// <summary>A tool result's text, structured content or embedded resource.</summary>
    ToolResult,

    /// <summary>A <c>resources/read</c> content.</summary>
    Resource,

    /// <summary>A <c>prompts/get</c> message.</summary>
    Prompt,
}

/// <summary>One suspicious span found by a detector.</summary>
/// <param name="RuleId">Stable rule id, e.g. <c>injection.fake-role-marker</c>.</param>
/// <param name="Start">Start of the span in the scanned text (UTF-16 code units).</param>
/// <param name="Length">Length of the span (UTF-16 code units).</param>
/// <param name="Score">Contribution of this finding, 0–1.</param>
/// <param name="Explanation">Host-facing explanation (never shown to the model).</param>
public sealed record InjectionFinding(string RuleId, int Start, int Length, double Score, string Explanation);

/// <summary>The result of scanning one text.</summary>
/// <param name="Score">Overall score, 0 (clean) to 1 (certainly an injection).</param>
/// <param name="Findings">The findings, in order of position.</param>
public sealed record InjectionScan(double Score, IReadOnlyList<InjectionFinding> Findings)
{
    /// <summary>A clean result.</summary>
    public static InjectionScan Clean { get; } = new(0, []);
}

/// <summary>
/// Scores text for instructions aimed at the model (indirect prompt injection, tool poisoning). The built-in detector
/// is deterministic, offline and explainable; a host can add another (e.g. an ML classifier) through this interface.
/// </summary>
/// <remarks>Implementations must be thread-safe and must not throw on any input (including lone surrogates); the guard treats a throwing detector as a detection (fail closed).</remarks>
public interface IInjectionDetector
{
    /// <summary>Scans one text.</summary>
    /// <param name="text">The text, exactly as the server sent it (after sanitization when called by the pipeline).</param>
    /// <param name="target">Where the text came from.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The score and findings.</returns>
    ValueTask<InjectionScan> ScanAsync(string text, ScanTarget target, CancellationToken cancellationToken);
}
