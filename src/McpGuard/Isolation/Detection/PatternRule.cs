using System.Text.RegularExpressions;
using McpGuard.Text;

namespace McpGuard.Isolation.Detection;

/// <summary>One regex cue. Weights are per target family: tool metadata/schema text vs. content (results, resources, prompts).</summary>
internal sealed class PatternRule
{
    private readonly string[]? _triggers;
    private readonly string _pattern;
    private readonly RegexOptions _options;
    private Regex? _regex;

    public PatternRule(string id, string pattern, double metadataWeight, double contentWeight, string explanation, bool caseSensitive = false, bool multilingual = false, string[]? triggers = null)
    {
        _triggers = triggers;
        Id = id;
        MetadataWeight = metadataWeight;
        ContentWeight = contentWeight;
        Explanation = explanation;
        Multilingual = multilingual;
        RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.Multiline; // NonBacktracking: LinearRegex
        if (!caseSensitive)
        {
            options |= RegexOptions.IgnoreCase;
        }

        _pattern = pattern;
        _options = options;
    }

    public string Id { get; }

    /// <summary>
    /// The rule's regex, built on first use. NonBacktracking: matching is linear in the input length, whatever the
    /// pattern. Building one costs tens of milliseconds, so a rule whose keywords never appear (see <see cref="Triggers"/>)
    /// never pays for it: building all of them eagerly made the first scan in a process cost about 1.5 s of CPU.
    /// Thread-safe: concurrent first uses may build it twice; one instance wins.
    /// </summary>
    public Regex Regex => _regex ?? Interlocked.CompareExchange(ref _regex, LinearRegex.Create(_pattern, _options), null) ?? _regex!;

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
