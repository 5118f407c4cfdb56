namespace McpGuard.Pipeline;

/// <summary>One concern of the tool-call pipeline. Built-in stages are internal and sealed; hosts extend through <see cref="IToolCallPolicy"/>.</summary>
internal abstract class GuardStage
{
    /// <summary>Stable stage name used in evidence and logs.</summary>
    public abstract string Name { get; }

    /// <summary>Evaluates one call. May throw; the pipeline turns exceptions into Deny.</summary>
    public abstract ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken);
}
