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
        long started = timeProvider.GetTimestamp();
        ToolApprovalResponse? response;
        try
        {
            using var timeout = new CancellationTokenSource(options.Timeout, timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            CancellationToken token = linked.Token;
            try
            {
                // Run the handler on the thread pool: a handler that blocks synchronously (e.g. a console prompt) must still time out.
                response = await Task.Run(() => handler.RequestApprovalAsync(request, token).AsTask(), CancellationToken.None)
                    .WaitAsync(options.Timeout, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Leaving this scope disposes 'linked'. WaitAsync can end before 'linked' is cancelled: its timer can fire
                // before the one of 'timeout' (same due time), and when the caller cancels, WaitAsync's own registration
                // on that token can run first and resume this method inside the cancellation, before the callback that
                // would cancel 'linked'. Cancel it now, or the handler is never told that its request expired or was withdrawn.
                CancelQuietly(linked);
                throw;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (GuardDecision.Deny("The caller cancelled while approval was pending.", "approval.cancelled"),
                new ApprovalEvidence(digest, "cancelled", null, null, Elapsed(started)));
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return (GuardDecision.Deny("The approval handler did not answer in time.", "approval.timeout"),
                new ApprovalEvidence(digest, "timeout", null, null, Elapsed(started)));
        }
        catch (Exception ex)
        {
            Log.ApprovalHandlerFailed(logger, ex);
            return (GuardDecision.Deny($"The approval handler failed with {ex.GetType().Name}.", "approval.handler-error"),
                new ApprovalEvidence(digest, "handler-error", null, null, Elapsed(started)));
        }

        double duration = Elapsed(started);
        if (timeProvider.GetElapsedTime(started) >= options.Timeout)
        {
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

    /// <summary>Cancels <paramref name="source"/> to tell an approval handler its request ended; a handler's failing
    /// cancellation callback, or a source already disposed because the approval ended meanwhile, changes nothing.</summary>
    internal static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback failed; the request is denied either way.
        }
        catch (ObjectDisposedException)
        {
            // The approval ended on its own meanwhile.
        }
    }

    private double Elapsed(long started) => timeProvider.GetElapsedTime(started).TotalMilliseconds;

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
