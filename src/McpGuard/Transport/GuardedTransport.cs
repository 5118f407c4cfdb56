using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using McpGuard.Diagnostics;
using McpGuard.Json;
using McpGuard.Pipeline;
using ModelContextProtocol.Protocol;

namespace McpGuard.Transport;

/// <summary>
/// The enforcement point: an <see cref="ITransport"/> that sits between the SDK's client session and the real
/// transport and sees every JSON-RPC message both ways.
/// </summary>
/// <remarks>
/// <para>Outgoing <c>tools/call</c> requests run through the pipeline; a denied call is answered here with a response
/// of the same id (the session registers the pending id before it sends, so this is race-free) and never reaches the
/// server. Incoming handshake results are checked against the registration; <c>tools/list</c> results are filtered;
/// responses for ids that were never sent are dropped.</para>
/// <para>Thread-safe: the session may send concurrently. Incoming messages are processed in order, in the session's own
/// read (<see cref="IncomingReader"/>): no pump task and no extra thread-pool hop per message.</para>
/// </remarks>
internal sealed partial class GuardedTransport : ITransport
{
    private const int MaxProtocolViolationEvents = 100;
    private const string BlockedText = "This tool call was blocked by the host's policy.";
    private const string ListChangedNotification = "notifications/tools/list_changed";

    private static readonly string[] s_allowNotVerified =
    [
        "A success result does not prove that the downstream effect happened.",
        "The server's name and version are self-reported, not authenticated.",
    ];

    private static readonly string[] s_outcomeNotVerified =
    [
        "A success result does not prove that the downstream effect happened.",
        "The result content is server-controlled and was not inspected by the foundation stages.",
    ];

    private readonly McpGuardEngine _engine;
    private readonly ITransport _inner;
    private readonly GuardSessionInfo _session;
    private readonly IncomingReader _reader;
    private readonly ConcurrentDictionary<RequestId, PendingRequest> _pending = new();
    private readonly ConcurrentDictionary<RequestId, TaskCompletionSource<JsonRpcMessage>> _internal = new();
    private readonly ConcurrentDictionary<RequestId, byte> _cancelled = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _refreshGate = new(1, 1);

    // Used only by the incoming reader, which handles one incoming message at a time.
    private readonly JsonSha256Hasher _resultHasher = new();
    private volatile bool _verified;
    private volatile bool _catalogStale;
    private volatile GuardDecision? _refusal;
    private volatile JsonObject? _lastMeta;
    private int _protocolViolations;
    private long _internalIds;
    private int _disposed;
    private int _closed;

    public GuardedTransport(McpGuardEngine engine, ITransport inner, GuardSessionInfo session)
    {
        _engine = engine;
        _inner = inner;
        _session = session;
        _engine.Isolation.Attach(session); // isolation: taint state (shared per principal by default)
        _engine.Flow?.Attach(session); // flow: flow state (shared per principal by default)
        _reader = new IncomingReader(this);
    }

    public string? SessionId => _inner.SessionId;

    public ChannelReader<JsonRpcMessage> MessageReader => _reader;

    internal GuardSessionInfo Session => _session;

    internal GuardDecision? Refusal => _refusal;

    public async Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message is not JsonRpcRequest request)
        {
            message = await OnClientAnswerAsync(message).ConfigureAwait(false); // server requests: roots filtered, outcomes recorded
            if (message is JsonRpcNotification { Method: NotificationMethods.CancelledNotification } cancelled)
            {
                await OnClientCancelledAsync(cancelled).ConfigureAwait(false);
            }

            await _inner.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (request.Params is JsonObject p && p["_meta"] is JsonObject meta)
        {
            _lastMeta = meta;
        }

        // Server requests: client capabilities, MRTR inputResponses (a sampling answer carrying a host credential refuses the request).
        GuardDecision? outgoing = await OnOutgoingRequestAsync(request).ConfigureAwait(false);

        switch (request.Method)
        {
            case RequestMethods.ToolsCall:
                await HandleToolCallAsync(request, outgoing, cancellationToken).ConfigureAwait(false);
                return;
            case RequestMethods.Initialize when outgoing is null:
            case RequestMethods.ServerDiscover when outgoing is null:
                if (_refusal is not null)
                {
                    // Already refused (e.g. the client falls back from server/discover to initialize): answer without asking the server again.
                    await AnswerAsync(PolicyError(request.Id, McpGuardErrorCodes.ConnectionRefused, "The connection was refused by the host's policy.")).ConfigureAwait(false);
                    return;
                }

                await ForwardAsync(request, new PendingRequest(PendingKind.Handshake, request.Method, _engine.TimeProvider.GetTimestamp())
                {
                    RequestedProtocolVersion = RequestedProtocolVersion(request),
                }, cancellationToken).ConfigureAwait(false);
                return;
            case RequestMethods.Ping when outgoing is null:
                await ForwardAsync(request, new PendingRequest(PendingKind.Other, request.Method, 0), cancellationToken).ConfigureAwait(false);
                return;
        }

        GuardDecision? refusal = _refusal
            ?? outgoing
            ?? (!_verified ? GuardDecision.Deny("The server's handshake has not been verified.", "server.not-verified") : null)
            ?? (_engine.KillSwitch.ServerDisabledReason(_session.ServerName) is { } reason ? GuardDecision.Deny("The server is disabled: " + reason, "server.disabled") : null)
            ?? (request.Method == RequestMethods.PromptsGet ? PromptBlocked(request) : null)
            ?? CredentialLeak(request.Method + " request", request.Params);
        if (refusal is not null)
        {
            await RecordAsync(new GuardEvidence(GuardEvidenceKind.RequestDenied, _session, _engine.Evidence)
            {
                RequestId = request.Id.ToString(),
                Method = request.Method,
                Decision = refusal.Kind,
                RuleId = refusal.RuleId,
                Reason = refusal.Reason,
                JsonPath = refusal.JsonPath,
            }).ConfigureAwait(false);
            await AnswerAsync(PolicyError(request.Id, McpGuardErrorCodes.PolicyDenied, "The request was blocked by the host's policy.")).ConfigureAwait(false);
            return;
        }

        PendingKind kind = request.Method switch
        {
            RequestMethods.ToolsList => PendingKind.ToolsList,
            RequestMethods.PromptsList => PendingKind.PromptsList,
            RequestMethods.ResourcesTemplatesList => PendingKind.TemplatesList,
            RequestMethods.ResourcesList => PendingKind.ResourcesList,
            RequestMethods.ResourcesRead when _engine.Isolation.Enabled => PendingKind.ResourcesRead, // isolation
            RequestMethods.PromptsGet when _engine.Isolation.Enabled => PendingKind.PromptsGet, // isolation
            _ => PendingKind.Other,
        };
        var pending = new PendingRequest(kind, request.Method, _engine.TimeProvider.GetTimestamp())
        {
            FirstPage = request.Params is not JsonObject lp || lp["cursor"] is null,
            Subject = (request.Params as JsonObject)?[kind == PendingKind.ResourcesRead ? "uri" : "name"] is JsonValue sv && sv.GetValueKind() == JsonValueKind.String ? sv.GetValue<string>() : null,
        };
        await ForwardAsync(request, pending, cancellationToken).ConfigureAwait(false);
    }

    private async Task ForwardAsync(JsonRpcRequest request, PendingRequest pending, CancellationToken cancellationToken)
    {
        _pending[request.Id] = pending;

        // After the server's side has ended nothing can answer, so the request is not sent: a stream transport whose
        // write side is still open would accept it, and the SDK 2.4.0 client would then wait for its answer forever (a
        // pending entry added after OnClosedAsync ran is never failed). The read is a full fence: the entry above is
        // visible to OnClosedAsync, or the close is visible here.
        if (Interlocked.CompareExchange(ref _closed, 0, 0) != 0)
        {
            throw new ServerConnectionClosedException(outcomeRecorded: !_pending.TryRemove(request.Id, out _));
        }

        try
        {
            await _inner.SendMessageAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _pending.TryRemove(request.Id, out _);
            throw;
        }
    }

    private async Task HandleToolCallAsync(JsonRpcRequest request, GuardDecision? outgoing, CancellationToken cancellationToken)
    {
        long started = _engine.TimeProvider.GetTimestamp();
        using Activity? activity = McpGuardTelemetry.ActivitySource.HasListeners()
            ? McpGuardTelemetry.ActivitySource.StartActivity("mcpguard.tool_call", ActivityKind.Internal)
            : null;
        string toolName = string.Empty;
        byte[] canonical;
        JsonElement arguments;
        GuardDecision? early = null;
        try
        {
            canonical = ReadCallParams(request.Params, out toolName);
            Utf8JsonReader reader = new(canonical);
            arguments = JsonElement.ParseValue(ref reader); // its own copy: outlives the request, never disposed
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            canonical = "{}"u8.ToArray();
            arguments = default;
            early = GuardDecision.Deny("The call's name or arguments could not be read as JSON.", "argument.malformed", "$");
        }

        if (toolName.Length == 0)
        {
            early ??= GuardDecision.Deny("The request has no tool name.", "call.malformed");
        }

        early ??= _refusal ?? outgoing;
        if (early is null && !_verified)
        {
            early = GuardDecision.Deny("The server's handshake has not been verified.", "server.not-verified");
        }

        if (early is null && Volatile.Read(ref _closed) != 0)
        {
            // Nothing can answer any more (ForwardAsync covers a close that races with this call).
            early = GuardDecision.Deny("The connection to the server has closed.", "server.connection-closed");
        }

        GuardToolDescriptor? tool = null;
        if (early is null)
        {
            bool known = _session.Tools.TryGetValue(toolName, out tool);

            // After notifications/tools/list_changed a known tool's listed definition may be outdated: with pinning on,
            // the call is checked against the server's current definition, not the one listed before the notification.
            if ((!known && (!_session.CatalogListed || _catalogStale)) || (known && _catalogStale && _engine.Pinning is not null))
            {
                await RefreshCatalogAsync(cancellationToken).ConfigureAwait(false);
                _session.Tools.TryGetValue(toolName, out tool);
                if (known && _catalogStale)
                {
                    // The re-list failed: the server's current definition is unknown, so fail closed.
                    early = GuardDecision.Deny("The server's current tool definitions could not be listed after it announced a change.", "catalog.refresh-failed");
                }
            }
        }

        var context = new ToolCallContext(_session, request.Id.ToString(), toolName, tool, arguments, canonical); // digest on first read
        GuardDecision decision;
        ApprovalEvidence? approval = null;
        List<GuardDecision>? approvalReasons = null;
        if (early is not null)
        {
            decision = early;
        }
        else
        {
            PipelineResult result = await _engine.Pipeline.EvaluateCallAsync(context, cancellationToken).ConfigureAwait(false);
            decision = result.Decision;
            if (decision.Kind == GuardDecisionKind.RequireApproval)
            {
                approvalReasons = result.ApprovalReasons;
                (GuardDecision approved, ApprovalEvidence record) = await _engine.Approvals
                    .ResolveAsync(context, result.ApprovalReasons!, cancellationToken).ConfigureAwait(false);
                approval = record;
                if (approved.IsAllowed)
                {
                    Isolation.ContentIsolation.OnCallApproved(context, result.ApprovalReasons); // isolation: approval on first use
                }

                decision = approved.IsAllowed
                    ? StillSameRequest(request, context) ? result.ApprovalReasons![0] : GuardDecision.Deny("The tool name or arguments changed after approval.", "approval.request-altered")
                    : approved;
            }
        }

        // After approval the final verdict is Allow (approved) or Deny.
        bool allowed = decision.Kind != GuardDecisionKind.Deny;
        double elapsed = _engine.TimeProvider.GetElapsedTime(started).TotalMilliseconds;
        GuardEvidence evidence = new GuardEvidence(GuardEvidenceKind.ToolCallDecision, _session, _engine.Evidence)
        {
            RequestId = context.RequestId,
            Method = RequestMethods.ToolsCall,
            ToolName = toolName,
            ToolMetadataSha256 = tool?.MetadataSha256,
            Arguments = _engine.Evidence.DescribeArguments(context),
            Decision = allowed ? GuardDecisionKind.Allow : GuardDecisionKind.Deny,
            RuleId = decision.RuleId,
            Reason = decision.Reason,
            JsonPath = decision.JsonPath,
            Approval = approval,
            NotVerified = allowed ? s_allowNotVerified : [],
            Details = approvalReasons is null
                ? decision.Chain is { } chain ? new JsonObject { ["flow"] = Flow.FlowEvidence.ToJson(chain) } : null
                : new JsonObject { ["approvalRequiredBy"] = ApprovalReasonsJson(approvalReasons) },
        };
        bool recorded = await RecordAsync(evidence).ConfigureAwait(false);
        if (!recorded && allowed && _engine.Options.Evidence.DenyWhenEvidenceFails)
        {
            decision = GuardDecision.Deny("The decision could not be recorded as evidence.", "evidence.unavailable");
            allowed = false;
            await RecordAsync(evidence with { EventId = Evidence.EvidenceRecorder.NextEventId(), Decision = GuardDecisionKind.Deny, RuleId = decision.RuleId, Reason = decision.Reason, NotVerified = [] }).ConfigureAwait(false);
        }

        if (activity is not null)
        {
            activity.SetTag("mcpguard.server", _session.ServerName);
            activity.SetTag("mcpguard.tool", toolName);
            activity.SetTag("mcpguard.session", _session.SessionId);
            activity.SetTag("mcpguard.agent", _session.Principal.AgentId);
            activity.SetTag("mcpguard.decision", allowed ? "allow" : "deny");
            activity.SetTag("mcpguard.rule_id", decision.RuleId);
            activity.SetTag("mcpguard.approval", approval?.Result);
            if (!allowed)
            {
                activity.SetStatus(ActivityStatusCode.Error, decision.RuleId);
            }
        }

        if (McpGuardTelemetry.Decisions.Enabled)
        {
            McpGuardTelemetry.Decisions.Add(1,
                new KeyValuePair<string, object?>("mcpguard.server", _session.ServerName),
                new KeyValuePair<string, object?>("mcpguard.decision", allowed ? "allow" : "deny"),
                new KeyValuePair<string, object?>("mcpguard.rule_id", decision.RuleId));
        }

        if (McpGuardTelemetry.DecisionDuration.Enabled && approval is null)
        {
            McpGuardTelemetry.DecisionDuration.Record(elapsed, new KeyValuePair<string, object?>("mcpguard.server", _session.ServerName));
        }

        if (!allowed)
        {
            if (_engine.Options.DeniedCallBehavior == DeniedCallBehavior.Throw)
            {
                throw new McpGuardPolicyException(decision, _session.ServerName, toolName);
            }

            await AnswerAsync(new JsonRpcResponse { Id = request.Id, Result = BlockedResult() }).ConfigureAwait(false);
            return;
        }

        var pending = new PendingRequest(PendingKind.ToolCall, RequestMethods.ToolsCall, _engine.TimeProvider.GetTimestamp()) { Call = context };
        Flow.FlowControl.OnSent(context); // flow: sequence rules advance
        try
        {
            await ForwardAsync(request, pending, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ServerConnectionClosedException { OutcomeRecorded: true })
        {
            await RecordOutcomeAsync(pending, new OutcomeEvidence("send-failed", 0, null, null, null), ex.GetType().Name).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A request not sent (or not answered by the guard) because the connection to the server had already closed:
    /// an <see cref="IOException"/>, as for a server that dies while a call is pending.</summary>
    /// <param name="outcomeRecorded">Whether no <c>send-failed</c> outcome is to be recorded for it: the close already
    /// recorded the call's <c>connection-lost</c> outcome, or the call was denied and has no outcome.</param>
    private sealed class ServerConnectionClosedException(bool outcomeRecorded) : IOException("The connection to the server closed; the request was not sent.")
    {
        public bool OutcomeRecorded { get; } = outcomeRecorded;
    }

    private async ValueTask OnClientCancelledAsync(JsonRpcNotification cancelled)
    {
        if (cancelled.Params is not JsonObject p || p["requestId"] is not JsonValue idValue)
        {
            return;
        }

        RequestId id = idValue.GetValueKind() switch
        {
            JsonValueKind.String => new RequestId(idValue.GetValue<string>()),
            JsonValueKind.Number when idValue.TryGetValue(out long n) => new RequestId(n),
            _ => default,
        };
        PendingRequest? pending = null;
        if (id.Id is not null && _pending.TryRemove(id, out pending))
        {
            // The server may still answer (the notification can cross its response, spec: cancellation): not a violation.
            if (_cancelled.Count >= 256)
            {
                _cancelled.Clear();
            }

            _cancelled[id] = 0;
        }

        if (pending is { Kind: PendingKind.ToolCall })
        {
            double ms = _engine.TimeProvider.GetElapsedTime(pending.StartTimestamp).TotalMilliseconds;
            await RecordOutcomeAsync(pending, new OutcomeEvidence("cancelled", ms, null, null, null), "The client cancelled the call; the server may still have acted on it.").ConfigureAwait(false);
        }
    }

    private static JsonArray ApprovalReasonsJson(List<GuardDecision> reasons)
    {
        var array = new JsonArray();
        foreach (GuardDecision reason in reasons)
        {
            var item = new JsonObject { ["ruleId"] = reason.RuleId, ["reason"] = reason.Reason };
            if (reason.Chain is { } chain)
            {
                item["flow"] = Flow.FlowEvidence.ToJson(chain);
            }

            array.Add((JsonNode)item);
        }

        return array;
    }

    /// <summary>Whether the request about to be sent still carries the tool name and arguments that were approved (the
    /// caller holds the request object and could have changed or replaced them meanwhile).</summary>
    private static bool StillSameRequest(JsonRpcRequest request, ToolCallContext context)
    {
        try
        {
            byte[] now = ReadCallParams(request.Params, out string toolName);
            return string.Equals(toolName, context.ToolName, StringComparison.Ordinal) && now.AsSpan().SequenceEqual(context.ArgumentsCanonical);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads <c>params.name</c> (empty when absent or not a string) and the canonical (RFC 8785) bytes of
    /// <c>params.arguments</c> (absent or <c>null</c> read as <c>{}</c>) of a <c>tools/call</c> request.
    /// </summary>
    /// <remarks>The SDK's client has read <c>params</c> as a node before the transport sees it, but leaves
    /// <c>arguments</c> backed by its serialized bytes: the canonicalizer writes it from them and leaves it unread.</remarks>
    /// <exception cref="JsonException">Arguments the canonicalizer refuses (<paramref name="toolName"/> is set first).</exception>
    /// <exception cref="ArgumentException"><c>params</c> repeats a member (thrown when the node is built).</exception>
    private static byte[] ReadCallParams(JsonNode? parameters, out string toolName)
    {
        JsonObject? p = parameters as JsonObject;
        toolName = p?["name"] is JsonValue nv && nv.GetValueKind() == JsonValueKind.String ? nv.GetValue<string>() : string.Empty;
        return JsonCanonicalizer.ToCanonicalBytes(p?["arguments"] ?? new JsonObject());
    }

    private static JsonObject BlockedResult() => new()
    {
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = BlockedText }),
        ["isError"] = true,
    };

    private static JsonRpcError PolicyError(RequestId id, int code, string message) => new()
    {
        Id = id,
        Error = new JsonRpcErrorDetail { Code = code, Message = message },
    };

    private static string? RequestedProtocolVersion(JsonRpcRequest request)
    {
        if (request.Params is not JsonObject p)
        {
            return null;
        }

        if (p["protocolVersion"] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }

        return p["_meta"] is JsonObject meta && meta["io.modelcontextprotocol/protocolVersion"] is JsonValue mv && mv.GetValueKind() == JsonValueKind.String
            ? mv.GetValue<string>()
            : null;
    }

    /// <summary>Hands a message the guard itself produced (a denial, a policy error, a result released after approval) to the session.</summary>
    private ValueTask DeliverAsync(JsonRpcMessage message)
    {
        _reader.Inject(message); // after close the session's read has failed what was pending, and the message is dropped
        return default;
    }

    /// <summary>Answers a request of the client in the guard's own name (a denial or policy error).</summary>
    /// <exception cref="IOException">The session's read has ended, so the answer could not reach the client: the client
    /// made the request after the server's side closed, and the send fails instead of leaving it waiting forever.</exception>
    private ValueTask AnswerAsync(JsonRpcMessage answer) =>
        _reader.Inject(answer) ? default : throw new ServerConnectionClosedException(outcomeRecorded: true);

    private ValueTask<bool> RecordAsync(GuardEvidence evidence) => _engine.Evidence.WriteAsync(evidence, CancellationToken.None);

    // ---------------------------------------------------------------- incoming

    /// <summary>Processes one message from the server; <see langword="null"/> drops it. Never throws: a failure rejects the message.</summary>
    private async ValueTask<JsonRpcMessage?> ProcessOneAsync(JsonRpcMessage message)
    {
        try
        {
            return await ProcessIncomingAsync(message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            return null; // the transport is being disposed
        }
        catch (Exception ex)
        {
            Log.ProtocolViolation(_engine.Logger, _session.ServerName, "guard.processing-error");
            await ProtocolViolationAsync("guard.processing-error", $"Processing a message failed with {ex.GetType().Name}.", null).ConfigureAwait(false);
            return message is JsonRpcMessageWithId { } withId && withId is JsonRpcResponse or JsonRpcError
                ? PolicyError(withId.Id, McpGuardErrorCodes.ServerResponseRejected, "The server's response was rejected by the host's policy.")
                : null;
        }
    }

    /// <summary>Runs once, when the server's side ends or the transport is disposed: pending calls get their outcome evidence.</summary>
    private async Task OnClosedAsync(Exception? failure)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        foreach (KeyValuePair<RequestId, TaskCompletionSource<JsonRpcMessage>> entry in _internal)
        {
            entry.Value.TrySetException(new IOException("The connection to the server closed."));
        }

        foreach (KeyValuePair<RequestId, PendingRequest> entry in _pending)
        {
            if (_pending.TryRemove(entry.Key, out PendingRequest? pending) && pending.Kind == PendingKind.ToolCall)
            {
                double ms = _engine.TimeProvider.GetElapsedTime(pending.StartTimestamp).TotalMilliseconds;
                await RecordOutcomeAsync(pending, new OutcomeEvidence("connection-lost", ms, null, null, null), failure?.GetType().Name).ConfigureAwait(false);
            }
        }

        await RecordAsync(new GuardEvidence(GuardEvidenceKind.ConnectionClosed, _session, _engine.Evidence)
        {
            Reason = failure is null ? "The transport closed." : $"The transport failed with {failure.GetType().Name}.",
        }).ConfigureAwait(false);
        _reader.Complete(failure);
    }

    private async ValueTask<JsonRpcMessage?> ProcessIncomingAsync(JsonRpcMessage message)
    {
        switch (message)
        {
            case JsonRpcResponse or JsonRpcError:
                var withId = (JsonRpcMessageWithId)message;
                if (_internal.TryRemove(withId.Id, out TaskCompletionSource<JsonRpcMessage>? waiter))
                {
                    waiter.TrySetResult(message);
                    return null;
                }

                if (!_pending.TryRemove(withId.Id, out PendingRequest? pending))
                {
                    if (_cancelled.TryRemove(withId.Id, out _))
                    {
                        return null; // a late answer to a request the client cancelled (e.g. the server/discover probe)
                    }

                    await ProtocolViolationAsync("protocol.unknown-response-id", "The server answered a request id that is not pending.", withId.Id.ToString()).ConfigureAwait(false);
                    return null;
                }

                if (IsInputRequired(message))
                {
                    return await OnInputRequiredAsync((JsonRpcResponse)message, pending).ConfigureAwait(false); // server requests (MRTR)
                }

                return pending.Kind switch
                {
                    PendingKind.Handshake => await OnHandshakeResponseAsync(message, pending).ConfigureAwait(false),
                    PendingKind.ToolsList => await OnToolsListResponseAsync(message, pending).ConfigureAwait(false),
                    PendingKind.ToolCall => await OnToolCallResponseAsync(message, pending).ConfigureAwait(false),
                    PendingKind.PromptsList => await OnItemListResponseAsync(message, s_promptsList, pending.FirstPage).ConfigureAwait(false),
                    PendingKind.TemplatesList => await OnItemListResponseAsync(message, s_templatesList, pending.FirstPage).ConfigureAwait(false),
                    PendingKind.ResourcesList => await OnItemListResponseAsync(message, s_resourcesList, pending.FirstPage).ConfigureAwait(false),
                    PendingKind.ResourcesRead => await _engine.Isolation.OnResourceReadAsync(message, _session, pending.Subject, _cts.Token).ConfigureAwait(false),
                    PendingKind.PromptsGet => await _engine.Isolation.OnPromptGetAsync(message, _session, pending.Subject, _cts.Token).ConfigureAwait(false),
                    _ => message,
                };
            case JsonRpcNotification notification:
                ForgetCancelledServerRequest(notification); // server requests: a cancelled request gets no answer
                if (notification.Method == ListChangedNotification)
                {
                    _catalogStale = true;
                    if (_engine.Pinning is { Options.RelistOnListChanged: true } && _verified && _refusal is null)
                    {
                        // Re-list off the incoming reader (the answer arrives through it) so drift is detected even if the host never lists again.
                        _ = Task.Run(BackgroundRelistAsync);
                    }
                }

                return _refusal is null ? message : null;
            default:
                // Server-to-client requests: roots, sampling and elicitation are decided first; ping and others pass to the client.
                return _refusal is null ? await OnServerRequestAsync(message).ConfigureAwait(false) : null;
        }
    }

    private async ValueTask<JsonRpcMessage> OnHandshakeResponseAsync(JsonRpcMessage message, PendingRequest pending)
    {
        if (message is not JsonRpcResponse response)
        {
            return message;
        }

        var id = response.Id;
        if (response.Result is not JsonObject result)
        {
            return await RefuseAsync(id, GuardDecision.Deny("The handshake result is not a JSON object.", "server.handshake-malformed")).ConfigureAwait(false);
        }

        JsonNode? info = pending.Method == RequestMethods.Initialize
            ? result["serverInfo"]
            : (result["_meta"] as JsonObject)?["io.modelcontextprotocol/serverInfo"];
        string? name = (info as JsonObject)?["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : null;
        string? version = (info as JsonObject)?["version"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        string? protocol = result["protocolVersion"] is JsonValue pv && pv.GetValueKind() == JsonValueKind.String ? pv.GetValue<string>() : pending.RequestedProtocolVersion;
        string? instructions = result["instructions"] is JsonValue iv && iv.GetValueKind() == JsonValueKind.String ? iv.GetValue<string>() : null;
        _session.ServerIdentity = new ServerIdentity(name, version, protocol, instructions);

        GuardServerOptions? registration = _session.Registration;
        GuardDecision? refusal = null;
        if (registration is null)
        {
            refusal = GuardDecision.Deny("The server is not registered with the guard.", "server.unregistered");
        }
        else if (_engine.KillSwitch.ServerDisabledReason(_session.ServerName) is { } disabled)
        {
            refusal = GuardDecision.Deny("The server is disabled: " + disabled, "server.disabled");
        }
        else if (registration.ExpectedName is { } expectedName && !string.Equals(expectedName, name, StringComparison.Ordinal))
        {
            refusal = GuardDecision.Deny($"The server reported name '{Truncate(name)}'; the registration expects '{expectedName}'.", "server.identity-mismatch");
        }
        else if (registration.ExpectedVersion is { } expectedVersion && !string.Equals(expectedVersion, version, StringComparison.Ordinal))
        {
            refusal = GuardDecision.Deny($"The server reported version '{Truncate(version)}'; the registration expects '{expectedVersion}'.", "server.identity-mismatch");
        }

        if (refusal is not null)
        {
            return await RefuseAsync(id, refusal).ConfigureAwait(false);
        }

        _verified = true;
        await RecordAsync(new GuardEvidence(GuardEvidenceKind.ServerConnected, _session, _engine.Evidence)
        {
            Method = pending.Method,
            Decision = GuardDecisionKind.Allow,
            NotVerified = ["The server's name and version are self-reported, not authenticated."],
        }).ConfigureAwait(false);
        return message;
    }

    private async ValueTask<JsonRpcMessage> RefuseAsync(RequestId id, GuardDecision refusal)
    {
        _refusal = refusal;
        _verified = false;
        Log.ConnectionRefused(_engine.Logger, _session.ServerName, refusal.RuleId!);
        await RecordAsync(new GuardEvidence(GuardEvidenceKind.ConnectionRefused, _session, _engine.Evidence)
        {
            Decision = GuardDecisionKind.Deny,
            RuleId = refusal.RuleId,
            Reason = refusal.Reason,
        }).ConfigureAwait(false);
        return PolicyError(id, McpGuardErrorCodes.ConnectionRefused, "The connection was refused by the host's policy.");
    }

    private async ValueTask<JsonRpcMessage> OnToolsListResponseAsync(JsonRpcMessage message, PendingRequest pending)
    {
        if (message is not JsonRpcResponse response)
        {
            return message;
        }

        GuardDecision? rejection = await ApplyToolsListAsync(response.Result, pending.FirstPage, filter: true).ConfigureAwait(false);
        return rejection is null
            ? message
            : PolicyError(response.Id, McpGuardErrorCodes.ServerResponseRejected, "The server's tool list was rejected by the host's policy.");
    }

    /// <summary>Records the advertised tools in the session catalog and (optionally) removes hidden ones from the result in place.</summary>
    private async ValueTask<GuardDecision?> ApplyToolsListAsync(JsonNode? resultNode, bool firstPage, bool filter)
    {
        if (resultNode is not JsonObject result || result["tools"] is not JsonArray tools || !SdkContract.IsListShellReadable(result, "tools", SdkContract.ListToolsResult))
        {
            // The last check: members beside the array that the SDK client cannot read (a nextCursor that is not a
            // string, a _meta that is not an object) would make ListToolsAsync throw a JsonException.
            GuardDecision malformed = GuardDecision.Deny("The tools/list result is not an object with a 'tools' array and members the client can read.", "catalog.malformed");
            await RecordAsync(new GuardEvidence(GuardEvidenceKind.ToolsListRejected, _session, _engine.Evidence)
            {
                Method = RequestMethods.ToolsList,
                Decision = GuardDecisionKind.Deny,
                RuleId = malformed.RuleId,
                Reason = malformed.Reason,
            }).ConfigureAwait(false);
            return malformed;
        }

        int existing = firstPage ? 0 : _session.Tools.Count;
        if (tools.Count + existing > _engine.Options.MaxToolsPerServer)
        {
            GuardDecision tooMany = GuardDecision.Deny(
                string.Create(CultureInfo.InvariantCulture, $"The server advertised {tools.Count + existing} tools; the limit is {_engine.Options.MaxToolsPerServer}."),
                "catalog.too-many-tools");
            await RecordAsync(new GuardEvidence(GuardEvidenceKind.ToolsListRejected, _session, _engine.Evidence)
            {
                Method = RequestMethods.ToolsList,
                Decision = GuardDecisionKind.Deny,
                RuleId = tooMany.RuleId,
                Reason = tooMany.Reason,
                Details = new JsonObject { ["advertised"] = tools.Count + existing },
            }).ConfigureAwait(false);
            return tooMany;
        }

        int advertised = tools.Count;
        var descriptors = new Dictionary<string, GuardToolDescriptor>(tools.Count, StringComparer.Ordinal);
        var ordered = new List<(GuardToolDescriptor Descriptor, JsonNode Node)>(tools.Count);
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        var keep = new List<JsonNode>(tools.Count);
        var hidden = new JsonObject();
        int malformedItems = 0;
        int duplicates = 0;
        HashSet<string>? unreadable = null;
        foreach (JsonNode? item in tools)
        {
            if (item is not JsonObject toolObject
                || toolObject["name"] is not JsonValue nameValue
                || nameValue.GetValueKind() != JsonValueKind.String
                || nameValue.GetValue<string>() is not { Length: > 0 } name)
            {
                malformedItems++;
                continue;
            }

            if (descriptors.ContainsKey(name))
            {
                duplicates++;
                ambiguous.Add(name);
                continue;
            }

            GuardToolDescriptor descriptor;
            try
            {
                byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(toolObject);
                descriptor = new GuardToolDescriptor(name, toolObject, canonical, JsonCanonicalizer.Sha256Hex(canonical));
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                malformedItems++;
                continue;
            }

            descriptors[name] = descriptor;
            if (!SdkContract.IsReadable(descriptor.CanonicalJson, SdkContract.Tool))
            {
                // One entry the SDK client cannot read (no inputSchema, one whose type is not "object", a title that is
                // not a string, ...) would make its whole tools/list throw for the host: hidden, neither shown nor
                // callable. Its name still counts for duplicates.
                malformedItems++;
                unreadable ??= new HashSet<string>(StringComparer.Ordinal);
                unreadable.Add(name);
                continue;
            }

            ordered.Add((descriptor, toolObject));
        }

        // A name advertised twice is ambiguous: the server might run either definition, so neither is shown or callable.
        foreach (string name in ambiguous)
        {
            descriptors.Remove(name);
            if (hidden.Count < 100)
            {
                hidden[name] = "catalog.duplicate-name";
            }
        }

        foreach (string name in unreadable ?? [])
        {
            if (descriptors.Remove(name) && hidden.Count < 100)
            {
                hidden[name] = "catalog.malformed";
            }
        }

        ordered.RemoveAll(o => ambiguous.Contains(o.Descriptor.Name));

        FrozenDictionary<string, Pinning.PinState>? pinStates = null;
        if (_engine.Pinning is { } pinning)
        {
            bool complete = firstPage && result["nextCursor"] is null;
            pinStates = await pinning.CheckAsync(_session, CatalogItemKind.Tool, descriptors, complete, CancellationToken.None).ConfigureAwait(false);
        }

        foreach ((GuardToolDescriptor descriptor, JsonNode toolObject) in ordered)
        {
            string name = descriptor.Name;
            GuardDecision visibility = _engine.Visibility.Evaluate(_session, descriptor);
            string? hiddenRule = visibility.Kind == GuardDecisionKind.Deny ? visibility.RuleId
                : _engine.KillSwitch.IsToolDisabled(_session.ServerName, name) ? "tool.disabled"
                : pinStates is not null && pinStates.TryGetValue(name, out Pinning.PinState? pin) && pin.Status == Pinning.PinStatus.Blocked
                    ? (pin.Diff is { PinnedSha256: null } ? "catalog.unpinned" : "catalog.drift-blocked")
                    : null;
            if (hiddenRule is not null)
            {
                if (hidden.Count < 100)
                {
                    hidden[name] = hiddenRule;
                }

                continue;
            }

            // Isolation: sanitized copy shown; flagged tools hidden, approved on first use or warned per policy.
            (JsonNode shown, string? isolationRule) = await _engine.Isolation.ScanToolAsync(_session, descriptor, (JsonObject)toolObject, filter, CancellationToken.None).ConfigureAwait(false);
            if (isolationRule is not null)
            {
                if (hidden.Count < 100)
                {
                    hidden[name] = isolationRule;
                }

                continue;
            }

            keep.Add(shown);
        }

        _engine.Isolation.RegisterToolNames(_session, keep.Select(k => k["name"]!.GetValue<string>()));

        _session.ReplaceCatalog(descriptors.ToFrozenDictionary(StringComparer.Ordinal), merge: !firstPage, pinStates);
        if (firstPage)
        {
            _catalogStale = false;
        }

        if (filter && (keep.Count != tools.Count || keep.Where((k, i) => !ReferenceEquals(k, tools[i])).Any()))
        {
            tools.Clear();
            foreach (JsonNode node in keep)
            {
                tools.Add(node);
            }
        }

        await RecordAsync(new GuardEvidence(GuardEvidenceKind.ToolsListed, _session, _engine.Evidence)
        {
            Method = RequestMethods.ToolsList,
            Details = new JsonObject
            {
                ["advertised"] = advertised,
                ["visible"] = keep.Count,
                ["hidden"] = hidden,
                ["malformed"] = malformedItems,
                ["duplicateNames"] = duplicates,
            },
        }).ConfigureAwait(false);
        return null;
    }

    /// <summary>Token passthrough outside <c>tools/call</c> arguments (which the pipeline's stage checks): other requests'
    /// <c>params</c> and the model's sampling answers. <see langword="null"/> when passthrough prevention is off or nothing leaks.</summary>
    private GuardDecision? CredentialLeak(string what, JsonNode? node) =>
        _engine.Options.Credentials.PreventPassthrough ? Credentials.CredentialPassthroughStage.ScreenNode(_engine.Credentials, what, node) : null;

    private GuardDecision? PromptBlocked(JsonRpcRequest request)
    {
        if (_engine.Pinning is null
            || request.Params is not JsonObject p
            || p["name"] is not JsonValue nv
            || nv.GetValueKind() != JsonValueKind.String
            || _session.PromptPinStates is not { } states
            || !states.TryGetValue(nv.GetValue<string>(), out Pinning.PinState? state)
            || state.Status is not (Pinning.PinStatus.Blocked or Pinning.PinStatus.NeedsApproval))
        {
            return null;
        }

        // prompts/get has no per-request approval channel yet, so a prompt whose change needs approval is denied too.
        return GuardDecision.Deny("The prompt's definition differs from its pin and the change is not approved.", "catalog.drift-blocked");
    }

    /// <summary>
    /// Checks a <c>prompts/list</c>, <c>resources/list</c> or <c>resources/templates/list</c> result. Entries the SDK client
    /// cannot read are removed (one such entry would make the host's whole <c>List*Async</c> throw), and so are entries
    /// that are not objects or have no key (<c>name</c> for prompts and templates, <c>uri</c> for resources); a result
    /// whose top level is unreadable is rejected whole. With pinning on,
    /// prompts and resource templates are then pinned like tools: a name listed twice is ambiguous and neither entry is
    /// kept, and blocked items are removed.
    /// </summary>
    private async ValueTask<JsonRpcMessage> OnItemListResponseAsync(JsonRpcMessage message, ItemList list, bool firstPage)
    {
        if (message is not JsonRpcResponse response)
        {
            return message;
        }

        if (response.Result is not JsonObject result
            || result[list.ArrayName] is not JsonArray items
            || items.Count > _engine.Options.MaxToolsPerServer
            || !list.IsShellReadable(result))
        {
            await RecordAsync(new GuardEvidence(GuardEvidenceKind.ToolsListRejected, _session, _engine.Evidence)
            {
                Method = list.Method,
                Decision = GuardDecisionKind.Deny,
                RuleId = "catalog.malformed",
                Reason = $"The {list.ArrayName} list is malformed or too long.",
            }).ConfigureAwait(false);
            return PolicyError(response.Id, McpGuardErrorCodes.ServerResponseRejected, "The server's list was rejected by the host's policy.");
        }

        Pinning.CatalogPinning? pinning = list.PinnedAs is null ? null : _engine.Pinning;
        var descriptors = new Dictionary<string, GuardToolDescriptor>(StringComparer.Ordinal);
        var nodes = new List<(string Key, JsonNode Node)>(items.Count);
        HashSet<string>? ambiguous = null;
        var dropped = new JsonObject();
        int malformed = 0;
        foreach (JsonNode? item in items)
        {
            string? key = item is JsonObject obj && obj[list.KeyName] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            if (string.IsNullOrEmpty(key) || !list.IsEntryReadable(item!))
            {
                malformed++;
                if (key is { Length: > 0 } && dropped.Count < 100)
                {
                    dropped[key] = "catalog.malformed";
                }

                continue;
            }

            if (pinning is not null)
            {
                if (descriptors.ContainsKey(key))
                {
                    (ambiguous ??= new HashSet<string>(StringComparer.Ordinal)).Add(key);
                    continue;
                }

                byte[] canonical;
                try
                {
                    canonical = JsonCanonicalizer.ToCanonicalBytes(item!);
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
                {
                    malformed++; // no RFC 8785 form (e.g. a number it cannot represent): it cannot be pinned
                    continue;
                }

                descriptors[key] = new GuardToolDescriptor(key, (JsonObject)item!, canonical, JsonCanonicalizer.Sha256Hex(canonical));
            }

            nodes.Add((key, item!));
        }

        foreach (string key in ambiguous ?? [])
        {
            // The server might answer prompts/get with either definition, so neither is pinned or shown.
            descriptors.Remove(key);
            if (dropped.Count < 100)
            {
                dropped[key] = "catalog.duplicate-name";
            }
        }

        FrozenDictionary<string, Pinning.PinState>? states = null;
        if (pinning is not null)
        {
            states = await pinning.CheckAsync(_session, list.PinnedAs!.Value, descriptors, firstPage && result["nextCursor"] is null, CancellationToken.None).ConfigureAwait(false);
            if (list.PinnedAs == CatalogItemKind.Prompt)
            {
                _session.PromptPinStates = states;
            }
        }

        if (malformed > 0 || ambiguous is not null)
        {
            await RecordAsync(new GuardEvidence(GuardEvidenceKind.ProtocolViolation, _session, _engine.Evidence)
            {
                Method = list.Method,
                Decision = GuardDecisionKind.Deny,
                RuleId = malformed > 0 ? "catalog.malformed" : "catalog.duplicate-name",
                Reason = "Entries of the list were removed: not readable by the client, without a key, or listed twice.",
                Details = new JsonObject { ["advertised"] = items.Count, ["malformed"] = malformed, ["removed"] = dropped },
            }).ConfigureAwait(false);
        }

        if (malformed == 0 && ambiguous is null && states is null)
        {
            return message; // nothing to remove
        }

        items.Clear();
        foreach ((string key, JsonNode node) in nodes)
        {
            if ((ambiguous?.Contains(key) ?? false)
                || (states is not null && states.TryGetValue(key, out Pinning.PinState? state) && state.Status == Pinning.PinStatus.Blocked))
            {
                continue;
            }

            items.Add(node);
        }

        return message;
    }

    private static readonly ItemList s_promptsList = new(RequestMethods.PromptsList, "prompts", "name", CatalogItemKind.Prompt,
        node => SdkContract.IsReadable(node, SdkContract.Prompt), r => SdkContract.IsListShellReadable(r, "prompts", SdkContract.ListPromptsResult));

    // Templates are keyed (and pinned) by name, as before: lock files written by earlier versions keep matching.
    private static readonly ItemList s_templatesList = new(RequestMethods.ResourcesTemplatesList, "resourceTemplates", "name", CatalogItemKind.ResourceTemplate,
        node => SdkContract.IsReadable(node, SdkContract.ResourceTemplate), r => SdkContract.IsListShellReadable(r, "resourceTemplates", SdkContract.ListResourceTemplatesResult));

    private static readonly ItemList s_resourcesList = new(RequestMethods.ResourcesList, "resources", "uri", PinnedAs: null,
        node => SdkContract.IsReadable(node, SdkContract.Resource), r => SdkContract.IsListShellReadable(r, "resources", SdkContract.ListResourcesResult));

    /// <summary>One kind of non-tool list: its method, entry array, key member, the catalog kind it is pinned as (none for
    /// resources), and the SDK's contracts for an entry and for the result's top level.</summary>
    private sealed record ItemList(string Method, string ArrayName, string KeyName, CatalogItemKind? PinnedAs,
        Func<JsonNode, bool> IsEntryReadable, Func<JsonObject, bool> IsShellReadable);

    private async ValueTask<JsonRpcMessage?> OnToolCallResponseAsync(JsonRpcMessage message, PendingRequest pending)
    {
        double ms = _engine.TimeProvider.GetElapsedTime(pending.StartTimestamp).TotalMilliseconds;
        OutcomeEvidence outcome;
        if (message is JsonRpcError error)
        {
            outcome = new OutcomeEvidence("protocol-error", ms, null, null, error.Error.Code);
        }
        else
        {
            JsonNode? result = ((JsonRpcResponse)message).Result;

            // The digest of the bytes the result was parsed from is deferred to the first sink that reads it (see
            // OutcomeEvidence); a result without such bytes is serialized and hashed now, before anything can change it.
            // isError is read from those bytes too, so the node stays unread for the SDK (reading a member builds it and
            // lets go of its bytes); a result without them is read through the node API.
            JsonElement raw = default;
            (string Sha256, long Size)? eager = result is not null && Json.JsonRawBytes.TryGetElement(result, out raw) ? null : _resultHasher.Hash(result);
            bool isError = eager is null
                ? raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty("isError"u8, out JsonElement e) && e.ValueKind == JsonValueKind.True
                : result is JsonObject r && r["isError"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
            string status = isError ? "tool-error" : "result";
            outcome = eager is { } hashed ? new OutcomeEvidence(status, ms, hashed.Sha256, hashed.Size, null) : new OutcomeEvidence(status, ms, raw);
        }

        await RecordOutcomeAsync(pending, outcome, null).ConfigureAwait(false);
        Flow.FlowControl.OnResponse(pending.Call, message); // flow: labels enter and source values are tracked, before isolation rewrites the result

        // Isolation: sanitize, scan and react before the result reaches the model. When the reaction may ask the
        // approver (which can take minutes), it runs off the receive loop so other responses keep flowing.
        if (!_engine.Isolation.MayAskApprover(_session, pending.Call?.ToolName))
        {
            return await _engine.Isolation.OnToolResultAsync(message, _session, pending.Call, _cts.Token).ConfigureAwait(false);
        }

        IsolateOffTheReader(message, pending.Call);
        return null;
    }

    /// <summary>Isolates a result on the thread pool and delivers it when done (the reaction may wait for the approver).</summary>
    /// <remarks>A method of its own: a lambda in <see cref="OnToolCallResponseAsync"/> would make every call allocate its closure.</remarks>
    private void IsolateOffTheReader(JsonRpcMessage message, ToolCallContext? call) => _ = Task.Run(async () =>
    {
        JsonRpcMessage isolated;
        try
        {
            isolated = await _engine.Isolation.OnToolResultAsync(message, _session, call, _cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await ProtocolViolationAsync("guard.processing-error", $"Isolating a result failed with {ex.GetType().Name}.", call?.RequestId).ConfigureAwait(false);
            isolated = PolicyError(((JsonRpcMessageWithId)message).Id, McpGuardErrorCodes.ServerResponseRejected, "The server's response was rejected by the host's policy.");
        }

        await DeliverAsync(isolated).ConfigureAwait(false);
    });

    private ValueTask<bool> RecordOutcomeAsync(PendingRequest pending, OutcomeEvidence outcome, string? reason)
    {
        ToolCallContext? call = pending.Call;
        return RecordAsync(new GuardEvidence(GuardEvidenceKind.ToolCallOutcome, _session, _engine.Evidence)
        {
            RequestId = call?.RequestId,
            Method = pending.Method,
            ToolName = call?.ToolName,
            ToolMetadataSha256 = call?.Tool?.MetadataSha256,
            Arguments = call is null ? null : new ArgumentEvidence(call, null, null),
            Outcome = outcome,
            Reason = reason,
            NotVerified = s_outcomeNotVerified,
        });
    }

    private async ValueTask ProtocolViolationAsync(string ruleId, string reason, string? requestId)
    {
        int count = Interlocked.Increment(ref _protocolViolations);
        if (count > MaxProtocolViolationEvents)
        {
            return;
        }

        Log.ProtocolViolation(_engine.Logger, _session.ServerName, ruleId);
        await RecordAsync(new GuardEvidence(GuardEvidenceKind.ProtocolViolation, _session, _engine.Evidence)
        {
            RequestId = requestId,
            RuleId = ruleId,
            Reason = count == MaxProtocolViolationEvents ? reason + " Further violations in this session are not recorded individually." : reason,
        }).ConfigureAwait(false);
    }

    /// <summary>Lists the server's tools on the guard's own behalf (ids <c>mcpguard-N</c>), so a call for a tool the caller never listed is still checked against the server's real definition.</summary>
    private async Task RefreshCatalogAsync(CancellationToken cancellationToken)
    {
        await _refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string? cursor = null;
            for (int page = 0; page < _engine.Options.MaxCatalogPages; page++)
            {
                var id = new RequestId("mcpguard-" + Interlocked.Increment(ref _internalIds).ToString(CultureInfo.InvariantCulture));
                var parameters = new JsonObject();
                if (cursor is not null)
                {
                    parameters["cursor"] = cursor;
                }

                if (_lastMeta is { } meta)
                {
                    var copy = (JsonObject)meta.DeepClone();
                    copy.Remove("progressToken");
                    parameters["_meta"] = copy;
                }

                var waiter = new TaskCompletionSource<JsonRpcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _internal[id] = waiter;
                JsonRpcMessage answer;
                try
                {
                    if (Interlocked.CompareExchange(ref _closed, 0, 0) != 0)
                    {
                        throw new IOException("The connection to the server closed."); // nothing would answer before the timeout
                    }

                    await _inner.SendMessageAsync(new JsonRpcRequest { Id = id, Method = RequestMethods.ToolsList, Params = parameters }, cancellationToken).ConfigureAwait(false);
                    answer = await waiter.Task.WaitAsync(_engine.Options.CatalogRefreshTimeout, _engine.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _internal.TryRemove(id, out _);
                }

                if (answer is not JsonRpcResponse response
                    || await ApplyToolsListAsync(response.Result, firstPage: page == 0, filter: false).ConfigureAwait(false) is not null)
                {
                    return;
                }

                cursor = (response.Result as JsonObject)?["nextCursor"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : null;
                if (cursor is null)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The tool stays unknown and the call is denied (tool.unknown).
            await ProtocolViolationAsync("catalog.refresh-failed", $"Listing the server's tools failed with {ex.GetType().Name}.", null).ConfigureAwait(false);
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    private async Task BackgroundRelistAsync()
    {
        try
        {
            await RefreshCatalogAsync(_cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // The session closed while re-listing.
        }
    }

    private static string Truncate(string? s) => s is null ? "(none)" : s.Length <= 128 ? s : s[..128] + "…";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // The session may have stopped reading before the server's side ended: pending calls still get their outcome.
            await OnClosedAsync(null).ConfigureAwait(false);

            // _cts is not disposed: the session's read may still be finishing a message that reads its token.
            _refreshGate.Dispose();
            _resultHasher.Dispose();
        }
    }

    private enum PendingKind
    {
        Other,
        Handshake,
        ToolsList,
        ToolCall,
        PromptsList,
        TemplatesList,
        ResourcesRead,
        PromptsGet,
        ResourcesList,
    }

    private sealed class PendingRequest(PendingKind kind, string method, long startTimestamp)
    {
        public PendingKind Kind { get; } = kind;

        public string Method { get; } = method;

        public long StartTimestamp { get; } = startTimestamp;

        public bool FirstPage { get; init; } = true;

        public string? RequestedProtocolVersion { get; init; }

        public ToolCallContext? Call { get; init; }

        /// <summary>The resource URI or prompt name (isolation evidence).</summary>
        public string? Subject { get; init; }
    }
}
