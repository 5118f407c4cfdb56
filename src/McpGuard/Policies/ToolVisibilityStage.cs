using McpGuard.Pipeline;

namespace McpGuard.Policies;

/// <summary>
/// Tool visibility and allowlists per server and per agent. The same rule decides what <c>tools/list</c> shows and
/// what <c>tools/call</c> may reach, so a model that guesses a hidden tool's name is still denied.
/// </summary>
internal sealed class ToolVisibilityStage(McpGuardOptions options) : GuardStage
{
    private static readonly GuardDecision s_requireApproval =
        GuardDecision.RequireApproval("The host requires approval for every call to this tool.", "tool.requires-approval");

    private static readonly GuardDecision s_hidden = GuardDecision.Deny("The tool is hidden by the host's policy.", "tool.hidden");
    private static readonly GuardDecision s_agent = GuardDecision.Deny("The acting agent may not use this tool.", "tool.agent-not-allowed");
    private static readonly GuardDecision s_unknown = GuardDecision.Deny("The server did not advertise a tool of this name.", "tool.unknown");
    private static readonly GuardDecision s_tooLarge = GuardDecision.Deny("The tool's definition exceeds the size limit.", "catalog.tool-too-large");

    public override string Name => "visibility";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        if (context.Tool is null)
        {
            return new(s_unknown);
        }

        return new(Evaluate(context.Session, context.Tool));
    }

    /// <summary>The access decision for one advertised tool: Allow, RequireApproval, or Deny (hidden).</summary>
    public GuardDecision Evaluate(GuardSessionInfo session, GuardToolDescriptor tool)
    {
        if (tool.MetadataSize > options.MaxToolDefinitionBytes)
        {
            return s_tooLarge;
        }

        GuardServerOptions? registration = session.Registration;
        if (registration is null)
        {
            return s_hidden;
        }

        ToolAccess access;
        if (registration.Tools.TryGetValue(tool.Name, out GuardToolOptions? toolOptions))
        {
            if (toolOptions.AllowedAgents.Count > 0 && (session.Principal.AgentId is not { } agent || !toolOptions.AllowedAgents.Contains(agent)))
            {
                return s_agent;
            }

            access = toolOptions.Access;
        }
        else
        {
            access = registration.DefaultToolAccess ?? options.DefaultToolAccess;
        }

        return access switch
        {
            ToolAccess.Allow => GuardDecision.Allow,
            ToolAccess.RequireApproval => s_requireApproval,
            _ => s_hidden,
        };
    }
}
