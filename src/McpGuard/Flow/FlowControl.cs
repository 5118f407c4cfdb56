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
        Miner? miner = null;
        bool values = session.ShouldMine(ticket.Slot.Flow);
        bool phrases = session.ShouldShingle(ticket.Slot.Flow);
        if (values || phrases)
        {
            miner = new Miner(session, values, phrases);
            switch (message)
            {
                case JsonRpcResponse { Result: { } result }:
                    miner.Mine(result, 0);
                    break;
                case JsonRpcError error:
                    miner.MineText(error.Error.Message ?? string.Empty);
                    break;
            }
        }

        session.OnResponse(ticket, miner?.Values, miner?.ValuesComplete ?? true, miner?.Phrases, miner?.PhrasesComplete ?? true);
    }

    /// <summary>Walks a result's strings within the character budget, collecting values and (opt-in) word n-grams.</summary>
    private sealed class Miner(FlowSession session, bool values, bool phrases)
    {
        private int _remaining = session.MaxScannedResultChars;

        public List<FlowValue>? Values { get; } = values ? [] : null;

        public List<ulong>? Phrases { get; } = phrases ? [] : null;

        public bool ValuesComplete { get; private set; } = true;

        public bool PhrasesComplete { get; private set; } = true;

        public void Mine(JsonNode node, int depth)
        {
            if (depth > 64)
            {
                ValuesComplete = PhrasesComplete = false;
                return;
            }

            switch (node)
            {
                case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                    MineText(value.GetValue<string>());
                    break;
                case JsonObject obj:
                    foreach (KeyValuePair<string, JsonNode?> pair in obj)
                    {
                        // Binary payloads carry no text worth tracking and would only spend the budget.
                        if (pair.Value is not null && pair.Key is not ("blob" or "data" or "_meta" or "mimeType" or "type"))
                        {
                            Mine(pair.Value, depth + 1);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (JsonNode? item in array)
                    {
                        if (item is not null)
                        {
                            Mine(item, depth + 1);
                        }
                    }

                    break;
            }
        }

        public void MineText(string text)
        {
            if (_remaining <= 0)
            {
                if (text.Length > 0)
                {
                    ValuesComplete = PhrasesComplete = false;
                }

                return;
            }

            string scanned = text.Length > _remaining ? text[.._remaining] : text;
            if (scanned.Length < text.Length)
            {
                ValuesComplete = PhrasesComplete = false;
            }

            _remaining -= scanned.Length;
            if (Values is not null && !session.ValueExtractor.Extract(scanned, Values, session.MaxTrackedValues))
            {
                ValuesComplete = false;
            }

            if (Phrases is not null && FlowValueExtractor.Phrases(scanned, session.CopiedTextWords, all: true, Phrases, session.MaxTrackedPhrases) < 0)
            {
                PhrasesComplete = false;
            }
        }
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
