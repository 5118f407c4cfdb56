using McpGuard.Pipeline;

namespace McpGuard.Policies;

/// <summary>Runs one host-supplied <see cref="IToolCallPolicy"/>.</summary>
internal sealed class CustomPolicyStage(IToolCallPolicy policy) : GuardStage
{
    public override string Name { get; } = "policy:" + policy.GetType().Name;

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken) =>
        policy.EvaluateAsync(context, cancellationToken);
}
