using McpGuard.Pipeline;

namespace McpGuard.Policies;

/// <summary>
/// Server inventory and kill switch: the server must be registered, enabled, verified by its handshake, and usable by
/// the acting agent; the tool must not be switched off.
/// </summary>
internal sealed class InventoryStage(GuardKillSwitch killSwitch) : GuardStage
{
    public override string Name => "inventory";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken) =>
        new(Evaluate(context.Session, context.ToolName, killSwitch));

    internal static GuardDecision Evaluate(GuardSessionInfo session, string toolName, GuardKillSwitch killSwitch)
    {
        if (session.Registration is not { } registration)
        {
            return GuardDecision.Deny("The server is not registered with the guard.", "server.unregistered");
        }

        if (killSwitch.ServerDisabledReason(session.ServerName) is { } serverReason)
        {
            return GuardDecision.Deny("The server is disabled: " + serverReason, "server.disabled");
        }

        if (killSwitch.ToolDisabledReason(session.ServerName, toolName) is { } toolReason)
        {
            return GuardDecision.Deny("The tool is disabled: " + toolReason, "tool.disabled");
        }

        if (registration.AllowedAgents.Count > 0 && (session.Principal.AgentId is not { } agent || !registration.AllowedAgents.Contains(agent)))
        {
            return GuardDecision.Deny("The acting agent may not use this server.", "server.agent-not-allowed");
        }

        return GuardDecision.Allow;
    }
}
