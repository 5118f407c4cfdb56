namespace McpGuard.Isolation;

/// <summary>
/// A minimal stand-in detector used until the built-in <c>HeuristicInjectionDetector</c> is wired in (one line in
/// <see cref="ContentIsolation"/>): case-insensitive phrase cues for directives to the assistant, fake role markers,
/// tool-call requests and concealment. Linear time (ordinal <c>IndexOf</c> per cue), never throws.
/// </summary>
internal sealed class PlaceholderInjectionDetector : IInjectionDetector
{
    private static readonly (string Cue, string Rule)[] s_cues =
    [
        ("ignore previous instructions", "injection.override"),
        ("ignore all previous", "injection.override"),
        ("ignore the above", "injection.override"),
        ("disregard previous", "injection.override"),
        ("new instructions:", "injection.override"),
        ("<|im_start|>", "injection.fake-role-marker"),
        ("[system]", "injection.fake-role-marker"),
        ("</tool_result>", "injection.fake-role-marker"),
        ("system prompt:", "injection.fake-role-marker"),
        ("assistant must", "injection.directive"),
        ("ai assistant", "injection.directive"),
        ("you must call", "injection.tool-call-request"),
        ("you must now", "injection.directive"),
        ("call the tool", "injection.tool-call-request"),
        ("call the deploy", "injection.tool-call-request"),
        ("immediately call", "injection.tool-call-request"),
        ("do not tell the user", "injection.concealment"),
        ("don't tell the user", "injection.concealment"),
        ("without telling the user", "injection.concealment"),
        ("do not mention this", "injection.concealment"),
        ("send the contents of", "injection.exfiltration"),
        ("~/.ssh", "injection.secret-harvesting"),
        ("api key", "injection.secret-harvesting"),
    ];

    public ValueTask<InjectionScan> ScanAsync(string text, ScanTarget target, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(text))
        {
            return new(InjectionScan.Clean);
        }

        List<InjectionFinding>? findings = null;
        foreach ((string cue, string rule) in s_cues)
        {
            int at = text.IndexOf(cue, StringComparison.OrdinalIgnoreCase);
            if (at >= 0)
            {
                (findings ??= []).Add(new InjectionFinding(rule, at, cue.Length, 0.6, "Phrase cue: " + cue));
            }
        }

        if (findings is null)
        {
            return new(InjectionScan.Clean);
        }

        findings.Sort((a, b) => a.Start.CompareTo(b.Start));
        double score = 1;
        foreach (InjectionFinding finding in findings)
        {
            score *= 1 - finding.Score;
        }

        return new(new InjectionScan(1 - score, findings));
    }
}

/// <summary>Adapts a delegate to <see cref="IInjectionDetector"/>.</summary>
internal sealed class DelegateInjectionDetector(Func<string, ScanTarget, CancellationToken, ValueTask<InjectionScan>> scan) : IInjectionDetector
{
    public ValueTask<InjectionScan> ScanAsync(string text, ScanTarget target, CancellationToken cancellationToken) => scan(text, target, cancellationToken);
}
