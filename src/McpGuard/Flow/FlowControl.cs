using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Pipeline;
using ModelContextProtocol.Protocol;

namespace McpGuard.Flow;

/// <summary>
/// The engine's flow component: the compiled policy, the flow states (per session or per principal) and the two
/// transport hooks (a call was sent; a response arrived). All rules live in <see cref="FlowSession"/>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class FlowControl
{
    private readonly ConcurrentDictionary<GuardPrincipal, FlowSession> _byPrincipal = new();
    private readonly TimeProvider _time;

    public FlowControl(FlowOptions options, TimeProvider time)
    {
        Policy = new FlowPolicy(options);
        _time = time;
    }

    public FlowPolicy Policy { get; }

    /// <summary>Gives a new session its flow state (shared per principal with <see cref="TaintScope.Principal"/>).</summary>
    public void Attach(GuardSessionInfo session) =>
        session.Flow = Policy.Options.Scope == TaintScope.Principal
            ? _byPrincipal.GetOrAdd(session.Principal, _ => new FlowSession(Policy, _time))
            : new FlowSession(Policy, _time);

    /// <summary>The call was sent (allowed, after any approval).</summary>
    public static void OnSent(ToolCallContext context)
    {
        if (context.FlowTicket is { } ticket)
        {
            ticket.Session.OnSent(ticket);
        }
    }

    /// <summary>A response arrived for a sent call: labels enter, source results are mined for values (before isolation rewrites them).</summary>
    public static void OnResponse(ToolCallContext? context, JsonRpcMessage message)
    {
        if (context?.FlowTicket is not { } ticket)
        {
            return;
        }

        FlowSession session = ticket.Session;
        List<FlowValue>? values = null;
        bool complete = true;
        if (session.ShouldMine(ticket.Slot.Flow))
        {
            values = [];
            var budget = new Budget(session.MaxScannedResultChars);
            switch (message)
            {
                case JsonRpcResponse { Result: { } result }:
                    complete = Mine(result, session, values, budget, 0);
                    break;
                case JsonRpcError error:
                    complete = MineText(error.Error.Message ?? string.Empty, session, values, budget);
                    break;
            }
        }

        session.OnResponse(ticket, values, complete);
    }

    private static bool Mine(JsonNode node, FlowSession session, List<FlowValue> values, Budget budget, int depth)
    {
        if (depth > 64)
        {
            return false;
        }

        switch (node)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return MineText(value.GetValue<string>(), session, values, budget);
            case JsonObject obj:
                foreach (KeyValuePair<string, JsonNode?> pair in obj)
                {
                    // Binary payloads carry no text values worth tracking and would only spend the budget.
                    if (pair.Value is null || pair.Key is "blob" or "data" or "_meta" or "mimeType" or "type")
                    {
                        continue;
                    }

                    if (!Mine(pair.Value, session, values, budget, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray array:
                foreach (JsonNode? item in array)
                {
                    if (item is not null && !Mine(item, session, values, budget, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    private static bool MineText(string text, FlowSession session, List<FlowValue> values, Budget budget)
    {
        if (text.Length > budget.Remaining)
        {
            session.ValueExtractor.Extract(text[..budget.Remaining], values, session.MaxTrackedValues);
            budget.Remaining = 0;
            return false;
        }

        budget.Remaining -= text.Length;
        return session.ValueExtractor.Extract(text, values, session.MaxTrackedValues);
    }

    private sealed class Budget(int remaining)
    {
        public int Remaining { get; set; } = remaining;
    }
}

/// <summary>
/// The flow stage of the tool-call pipeline: resolves the call's labels (host-assigned, plus what annotations add) and
/// lets the session's flow state decide (task scope, sequence rules, argument-level provenance, lethal trifecta,
/// untrusted content before a high-impact call). Cost per call does not depend on the length of the history.
/// </summary>
internal sealed class FlowStage(FlowControl control) : GuardStage
{
    public override string Name => "flow";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        ToolFlow flow = control.Policy.Resolve(context.ServerName, context.ToolName, context.Tool);
        return new(context.Session.Flow.Evaluate(context, flow));
    }
}
