using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Pipeline;
using McpGuard.ServerRequests;
using ModelContextProtocol.Protocol;

namespace McpGuard.Transport;

/// <summary>
/// Server-to-client requests (MCP client features roots, sampling, elicitation; spec 2025-11-25), on both paths a
/// server can take:
/// <list type="bullet">
/// <item>JSON-RPC requests from the server (<c>roots/list</c>, <c>sampling/createMessage</c>, <c>elicitation/create</c>;
/// <c>initialize</c> sessions): refused ones are answered here and never reach the client's handlers; roots answers
/// are filtered on their way out.</item>
/// <item>Multi round-trip requests (MRTR, SEP-2322, 2026-07-28): an <c>input_required</c> result carries
/// <c>inputRequests</c> that the SDK client resolves with its handlers and sends back as <c>inputResponses</c> on a
/// retry. Refused input requests are removed before the client sees them (a declined elicitation is answered on the
/// retry with <c>{"action":"decline"}</c>; a refused sampling request fails the whole request), and every roots
/// answer in <c>inputResponses</c> is filtered on the way out.</item>
/// </list>
/// </summary>
internal sealed partial class GuardedTransport
{
    private const int MaxPendingServerRequests = 256;
    private const int MaxConcurrentElicitationReviews = 16;
    private const int MaxInputRequests = 32;
    private const int MaxMrtrRounds = 256;
    // The method names as strings: the SDK marks roots and sampling obsolete (deprecated in 2026-07-28), but servers still send them.
    private const string RootsListMethod = "roots/list";
    private const string SamplingMethod = "sampling/createMessage";
    private const string ElicitationMethod = "elicitation/create";
    private const string ClientCapabilitiesMetaKey = "io.modelcontextprotocol/clientCapabilities";
    private const string RefusedInputText = "The server's request for input was refused by the host's policy.";

    private static readonly GuardDecision s_rootsUnsupported = GuardDecision.Deny("The host does not support roots.", "roots.unsupported");

    private static readonly GuardDecision s_malformedInput = GuardDecision.Deny("An input request of the server is not an object with a method.", "server-request.malformed");

    private static readonly GuardDecision s_unsupportedInput = GuardDecision.Deny("An input request of the server has a method other than roots/list, sampling/createMessage or elicitation/create.", "server-request.unsupported-method");

    private static readonly string[] s_rootsNotVerified =
    [
        "The server may still use roots it learned earlier in the session or from its own configuration (e.g. command-line directories).",
    ];

    private const string SamplingAnswer = "answer to the server's sampling request";
    private const string ElicitationAnswer = "answer to the server's elicitation request";
    private const string UnknownAnswer = "answer to a server's request for input";

    private readonly ConcurrentDictionary<RequestId, string> _serverRequests = new();
    private readonly ConcurrentDictionary<RequestId, CancellationTokenSource> _elicitationReviewsById = new(); // cancelled when the server withdraws the request
    private readonly ConcurrentDictionary<string, MrtrRound> _mrtrRounds = new(StringComparer.Ordinal);
    private volatile JsonObject? _clientCapabilities;
    private int _elicitationReviews;
    private int _samplingRequests;

    private ServerRequestGuard ServerRequestPolicy => _engine.ServerRequests;

    // ------------------------------------------------------------ client -> server

    /// <summary>Records the client's declared capabilities and filters MRTR <c>inputResponses</c> of an outgoing request:
    /// roots answers are filtered, and an elicitation answer carrying a credential the host holds becomes a decline.</summary>
    /// <returns>A Deny (<c>token.passthrough</c>) when a sampling answer (or an answer of no known kind) among the
    /// <c>inputResponses</c> carries a credential the host holds: the whole request is then refused, as a tool call with
    /// such arguments would be.</returns>
    private async ValueTask<GuardDecision?> OnOutgoingRequestAsync(JsonRpcRequest request)
    {
        if (request.Params is not JsonObject p)
        {
            return null;
        }

        if (request.Method == RequestMethods.Initialize && p["capabilities"] is JsonObject capabilities)
        {
            _clientCapabilities = capabilities;
        }
        else if (p["_meta"] is JsonObject meta && meta[ClientCapabilitiesMetaKey] is JsonObject declared)
        {
            _clientCapabilities = declared;
        }

        if (p["inputResponses"] is null && p["requestState"] is null)
        {
            return null;
        }

        string stateKey = ServerRequestGuard.Text(p["requestState"]) ?? string.Empty;
        _mrtrRounds.TryRemove(stateKey, out MrtrRound? round);
        JsonObject? responses = p["inputResponses"] as JsonObject;
        if (round is not null)
        {
            foreach ((string key, JsonNode answer) in round.Injected)
            {
                responses ??= [];
                if (responses[key] is null)
                {
                    responses[key] = answer.DeepClone();
                }
            }

            if (responses is not null)
            {
                p["inputResponses"] = responses;
            }
        }

        if (responses is null)
        {
            return null;
        }

        GuardDecision? leak = null;

        // Every roots answer is filtered, whether or not the round is known: filtering is idempotent and never widens.
        foreach ((string key, JsonNode? value) in responses.ToList())
        {
            string? method = round?.Methods.GetValueOrDefault(key);
            if (value is JsonObject o && o["roots"] is not null || method == RootsListMethod)
            {
                (JsonObject filtered, JsonObject details) = ServerRequestPolicy.Roots(_session).Filter(value);
                responses[key] = filtered;
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, "mrtr:" + key, RootsListMethod, GuardDecisionKind.Allow, "roots.filtered", null, details, null).ConfigureAwait(false);
            }
            else if (round is not null && round.Injected.ContainsKey(key))
            {
                // The guard's own decline: nothing the host typed.
            }
            else if (method == ElicitationMethod || (method is null && value is JsonObject e && e["action"] is JsonValue))
            {
                // An elicitation answer (known from the round, or by its shape): one carrying a host credential is
                // replaced by a decline, so the server gets no answer and the rest of the request goes on.
                GuardDecision? found = CredentialLeak(ElicitationAnswer, value);
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, "mrtr:" + key, ElicitationMethod, found?.Kind, found?.RuleId, found?.Reason, ElicitOutcome(value), null).ConfigureAwait(false);
                if (found is not null)
                {
                    responses[key] = Decline();
                }
            }
            else if (method == SamplingMethod || (method is null && value is JsonObject answer && answer["model"] is not null && answer["content"] is not null))
            {
                // A sampling answer (known from the round, or by its shape when the round is unknown).
                GuardDecision? found = CredentialLeak(SamplingAnswer, value);
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, "mrtr:" + key, SamplingMethod, found?.Kind, found?.RuleId, found?.Reason, ServerRequestGuard.DescribeSamplingResult(value), null).ConfigureAwait(false);
                leak ??= found;
            }
            else
            {
                // An answer of no known kind: it cannot be withheld on its own, so one carrying a credential refuses the request.
                leak ??= CredentialLeak(UnknownAnswer, value);
            }
        }

        return leak;
    }

    /// <summary>The client's answer to a server-to-client request: roots are filtered; elicitation and sampling outcomes are recorded.</summary>
    private async ValueTask<JsonRpcMessage> OnClientAnswerAsync(JsonRpcMessage message)
    {
        if (message is not (JsonRpcResponse or JsonRpcError) || _serverRequests.IsEmpty
            || !_serverRequests.TryRemove(((JsonRpcMessageWithId)message).Id, out string? method)
            || method is not (RootsListMethod or SamplingMethod or ElicitationMethod))
        {
            return message; // not a server request, or one tracked only for its id (ping, ...)
        }

        string id = ((JsonRpcMessageWithId)message).Id.ToString();
        if (message is JsonRpcError error)
        {
            await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, id, method, null, null, null, new JsonObject { ["errorCode"] = error.Error.Code }, null).ConfigureAwait(false);
            return message;
        }

        var response = (JsonRpcResponse)message;
        switch (method)
        {
            case RootsListMethod:
                (JsonObject filtered, JsonObject details) = ServerRequestPolicy.Roots(_session).Filter(response.Result);
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, id, method, GuardDecisionKind.Allow, "roots.filtered", null, details, null).ConfigureAwait(false);
                return new JsonRpcResponse { Id = response.Id, Result = filtered, Context = response.Context };
            case ElicitationMethod:
                GuardDecision? typed = CredentialLeak(ElicitationAnswer, response.Result);
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, id, method, typed?.Kind, typed?.RuleId, typed?.Reason, ElicitOutcome(response.Result), null).ConfigureAwait(false);

                // Token passthrough through what the user typed or pasted: the server gets a decline, never the credential.
                return typed is null ? message : new JsonRpcResponse { Id = response.Id, Result = Decline(), Context = response.Context };
            default:
                if (method == SamplingMethod && CredentialLeak(SamplingAnswer, response.Result) is { } leak)
                {
                    // Token passthrough through the model's answer: the server gets a refusal, never the credential.
                    await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, id, method, GuardDecisionKind.Deny, leak.RuleId, leak.Reason, ServerRequestGuard.DescribeSamplingResult(response.Result), null).ConfigureAwait(false);
                    return PolicyError(response.Id, McpGuardErrorCodes.PolicyDenied, "The answer was withheld by the host's policy.");
                }

                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestOutcome, id, method, null, null, null, ServerRequestGuard.DescribeSamplingResult(response.Result), null).ConfigureAwait(false);
                return message;
        }
    }

    // ------------------------------------------------------------ server -> client (JSON-RPC requests)

    /// <summary>A request from the server. Roots, sampling and elicitation are decided here; anything else (ping, ...) passes,
    /// tracked by id like them.</summary>
    private async ValueTask<JsonRpcMessage?> OnServerRequestAsync(JsonRpcMessage message)
    {
        if (message is not JsonRpcRequest request)
        {
            return message;
        }

        if (request.Method is not (RootsListMethod or SamplingMethod or ElicitationMethod))
        {
            return await OnOtherServerRequestAsync(request).ConfigureAwait(false);
        }

        try
        {
            return await DecideServerRequestAsync(request).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Fail closed, and still answer: a server waiting for an answer that never comes would hang.
            await ProtocolViolationAsync("guard.processing-error", $"Deciding a {request.Method} request failed with {ex.GetType().Name}.", request.Id.ToString()).ConfigureAwait(false);
            await SendToServerAsync(request.Method == ElicitationMethod
                ? new JsonRpcResponse { Id = request.Id, Result = Decline() }
                : PolicyError(request.Id, McpGuardErrorCodes.PolicyDenied, "The request was refused by the host's policy.")).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>
    /// A server request the guard does not decide (ping, a method the client rejects) is tracked by id while unanswered,
    /// like a decided one, and one reusing an unanswered id is dropped (<c>protocol.duplicate-request-id</c>). Otherwise
    /// two requests could share an id, and the client's answer to one would be taken for the answer to the other: a
    /// <c>ping</c> sent with the id of a pending <c>roots/list</c> got the unfiltered roots list through (found by
    /// <c>ServerRequestFuzzTests</c>).
    /// </summary>
    private async ValueTask<JsonRpcMessage?> OnOtherServerRequestAsync(JsonRpcRequest request) =>
        await AdmitServerRequestAsync(request).ConfigureAwait(false) ? Track(request) : null;

    /// <summary>Drops a request that reuses the id of an unanswered one (<c>protocol.duplicate-request-id</c>) and refuses
    /// one beyond <see cref="MaxPendingServerRequests"/> unanswered (<c>server-request.too-many</c>); any method.</summary>
    /// <returns>Whether the request may go on.</returns>
    private async ValueTask<bool> AdmitServerRequestAsync(JsonRpcRequest request)
    {
        if (_serverRequests.ContainsKey(request.Id) || _elicitationReviewsById.ContainsKey(request.Id))
        {
            await ProtocolViolationAsync("protocol.duplicate-request-id", "The server reused the id of a request the client has not answered yet; the duplicate was dropped.", request.Id.ToString()).ConfigureAwait(false);
            return false;
        }

        if (_serverRequests.Count >= MaxPendingServerRequests)
        {
            await RefuseServerRequestAsync(request, GuardDecision.Deny("The server has too many unanswered requests to the client.", "server-request.too-many"), null).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private async ValueTask<JsonRpcMessage?> DecideServerRequestAsync(JsonRpcRequest request)
    {
        string id = request.Id.ToString();
        var parameters = request.Params as JsonObject;
        if (!_verified)
        {
            await RefuseServerRequestAsync(request, GuardDecision.Deny("The server's handshake has not been verified.", "server.not-verified"), null).ConfigureAwait(false);
            return null;
        }

        if (!await AdmitServerRequestAsync(request).ConfigureAwait(false))
        {
            return null;
        }

        switch (request.Method)
        {
            case RootsListMethod:
                if (_clientCapabilities is { } caps && caps["roots"] is null)
                {
                    // Roots spec 2025-11-25, error handling: a client without roots support answers -32601.
                    await RefuseServerRequestAsync(request, s_rootsUnsupported, null).ConfigureAwait(false);
                    return null;
                }

                return Track(request);
            case SamplingMethod:
                ServerRequestVerdict sampling = ServerRequestPolicy.EvaluateSampling(_session, parameters, _clientCapabilities, ref _samplingRequests);
                if (sampling.Refusal is { } refusal)
                {
                    await RefuseServerRequestAsync(request, refusal, sampling.Details).ConfigureAwait(false);
                    return null;
                }

                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, request.Method, GuardDecisionKind.Allow, "sampling.allowed", "Sampling is enabled for this server.", sampling.Details, null).ConfigureAwait(false);
                return Track(request);
            default:
                ServerRequestVerdict elicitation = ServerRequestPolicy.EvaluateElicitation(_session, parameters, _clientCapabilities);
                if (elicitation.Refusal is { } declined)
                {
                    await RefuseServerRequestAsync(request, declined, elicitation.Details).ConfigureAwait(false);
                    return null;
                }

                if (!elicitation.NeedsApproval)
                {
                    await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, request.Method, GuardDecisionKind.Allow, "elicitation.allowed", "No secret cue found.", elicitation.Details, null).ConfigureAwait(false);
                    return Track(request);
                }

                if (Interlocked.Increment(ref _elicitationReviews) > MaxConcurrentElicitationReviews)
                {
                    Interlocked.Decrement(ref _elicitationReviews);
                    await RefuseServerRequestAsync(request, GuardDecision.Deny("Too many elicitation requests are waiting for approval.", "server-request.too-many"), elicitation.Details).ConfigureAwait(false);
                    return null;
                }

                // Approval can take minutes: decide off the receive loop so other messages keep flowing. The review ends
                // early if the server cancels its request (notifications/cancelled) or the session closes.
                var review = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                _elicitationReviewsById[request.Id] = review;
                _ = Task.Run(() => ReviewServerElicitationAsync(request, parameters!, elicitation, review));
                return null;
        }
    }

    /// <summary>The server cancelled one of its requests: the client will not answer it (spec: cancellation), so stop tracking it.</summary>
    private void ForgetCancelledServerRequest(JsonRpcNotification notification)
    {
        if (notification.Method != NotificationMethods.CancelledNotification || (_serverRequests.IsEmpty && _elicitationReviewsById.IsEmpty)
            || notification.Params is not JsonObject p || p["requestId"] is not JsonValue idValue)
        {
            return;
        }

        RequestId id = idValue.GetValueKind() switch
        {
            JsonValueKind.String => new RequestId(idValue.GetValue<string>()),
            JsonValueKind.Number when idValue.TryGetValue(out long n) => new RequestId(n),
            _ => default,
        };
        if (id.Id is not null)
        {
            _serverRequests.TryRemove(id, out _);
            if (_elicitationReviewsById.TryRemove(id, out CancellationTokenSource? review))
            {
                // Off the receive loop: cancellation runs the approval handler's callbacks, which are host code.
                ThreadPool.UnsafeQueueUserWorkItem(static r => Approval.ApprovalCall.CancelQuietly(r), review, preferLocal: false);
            }
        }
    }

    private JsonRpcRequest Track(JsonRpcRequest request)
    {
        _serverRequests[request.Id] = request.Method;
        return request;
    }

    private async Task ReviewServerElicitationAsync(JsonRpcRequest request, JsonObject parameters, ServerRequestVerdict verdict, CancellationTokenSource review)
    {
        try
        {
            string id = request.Id.ToString();
            (bool approved, GuardDecision decision, ApprovalEvidence approval) = await ServerRequestPolicy
                .ReviewElicitationAsync(_session, id, parameters, verdict.Flags, review.Token).ConfigureAwait(false);
            if (review.IsCancellationRequested && !_cts.IsCancellationRequested)
            {
                // The server withdrew the request: it expects no answer (cancellation spec), so none is sent.
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, request.Method, GuardDecisionKind.Deny, "server-request.cancelled",
                    "The server cancelled the request while it waited for approval.", verdict.Details, approval).ConfigureAwait(false);
            }
            else if (approved)
            {
                await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, request.Method, GuardDecisionKind.Allow, verdict.Flags[0].RuleId, "Approved by the host.", verdict.Details, approval).ConfigureAwait(false);
                await DeliverAsync(Track(request)).ConfigureAwait(false);
            }
            else
            {
                await RefuseServerRequestAsync(request, decision, verdict.Details, approval).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            await ProtocolViolationAsync("guard.processing-error", $"Reviewing an elicitation failed with {ex.GetType().Name}.", request.Id.ToString()).ConfigureAwait(false);
            await SendToServerAsync(new JsonRpcResponse { Id = request.Id, Result = Decline() }).ConfigureAwait(false);
        }
        finally
        {
            _elicitationReviewsById.TryRemove(new KeyValuePair<RequestId, CancellationTokenSource>(request.Id, review));
            review.Dispose();
            Interlocked.Decrement(ref _elicitationReviews);
        }
    }

    /// <summary>Answers a refused server request on the client's behalf: elicitation with a decline, roots/sampling with a JSON-RPC error.</summary>
    private async ValueTask RefuseServerRequestAsync(JsonRpcRequest request, GuardDecision refusal, JsonObject? details, ApprovalEvidence? approval = null)
    {
        await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, request.Id.ToString(), Truncate(request.Method), GuardDecisionKind.Deny, refusal.RuleId, refusal.Reason, details, approval).ConfigureAwait(false);
        JsonRpcMessage answer = request.Method switch
        {
            ElicitationMethod => new JsonRpcResponse { Id = request.Id, Result = Decline() },
            _ when refusal.RuleId is "roots.unsupported" or "sampling.unsupported" => PolicyError(request.Id, -32601, "Method not found"),
            _ => PolicyError(request.Id, McpGuardErrorCodes.PolicyDenied, "The request was refused by the host's policy."),
        };
        await SendToServerAsync(answer).ConfigureAwait(false);
    }

    private async ValueTask SendToServerAsync(JsonRpcMessage message)
    {
        try
        {
            await _inner.SendMessageAsync(message, _cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is closing; the server will not wait for the answer.
        }
    }

    private static JsonObject Decline() => new() { ["action"] = "decline" };

    /// <summary>Evidence of an elicitation answer (action and field names). When a field's name contains a host
    /// credential, the names are left out: the name itself would put the credential in evidence (whether or not
    /// passthrough prevention is on, as for argument shapes).</summary>
    private JsonObject ElicitOutcome(JsonNode? answer)
    {
        JsonObject details = ServerRequestGuard.DescribeElicitResult(answer);
        if ((answer as JsonObject)?["content"] is JsonObject content
            && content.Any(field => _engine.Credentials.Matcher.Find(field.Key) is not null))
        {
            details.Remove("contentFields");
            details["contentFieldsWithheld"] = true;
        }

        return details;
    }

    // ------------------------------------------------------------ server -> client (MRTR input_required results)

    internal static bool IsInputRequired(JsonRpcMessage message)
    {
        if (message is not JsonRpcResponse { Result: JsonObject result })
        {
            return false;
        }

        // Read the parsed element the node is still backed by when possible: indexing the JsonObject would materialize it,
        // and the outcome digest then has to re-serialize the whole result instead of hashing its bytes as received.
        if (Json.JsonRawBytes.TryGetElement(result, out JsonElement element))
        {
            return element.ValueKind == JsonValueKind.Object
                && element.TryGetProperty("resultType"u8, out JsonElement type)
                && type.ValueKind == JsonValueKind.String
                && type.ValueEquals("input_required"u8);
        }

        return result["resultType"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "input_required";
    }

    /// <summary>Screens the input requests of an <c>input_required</c> result before the client resolves them.</summary>
    private async ValueTask<JsonRpcMessage?> OnInputRequiredAsync(JsonRpcResponse response, PendingRequest pending)
    {
        if (pending.Kind == PendingKind.ToolCall)
        {
            double ms = _engine.TimeProvider.GetElapsedTime(pending.StartTimestamp).TotalMilliseconds;
            await RecordOutcomeAsync(pending, new OutcomeEvidence("input-required", ms, null, null, null), "The server asked for input (MRTR); the client retries the call with the answers.").ConfigureAwait(false);
        }

        var result = (JsonObject)response.Result!;
        if (result["inputRequests"] is not JsonObject inputRequests)
        {
            return result["inputRequests"] is null
                ? response // load shedding: only requestState, nothing to resolve
                : await RefuseInputAsync(response, pending, "mrtr", null, s_malformedInput, null).ConfigureAwait(false);
        }

        string stateKey = ServerRequestGuard.Text(result["requestState"]) ?? string.Empty;
        if (inputRequests.Count > MaxInputRequests)
        {
            return await RefuseInputAsync(response, pending, "mrtr", null, GuardDecision.Deny("The server asked for too many inputs at once.", "server-request.too-many"), null).ConfigureAwait(false);
        }

        // The whole round is refused if one entry is not an object with one of the three input methods (MCP MRTR): the SDK
        // 2.4.0 client dereferences such an entry unchecked (NullReferenceException) or throws NotSupportedException for
        // another method, either of which would reach the host untyped. Checked before any entry is acted on.
        foreach ((string key, JsonNode? node) in inputRequests)
        {
            string? method = ServerRequestGuard.Text((node as JsonObject)?["method"]);
            if (method is not (RootsListMethod or SamplingMethod or ElicitationMethod))
            {
                return await RefuseInputAsync(response, pending, "mrtr:" + Truncate(key), method is null ? null : Truncate(method), method is null ? s_malformedInput : s_unsupportedInput, null).ConfigureAwait(false);
            }
        }

        var round = new MrtrRound();
        var reviews = new List<(string Key, JsonObject Params, ServerRequestVerdict Verdict)>();
        foreach ((string key, JsonNode? node) in inputRequests.ToList())
        {
            string? method = ServerRequestGuard.Text((node as JsonObject)?["method"]);
            var parameters = (node as JsonObject)?["params"] as JsonObject;
            string id = "mrtr:" + key;
            switch (method)
            {
                case RootsListMethod:
                    if (_clientCapabilities is { } caps && caps["roots"] is null)
                    {
                        // As on the JSON-RPC path; the SDK 2.4.0 client would throw InvalidOperationException to the host.
                        return await RefuseInputAsync(response, pending, id, method, s_rootsUnsupported, null).ConfigureAwait(false);
                    }

                    round.Methods[key] = method;
                    break;
                case SamplingMethod:
                    ServerRequestVerdict sampling = ServerRequestPolicy.EvaluateSampling(_session, parameters, _clientCapabilities, ref _samplingRequests);
                    if (sampling.Refusal is { } refusal)
                    {
                        return await RefuseInputAsync(response, pending, id, method, refusal, sampling.Details).ConfigureAwait(false);
                    }

                    await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, method, GuardDecisionKind.Allow, "sampling.allowed", "Sampling is enabled for this server.", sampling.Details, null).ConfigureAwait(false);
                    round.Methods[key] = method;
                    break;
                case ElicitationMethod:
                    ServerRequestVerdict elicitation = ServerRequestPolicy.EvaluateElicitation(_session, parameters, _clientCapabilities);
                    round.Methods[key] = method;
                    if (elicitation.Refusal is { } declined)
                    {
                        await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, method, GuardDecisionKind.Deny, declined.RuleId, declined.Reason, elicitation.Details, null).ConfigureAwait(false);
                        inputRequests.Remove(key);
                        round.Injected[key] = Decline();
                    }
                    else if (elicitation.NeedsApproval)
                    {
                        reviews.Add((key, parameters!, elicitation));
                    }
                    else
                    {
                        await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, method, GuardDecisionKind.Allow, "elicitation.allowed", "No secret cue found.", elicitation.Details, null).ConfigureAwait(false);
                    }

                    break;
                default:
                    break; // unreachable: the round was checked above
            }
        }

        if (reviews.Count == 0)
        {
            return await CompleteRoundAsync(response, pending, result, inputRequests, stateKey, round).ConfigureAwait(false);
        }

        if (Interlocked.Add(ref _elicitationReviews, reviews.Count) > MaxConcurrentElicitationReviews)
        {
            Interlocked.Add(ref _elicitationReviews, -reviews.Count);
            return await RefuseInputAsync(response, pending, "mrtr", ElicitationMethod, GuardDecision.Deny("Too many elicitation requests are waiting for approval.", "server-request.too-many"), null).ConfigureAwait(false);
        }

        // Approval can take minutes: decide off the receive loop, then deliver the (possibly reduced) result.
        _ = Task.Run(async () =>
        {
            JsonRpcMessage? outcome;
            try
            {
                foreach ((string key, JsonObject parameters, ServerRequestVerdict verdict) in reviews)
                {
                    string id = "mrtr:" + key;
                    (bool approved, GuardDecision decision, ApprovalEvidence approval) = await ServerRequestPolicy
                        .ReviewElicitationAsync(_session, id, parameters, verdict.Flags, _cts.Token).ConfigureAwait(false);
                    await RecordServerRequestAsync(
                        GuardEvidenceKind.ServerRequestDecision, id, ElicitationMethod,
                        approved ? GuardDecisionKind.Allow : GuardDecisionKind.Deny,
                        approved ? verdict.Flags[0].RuleId : decision.RuleId,
                        approved ? "Approved by the host." : decision.Reason,
                        verdict.Details, approval).ConfigureAwait(false);
                    if (!approved)
                    {
                        inputRequests.Remove(key);
                        round.Injected[key] = Decline();
                    }
                }

                outcome = await CompleteRoundAsync(response, pending, result, inputRequests, stateKey, round).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await ProtocolViolationAsync("guard.processing-error", $"Reviewing an elicitation failed with {ex.GetType().Name}.", null).ConfigureAwait(false);
                outcome = InputRefusal(response, pending);
            }
            finally
            {
                Interlocked.Add(ref _elicitationReviews, -reviews.Count);
            }

            if (outcome is not null)
            {
                await DeliverAsync(outcome).ConfigureAwait(false);
            }
        });
        return null;
    }

    private async ValueTask<JsonRpcMessage?> CompleteRoundAsync(JsonRpcResponse response, PendingRequest pending, JsonObject result, JsonObject inputRequests, string stateKey, MrtrRound round)
    {
        if (inputRequests.Count == 0 && result["requestState"] is null)
        {
            // Nothing left to resolve and nothing to continue: the SDK client would fail on this result, so refuse it clearly.
            return await RefuseInputAsync(response, pending, "mrtr", ElicitationMethod, GuardDecision.Deny("Every input the server asked for was declined and it gave no request state to continue.", "server-request.declined"), null).ConfigureAwait(false);
        }

        if (round.Methods.Count > 0)
        {
            // Rounds whose retry never comes (the caller gave up) are evicted, oldest first by chance: losing a round only
            // loses an injected decline (the server then sees no answer) and outcome evidence; roots are filtered regardless.
            while (_mrtrRounds.Count >= MaxMrtrRounds && _mrtrRounds.Keys.FirstOrDefault() is { } evict)
            {
                _mrtrRounds.TryRemove(evict, out _);
            }

            _mrtrRounds[stateKey] = round;
        }

        return response;
    }

    private async ValueTask<JsonRpcMessage> RefuseInputAsync(JsonRpcResponse response, PendingRequest pending, string id, string? method, GuardDecision refusal, JsonObject? details)
    {
        await RecordServerRequestAsync(GuardEvidenceKind.ServerRequestDecision, id, method ?? pending.Method, GuardDecisionKind.Deny, refusal.RuleId, refusal.Reason, details, null).ConfigureAwait(false);
        return InputRefusal(response, pending);
    }

    /// <summary>The answer to the client's request when the server's input request is refused: a generic tool error for <c>tools/call</c>, a policy error otherwise.</summary>
    private JsonRpcMessage InputRefusal(JsonRpcResponse response, PendingRequest pending) =>
        pending.Kind == PendingKind.ToolCall && _engine.Options.DeniedCallBehavior == DeniedCallBehavior.ToolErrorResult
            ? new JsonRpcResponse
            {
                Id = response.Id,
                Result = new JsonObject
                {
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = RefusedInputText }),
                    ["isError"] = true,
                },
            }
            : PolicyError(response.Id, McpGuardErrorCodes.PolicyDenied, RefusedInputText);

    private ValueTask<bool> RecordServerRequestAsync(
        GuardEvidenceKind kind, string requestId, string? method, GuardDecisionKind? decision, string? ruleId, string? reason, JsonObject? details, ApprovalEvidence? approval) =>
        RecordAsync(_engine.Evidence.Create(kind, _session) with
        {
            RequestId = requestId,
            Method = method,
            Decision = decision,
            RuleId = ruleId,
            Reason = reason,
            Details = details,
            Approval = approval,
            NotVerified = method == RootsListMethod && kind == GuardEvidenceKind.ServerRequestOutcome ? s_rootsNotVerified : [],
        });

    /// <summary>What the guard did to one MRTR round: the governed input requests by key, and the answers it supplies itself.</summary>
    private sealed class MrtrRound
    {
        public Dictionary<string, string> Methods { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, JsonNode> Injected { get; } = new(StringComparer.Ordinal);
    }
}
