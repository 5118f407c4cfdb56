namespace McpGuard;

/// <summary>Options for <see cref="HeuristicInjectionDetector"/>.</summary>
public sealed class HeuristicInjectionDetectorOptions
{
    /// <summary>Score at or above which a text counts as an injection.</summary>
    /// <value>Default: 0.5. Range: (0, 1].</value>
    public double Threshold { get; set; } = 0.5;

    /// <summary>Whether the non-English cue lists (es, fr, de, pt, it, ru, zh, ja) are used.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Multilingual { get; set; } = true;

    /// <summary>Maximum number of findings reported per rule for one text (the score is unaffected).</summary>
    /// <value>Default: 8. Range: 1 or more.</value>
    public int MaxFindingsPerRule { get; set; } = 8;

    /// <summary>Test hook: run every regex even when its keyword prefilter says it cannot match.</summary>
    internal bool DisablePrefilter { get; set; }

    /// <summary>Validates the options.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        if (!(Threshold > 0 && Threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "Threshold must be in (0, 1].");
        }

        if (MaxFindingsPerRule < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFindingsPerRule), MaxFindingsPerRule, "MaxFindingsPerRule must be 1 or more.");
        }
    }
}
