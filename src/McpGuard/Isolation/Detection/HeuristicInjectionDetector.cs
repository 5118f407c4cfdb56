using McpGuard.Isolation.Detection;

namespace McpGuard;

/// <summary>
/// The built-in injection detector: deterministic, offline and explainable. It matches a catalog of cues (instructions
/// aimed at the model, fake role markers and tool-result closers, tool-call requests, concealment, credential harvesting,
/// exfiltration, encoded payloads, hidden Unicode, terminal escapes, a few multilingual phrasings) and combines the
/// weights of the distinct rules that fired into a score: <c>1 - Π(1 - w)</c>.
/// </summary>
/// <remarks>
/// Thread-safe; never throws on any string (including lone surrogates). Matching is linear in the input length: every
/// regex is compiled with <see cref="System.Text.RegularExpressions.RegexOptions.NonBacktracking"/> and the other
/// scanners are single-pass. Sources for the cue catalog: Greshake et al. 2023 (arXiv 2302.12173), Invariant Labs'
/// tool-poisoning notes, AgentDojo (arXiv 2406.13352), BIPIA (arXiv 2312.14197), ASB (arXiv 2410.02644), OWASP LLM01.
/// </remarks>
public sealed class HeuristicInjectionDetector : IInjectionDetector
{
    private const string DecodedRule = "encoded.hidden-instructions";
    private readonly HeuristicInjectionDetectorOptions _options;

    /// <summary>Creates a detector.</summary>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public HeuristicInjectionDetector(HeuristicInjectionDetectorOptions? options = null)
    {
        _options = options ?? new HeuristicInjectionDetectorOptions();
        _options.Validate();
    }

    /// <summary>The score at or above which <see cref="IsInjection"/> returns <see langword="true"/>.</summary>
    public double Threshold => _options.Threshold;

    /// <summary>Whether a scan's score reaches the threshold.</summary>
    /// <param name="scan">A scan from this detector.</param>
    /// <returns><see langword="true"/> when the text should be treated as an injection.</returns>
    public bool IsInjection(InjectionScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        return scan.Score >= _options.Threshold;
    }

    /// <inheritdoc />
    public ValueTask<InjectionScan> ScanAsync(string text, ScanTarget target, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<InjectionScan>(Scan(text, target));
    }

    /// <summary>Scans one text synchronously (the fast path the pipeline uses).</summary>
    /// <param name="text">The text; <see langword="null"/> or empty gives <see cref="InjectionScan.Clean"/>.</param>
    /// <param name="target">Where the text came from; tool metadata weighs command and path cues higher than results do.</param>
    /// <returns>The score and findings, in order of position.</returns>
    public InjectionScan Scan(string? text, ScanTarget target)
    {
        if (string.IsNullOrEmpty(text))
        {
            return InjectionScan.Clean;
        }

        try
        {
            var acc = new Accumulator(_options.MaxFindingsPerRule);
            ScanInto(text, target, acc, nested: false);
            return acc.ToScan();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Fail closed: a scanner bug is reported as a detection, never as clean.
            return new InjectionScan(1, [new InjectionFinding("detector.error", 0, 0, 1, "The detector failed: " + ex.GetType().Name)]);
        }
    }

    // The rules this detector runs (bit i = rule i): all, or all but the multilingual ones.
    private ulong WantedRules => _options.Multilingual ? InjectionRules.AllMask : InjectionRules.AllMask & ~InjectionRules.MultilingualMask;

    /// <summary>
    /// Whether <see cref="Scan"/> would return <see cref="InjectionScan.Clean"/>, decided on the characters without
    /// making a string: no rule's keyword occurs (so no pattern runs) and the character and encoded-blob scanners report
    /// nothing. A <see langword="false"/> means "run <see cref="Scan"/>", not that something would be found.
    /// </summary>
    internal bool IsClean(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return true;
        }

        ulong wanted = WantedRules;
        if (_options.DisablePrefilter || InjectionRules.Triggers.MayMatch(text, wanted) != 0)
        {
            return false;
        }

        bool found = false;
        try
        {
            CharacterScanners.ScanCharacters(text, (_, _, _, _, _) => found = true, (_, _, _) => found = true);
            if (!found)
            {
                CharacterScanners.ScanBlobs(text, (_, _, _, _, _) => found = true, (_, _, _) => found = true);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false; // not decided here: the full scan runs and reports a scanner failure as a detection
        }

        return !found;
    }

    internal void ScanInto(string text, ScanTarget target, Accumulator acc, bool nested)
    {
        IReadOnlyList<PatternRule> rules = InjectionRules.All;
        ulong wanted = WantedRules;
        ulong run = _options.DisablePrefilter ? wanted : InjectionRules.Triggers.MayMatch(text, wanted);
        for (int r = 0; run != 0 && r < rules.Count; r++)
        {
            if ((run & (1UL << r)) == 0)
            {
                continue;
            }

            run &= ~(1UL << r);
            PatternRule rule = rules[r];
            double weight = rule.WeightFor(target);
            foreach (var match in rule.Regex.EnumerateMatches(text))
            {
                if (!acc.Add(rule.Id, match.Index, match.Length, weight, rule.Explanation))
                {
                    break;
                }
            }
        }

        if (nested)
        {
            return;
        }

        CharacterScanners.ScanCharacters(text, (id, s, l, w, e) => acc.Add(id, s, l, w, e), (hidden, s, l) => ScanHidden(hidden, s, l, target, acc));
        CharacterScanners.ScanBlobs(text, (id, s, l, w, e) => acc.Add(id, s, l, w, e), (decoded, s, l) => ScanHidden(decoded, s, l, target, acc));
    }

    // Text that was hidden (tag characters) or encoded (base64) is scanned too; any cue in it is reported at the span of the carrier.
    private void ScanHidden(string hidden, int start, int length, ScanTarget target, Accumulator acc)
    {
        var inner = new Accumulator(1);
        ScanInto(hidden, target, inner, nested: true);
        InjectionScan scan = inner.ToScan();
        if (scan.Score >= 0.3)
        {
            acc.Add(DecodedRule, start, length, 0.85, "Hidden or encoded text contains instructions (" + string.Join(", ", scan.Findings.Select(f => f.RuleId).Distinct()) + ").");
        }
    }

    internal sealed class Accumulator(int maxPerRule)
    {
        private readonly List<InjectionFinding> _findings = [];
        private readonly Dictionary<string, (double Weight, int Count)> _rules = new(StringComparer.Ordinal);

        public bool Add(string ruleId, int start, int length, double weight, string explanation)
        {
            _rules.TryGetValue(ruleId, out var entry);
            if (entry.Count >= maxPerRule)
            {
                if (weight > entry.Weight)
                {
                    _rules[ruleId] = (weight, entry.Count);
                }

                return false;
            }

            _rules[ruleId] = (Math.Max(entry.Weight, weight), entry.Count + 1);
            _findings.Add(new InjectionFinding(ruleId, start, length, weight, explanation));
            return true;
        }

        public InjectionScan ToScan()
        {
            if (_findings.Count == 0)
            {
                return InjectionScan.Clean;
            }

            double clean = 1;
            foreach (var (weight, _) in _rules.Values)
            {
                clean *= 1 - Math.Clamp(weight, 0, 1);
            }

            _findings.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : string.CompareOrdinal(a.RuleId, b.RuleId));
            return new InjectionScan(Math.Round(1 - clean, 4), _findings.ToArray());
        }
    }
}
