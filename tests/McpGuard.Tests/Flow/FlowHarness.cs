using System.Text.Json.Nodes;
using McpGuard.Flow;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Flow;

/// <summary>
/// Drives the real flow stage and the real transport hooks (<see cref="FlowControl.OnSent"/>,
/// <see cref="FlowControl.OnResponse"/>) with the guard's real contexts, without a transport: for laws that replay
/// hundreds of random histories and for the memory bound. End-to-end behaviour is covered over the SDK server elsewhere.
/// </summary>
internal sealed class FlowHarness
{
    public static readonly string[] ToolNames = ["web", "inbox", "contacts", "secrets", "mail", "wipe", "shell", "note"];

    private readonly FlowStage _stage;
    private int _requestId;

    public FlowHarness(Action<FlowOptions>? configure = null)
    {
        Options = TestCalls.Options();
        FlowOptions flow = Options.Flow;
        flow.Enabled = true;
        flow.LabelTool(TestCalls.ServerName, "web", FlowLabels.UntrustedSource);
        flow.LabelTool(TestCalls.ServerName, "inbox", FlowLabels.UntrustedSource, FlowLabels.PrivateData);
        flow.LabelTool(TestCalls.ServerName, "contacts", FlowLabels.PrivateData);
        flow.LabelTool(TestCalls.ServerName, "secrets", FlowLabels.CredentialAccess);
        FlowToolOptions mail = flow.Tool(TestCalls.ServerName, "mail");
        mail.SinkKind = "email";
        mail.Destinations.Add("$.to");
        flow.LabelTool(TestCalls.ServerName, "wipe", FlowLabels.Destructive);
        flow.LabelTool(TestCalls.ServerName, "shell", FlowLabels.CodeExecution);
        configure?.Invoke(flow);
        McpGuardOptionsValidator.ThrowIfInvalid(Options);
        Control = new FlowControl(flow, TimeProvider.System);
        _stage = new FlowStage(Control);
        Session = TestCalls.Session(Options);
        Control.Attach(Session);
    }

    public McpGuardOptions Options { get; }

    public FlowControl Control { get; }

    public GuardSessionInfo Session { get; }

    public FlowSession Flow => Session.Flow;

    /// <summary>Evaluates one call; when <paramref name="execute"/> (or the decision is not a denial) the call is sent and answered with <paramref name="resultText"/>.</summary>
    public GuardDecision Step(string tool, JsonObject? arguments, string resultText, bool? execute = null)
    {
        string id = (++_requestId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        ToolCallContext context = TestCalls.Call(Session, tool, arguments ?? [], id);
        GuardDecision decision = _stage.EvaluateCallAsync(context, CancellationToken.None).Result;
        if (execute ?? decision.Kind != GuardDecisionKind.Deny)
        {
            FlowControl.OnSent(context);
            FlowControl.OnResponse(context, new JsonRpcResponse
            {
                Id = new RequestId(id),
                Result = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = resultText }) },
            });
        }

        return decision;
    }
}
