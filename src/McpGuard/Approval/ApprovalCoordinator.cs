using System.Buffers;
using System.Text.Json.Nodes;
using McpGuard.Diagnostics;
using McpGuard.Json;
using Microsoft.Extensions.Logging;

namespace McpGuard.Approval;

/// <summary>
/// Turns a RequireApproval decision into Allow or Deny by asking the host's handler, bound to a digest of the exact
/// request, under a timeout measured with the engine's <see cref="TimeProvider"/>. Fails closed on every error path.
/// </summary>
internal sealed class ApprovalCoordinator(IToolApprovalHandler? handler, ApprovalOptions options, TimeProvider timeProvider, ILogger logger)
{
    public async ValueTask<(GuardDecision Decision, ApprovalEvidence Evidence)> ResolveAsync(
        ToolCallContext call, IReadOnlyList<GuardDecision> reasons, CancellationToken cancellationToken)
    {
        string digest = ComputeDigest(call, reasons);
        if (handler is null)
        {
            return (GuardDecision.Deny("Approval is required but no approval handler is registered.", "approval.no-handler"),
                new ApprovalEvidence(digest, "no-handler", null, null, 0));
        }

        var request = new ToolApprovalRequest(call, reasons, digest, timeProvider.GetUtcNow());
        (ApprovalCallEnding ending, ToolApprovalResponse? response, Exception? failure, double duration) = await ApprovalCall.AskAsync(
            token => handler.RequestApprovalAsync(request, token), options.Timeout, timeProvider, cancellationToken).ConfigureAwait(false);
        switch (ending)
        {
            case ApprovalCallEnding.Cancelled:
                return (GuardDecision.Deny("The caller cancelled while approval was pending.", "approval.cancelled"),
                    new ApprovalEvidence(digest, "cancelled", null, null, duration));
            case ApprovalCallEnding.TimedOut:
                return (GuardDecision.Deny("The approval handler did not answer in time.", "approval.timeout"),
                    new ApprovalEvidence(digest, "timeout", null, null, duration));
            case ApprovalCallEnding.Failed:
                Log.ApprovalHandlerFailed(logger, failure!);
                return (GuardDecision.Deny($"The approval handler failed with {failure!.GetType().Name}.", "approval.handler-error"),
                    new ApprovalEvidence(digest, "handler-error", null, null, duration));
            case ApprovalCallEnding.Late:
                return (GuardDecision.Deny("The approval handler answered after the timeout.", "approval.timeout"),
                    new ApprovalEvidence(digest, "timeout", response?.ApproverId, response?.Comment, duration));
        }

        if (response is null)
        {
            return (GuardDecision.Deny("The approval handler returned no answer.", "approval.handler-error"),
                new ApprovalEvidence(digest, "handler-error", null, null, duration));
        }

        if (!string.Equals(response.RequestDigest, digest, StringComparison.Ordinal))
        {
            return (GuardDecision.Deny("The approval answered a different request (digest mismatch).", "approval.digest-mismatch"),
                new ApprovalEvidence(digest, "digest-mismatch", response.ApproverId, response.Comment, duration));
        }

        if (!response.Approved)
        {
            return (GuardDecision.Deny("The approver rejected the call.", "approval.rejected"),
                new ApprovalEvidence(digest, "rejected", response.ApproverId, response.Comment, duration));
        }

        return (GuardDecision.Allow, new ApprovalEvidence(digest, "approved", response.ApproverId, response.Comment, duration));
    }

    /// <summary>SHA-256 over the canonical JSON of everything the approver is shown and the request's identity.</summary>
    internal static string ComputeDigest(ToolCallContext call, IReadOnlyList<GuardDecision> reasons)
    {
        var rules = new JsonArray();
        foreach (GuardDecision reason in reasons)
        {
            rules.Add((JsonNode?)JsonValue.Create(reason.RuleId));
        }

        JsonArray? flow = null;
        foreach (GuardDecision reason in reasons)
        {
            if (reason.Chain is { } chain)
            {
                (flow ??= []).Add((JsonNode)McpGuard.Flow.FlowEvidence.DigestJson(chain));
            }
        }

        var binding = new JsonObject
        {
            ["v"] = 1,
            ["session"] = call.Session.SessionId,
            ["requestId"] = call.RequestId,
            ["server"] = call.ServerName,
            ["endpoint"] = call.Session.Endpoint,
            ["serverName"] = call.Session.ServerIdentity?.Name,
            ["serverVersion"] = call.Session.ServerIdentity?.Version,
            ["tool"] = call.ToolName,
            ["toolSha256"] = call.Tool?.MetadataSha256,
            ["argumentsSha256"] = call.ArgumentsSha256,
            ["agent"] = call.Principal.AgentId,
            ["user"] = call.Principal.UserId,
            ["rules"] = rules,
        };
        if (flow is not null)
        {
            // Only present for flow decisions, so digests of other requests are unchanged.
            binding["flow"] = flow;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        JsonCanonicalizer.Write(buffer, binding);
        return JsonCanonicalizer.Sha256Hex(buffer.WrittenSpan);
    }
}
