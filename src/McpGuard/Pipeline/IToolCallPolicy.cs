namespace McpGuard;

/// <summary>
/// A custom policy evaluated for every <c>tools/call</c> after the built-in stages (inventory, visibility, argument
/// constraints). Return <see cref="GuardDecision.Allow"/>, <see cref="GuardDecision.Deny"/> or
/// <see cref="GuardDecision.RequireApproval"/>.
/// </summary>
/// <remarks>
/// Implementations must be thread-safe: one instance serves every session concurrently. A policy that throws, or
/// returns <see langword="null"/>, denies the call (rule <c>guard.policy-error</c>): the guard fails closed.
/// </remarks>
public interface IToolCallPolicy
{
    /// <summary>Evaluates one call.</summary>
    /// <param name="context">The call, with the tool's advertised metadata and canonical arguments.</param>
    /// <param name="cancellationToken">Cancelled when the caller gives up.</param>
    /// <returns>The policy's decision.</returns>
    ValueTask<GuardDecision> EvaluateAsync(ToolCallContext context, CancellationToken cancellationToken);
}

/// <summary>Adapts a delegate to <see cref="IToolCallPolicy"/>.</summary>
internal sealed class DelegateToolCallPolicy(Func<ToolCallContext, CancellationToken, ValueTask<GuardDecision>> evaluate) : IToolCallPolicy
{
    public ValueTask<GuardDecision> EvaluateAsync(ToolCallContext context, CancellationToken cancellationToken) => evaluate(context, cancellationToken);
}
