using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Samples.FileAgent;

/// <summary>What one tool call produced: the result the caller (the model) sees, and the guard's evidence about it.</summary>
/// <param name="Tool">The tool called.</param>
/// <param name="Result">The result as the caller receives it. A denied call is an <c>isError</c> result with a generic text.</param>
/// <param name="Decision">The guard's <c>ToolCallDecision</c> event for this call.</param>
/// <param name="Outcome">The <c>ToolCallOutcome</c> event; present only when the call was actually sent to the server.</param>
internal sealed record CallReport(string Tool, CallToolResult Result, GuardEvidence? Decision, GuardEvidence? Outcome)
{
    public bool Allowed => Decision?.Decision == GuardDecisionKind.Allow;

    public string Verdict => Decision is null ? "NO DECISION RECORDED" : Allowed ? "ALLOW" : "DENY";

    /// <summary>The verdict with its rule id, e.g. <c>DENY (approval.rejected)</c>.</summary>
    public string VerdictWithRule => Decision?.RuleId is not { } rule ? Verdict
        : Decision.Approval?.Result == "approved" ? $"{Verdict} (approved by {Decision.Approval.ApproverId}; {rule})"
        : $"{Verdict} ({rule})";

    /// <summary>All text content of the result (server-controlled unless the guard answered).</summary>
    public string Text => string.Join("\n", Result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}

/// <summary>Calls tools through the guarded client and pairs each call with the evidence the guard wrote for it.</summary>
internal sealed class GuardedCalls(McpClient client, EvidenceLog evidence)
{
    public McpClient Client => client;

    public EvidenceLog Evidence => evidence;

    public async Task<CallReport> CallAsync(string tool, IReadOnlyDictionary<string, object?> arguments, CancellationToken cancellationToken = default)
    {
        int mark = evidence.Count;

        // An ordinary SDK call. The guard sits in the transport, so nothing here is McpGuard-specific.
        CallToolResult result = await client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken);

        IReadOnlyList<GuardEvidence> events = evidence.Since(mark);
        GuardEvidence? decision = events.LastOrDefault(e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.ToolName == tool);
        GuardEvidence? outcome = decision is null
            ? null
            : events.FirstOrDefault(e => e.Kind == GuardEvidenceKind.ToolCallOutcome && e.RequestId == decision.RequestId);
        return new CallReport(tool, result, decision, outcome);
    }
}
