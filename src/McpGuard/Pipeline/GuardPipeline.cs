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
    /// <remarks>Stages that answer synchronously (all built-in ones) are run without an async state machine; the first
    /// one that does not finish at once continues in <see cref="ContinueAsync"/>.</remarks>
    public ValueTask<PipelineResult> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        var state = new Accumulator();
        for (int i = 0; i < _stages.Length; i++)
        {
            GuardStage stage = _stages[i];
            GuardDecision decision;
            try
            {
                ValueTask<GuardDecision> pending = stage.EvaluateCallAsync(context, cancellationToken);
                if (!pending.IsCompletedSuccessfully)
                {
                    return ContinueAsync(context, i, pending, state, cancellationToken);
                }

                decision = pending.Result ?? NoDecision(stage);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                decision = Failed(stage, ex);
            }

            if (state.Add(decision) is { } final)
            {
                return new(final);
            }
        }

        return new(state.Result);
    }

    private async ValueTask<PipelineResult> ContinueAsync(ToolCallContext context, int index, ValueTask<GuardDecision> pending, Accumulator state, CancellationToken cancellationToken)
    {
        for (int i = index; i < _stages.Length; i++)
        {
            GuardStage stage = _stages[i];
            GuardDecision decision;
            try
            {
                decision = (i == index
                    ? await pending.ConfigureAwait(false)
                    : await stage.EvaluateCallAsync(context, cancellationToken).ConfigureAwait(false)) ?? NoDecision(stage);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                decision = Failed(stage, ex);
            }

            if (state.Add(decision) is { } final)
            {
                return final;
            }
        }

        return state.Result;
    }

    private static GuardDecision NoDecision(GuardStage stage) =>
        GuardDecision.Deny($"Stage '{stage.Name}' returned no decision.", "guard.policy-error");

    private GuardDecision Failed(GuardStage stage, Exception ex)
    {
        Log.StageFailed(_logger, ex, stage.Name);
        return GuardDecision.Deny($"Stage '{stage.Name}' failed with {ex.GetType().Name}.", "guard.policy-error");
    }

    /// <summary>Combines decisions in stage order: a Deny ends the run; RequireApproval decisions are collected.</summary>
    private struct Accumulator
    {
        private GuardDecision? _combined;
        private List<GuardDecision>? _approvals;

        public readonly PipelineResult Result => new(_combined ?? GuardDecision.Allow, _approvals);

        /// <summary>Adds one stage's decision; returns the final result when it is a Deny.</summary>
        public PipelineResult? Add(GuardDecision decision)
        {
            if (decision.Kind == GuardDecisionKind.Deny)
            {
                return new PipelineResult(decision, _approvals);
            }

            if (decision.Kind == GuardDecisionKind.RequireApproval)
            {
                (_approvals ??= []).Add(decision);
            }

            _combined = GuardDecision.Combine(_combined ?? GuardDecision.Allow, decision);
            return null;
        }
    }
}

internal readonly record struct PipelineResult(GuardDecision Decision, List<GuardDecision>? ApprovalReasons);
