using System.Text.RegularExpressions;

namespace McpGuard.Isolation.Detection;

/// <summary>One regex cue. Weights are per target family: tool metadata/schema text vs. content (results, resources, prompts).</summary>
internal sealed class PatternRule
{
    private static readonly TimeSpan NoTimeout = Regex.InfiniteMatchTimeout;
    private readonly string[]? _triggers;

    public PatternRule(string id, string pattern, double metadataWeight, double contentWeight, string explanation, bool caseSensitive = false, bool multilingual = false, string[]? triggers = null)
    {
        _triggers = triggers;
        Id = id;
        MetadataWeight = metadataWeight;
        ContentWeight = contentWeight;
        Explanation = explanation;
        Multilingual = multilingual;
        RegexOptions options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.Multiline;
        if (!caseSensitive)
        {
            options |= RegexOptions.IgnoreCase;
        }

        // NonBacktracking: matching is linear in the input length, whatever the pattern.
        Regex = new Regex(pattern, options, NoTimeout);
    }

    public string Id { get; }

    public Regex Regex { get; }

    public double MetadataWeight { get; }

    public double ContentWeight { get; }

    public string Explanation { get; }

    public bool Multilingual { get; }

    /// <summary>
    /// Prefilter keywords: every match of the rule contains at least one of them (compared ignoring case; <c>\b</c> marks a
    /// required word boundary, see <see cref="TriggerIndex"/>), so a text without any cannot match and the regex pass is
    /// skipped. <see langword="null"/>: the rule always runs.
    /// </summary>
    public IReadOnlyList<string>? Triggers => _triggers;

    public double WeightFor(ScanTarget target) => target is ScanTarget.ToolMetadata or ScanTarget.SchemaText ? MetadataWeight : ContentWeight;
}
