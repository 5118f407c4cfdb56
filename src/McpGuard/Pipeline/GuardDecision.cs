namespace McpGuard;

/// <summary>The verdict kinds a guard stage can return, ordered by strength.</summary>
/// <remarks>When decisions are combined the strongest wins: <see cref="Deny"/> beats
/// <see cref="RequireApproval"/>, which beats <see cref="Allow"/>.</remarks>
public enum GuardDecisionKind
{
    /// <summary>The stage has no objection.</summary>
    Allow = 0,

    /// <summary>The call may proceed only if the host's approval handler approves this exact request.</summary>
    RequireApproval = 1,

    /// <summary>The call is refused; it is never sent to the server.</summary>
    Deny = 2,
}

/// <summary>
/// The immutable verdict of a guard stage or policy on one operation: <c>Allow</c>,
/// <c>Deny(reason, ruleId)</c> or <c>RequireApproval(reason, ruleId)</c>.
/// </summary>
/// <remarks>
/// <para>Decisions are values. <see cref="Allow"/> is a cached singleton. <see cref="Reason"/> is host-facing
/// text for evidence and approval prompts; it is never shown to the model (the model sees a generic message).</para>
/// <para>Deny dominates: <see cref="Combine(GuardDecision, GuardDecision)"/> returns the stronger of two
/// decisions, and the first of two decisions of the same strength. Thread-safe (immutable).</para>
/// </remarks>
public sealed class GuardDecision : IEquatable<GuardDecision>
{
    private GuardDecision(GuardDecisionKind kind, string? reason, string? ruleId, string? jsonPath, FlowChain? chain = null)
    {
        Kind = kind;
        Reason = reason;
        RuleId = ruleId;
        JsonPath = jsonPath;
        Chain = chain;
    }

    /// <summary>The cached "no objection" decision.</summary>
    public static GuardDecision Allow { get; } = new(GuardDecisionKind.Allow, null, null, null);

    /// <summary>The verdict.</summary>
    public GuardDecisionKind Kind { get; }

    /// <summary>Host-facing explanation (never sent to the model). <see langword="null"/> for <see cref="Allow"/>.</summary>
    public string? Reason { get; }

    /// <summary>Stable identifier of the rule that produced the decision, e.g. <c>argument.path-outside-roots</c>.</summary>
    public string? RuleId { get; }

    /// <summary>JSON path (RFC 9535 normalized-path style, e.g. <c>$.paths[2]</c>) of the offending value, when the decision concerns one argument.</summary>
    public string? JsonPath { get; }

    /// <summary>For flow decisions (rule ids <c>flow.*</c>), the chain of earlier calls that made the rule fire; otherwise <see langword="null"/>. Not part of equality.</summary>
    public FlowChain? Chain { get; }

    /// <summary><see langword="true"/> when <see cref="Kind"/> is <see cref="GuardDecisionKind.Allow"/>.</summary>
    public bool IsAllowed => Kind == GuardDecisionKind.Allow;

    /// <summary>Creates a refusal.</summary>
    /// <param name="reason">Host-facing explanation; never shown to the model.</param>
    /// <param name="ruleId">Stable rule identifier, e.g. <c>tool.hidden</c>.</param>
    /// <param name="jsonPath">Optional JSON path of the offending argument value.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> or <paramref name="ruleId"/> is null or empty.</exception>
    public static GuardDecision Deny(string reason, string ruleId, string? jsonPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        ArgumentException.ThrowIfNullOrEmpty(ruleId);
        return new GuardDecision(GuardDecisionKind.Deny, reason, ruleId, jsonPath);
    }

    /// <summary>Creates a decision that sends the request to the host's approval handler.</summary>
    /// <param name="reason">Host-facing explanation shown to the approver.</param>
    /// <param name="ruleId">Stable rule identifier, e.g. <c>tool.requires-approval</c>.</param>
    /// <param name="jsonPath">Optional JSON path of the argument that triggered the rule.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> or <paramref name="ruleId"/> is null or empty.</exception>
    public static GuardDecision RequireApproval(string reason, string ruleId, string? jsonPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        ArgumentException.ThrowIfNullOrEmpty(ruleId);
        return new GuardDecision(GuardDecisionKind.RequireApproval, reason, ruleId, jsonPath);
    }

    /// <summary>Returns the stronger of two decisions (Deny &gt; RequireApproval &gt; Allow); on a tie, <paramref name="first"/>.</summary>
    /// <param name="first">The decision of the earlier stage.</param>
    /// <param name="second">The decision of the later stage.</param>
    /// <returns>The dominant decision. Never <see langword="null"/>.</returns>
    public static GuardDecision Combine(GuardDecision first, GuardDecision second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return second.Kind > first.Kind ? second : first;
    }

    internal GuardDecision WithChain(FlowChain chain) => new(Kind, Reason, RuleId, JsonPath, chain);

    /// <inheritdoc />
    public bool Equals(GuardDecision? other) =>
        other is not null && Kind == other.Kind && RuleId == other.RuleId && Reason == other.Reason && JsonPath == other.JsonPath;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as GuardDecision);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, RuleId, Reason, JsonPath);

    /// <inheritdoc />
    public override string ToString() => Kind == GuardDecisionKind.Allow ? "Allow" : $"{Kind}({RuleId}: {Reason})";
}
