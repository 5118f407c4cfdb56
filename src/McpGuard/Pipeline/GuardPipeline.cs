using McpGuard.Diagnostics;
using Microsoft.Extensions.Logging;

namespace McpGuard.Pipeline;

/// <summary>The immutable, ordered list of stages. Deny short-circuits; RequireApproval decisions are collected for the approver.</summary>
internal sealed class GuardPipeline
{
    private readonly GuardStage[] _stages;
    private readonly ILogger _logger;

    public GuardPipeline(IEnumerable<GuardStage> stages, ILogger logger)
    {
        _stages = [.. stages];
        _logger = logger;
    }

    public IReadOnlyList<GuardStage> Stages => _stages;

    /// <summary>Runs the stages in order. Never throws (cancellation aside): a failing stage is a Deny.</summary>
    public async ValueTask<PipelineResult> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        GuardDecision combined = GuardDecision.Allow;
        List<GuardDecision>? approvals = null;
        foreach (GuardStage stage in _stages)
        {
            GuardDecision decision;
            try
            {
                decision = await stage.EvaluateCallAsync(context, cancellationToken).ConfigureAwait(false)
                    ?? GuardDecision.Deny($"Stage '{stage.Name}' returned no decision.", "guard.policy-error");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Log.StageFailed(_logger, ex, stage.Name);
                decision = GuardDecision.Deny($"Stage '{stage.Name}' failed with {ex.GetType().Name}.", "guard.policy-error");
            }

            if (decision.Kind == GuardDecisionKind.Deny)
            {
                return new PipelineResult(decision, approvals);
            }

            if (decision.Kind == GuardDecisionKind.RequireApproval)
            {
                (approvals ??= []).Add(decision);
            }

            combined = GuardDecision.Combine(combined, decision);
        }

        return new PipelineResult(combined, approvals);
    }
}

internal readonly record struct PipelineResult(GuardDecision Decision, List<GuardDecision>? ApprovalReasons);
