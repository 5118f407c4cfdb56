using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Diagnostics;
using McpGuard.Json;
using Microsoft.Extensions.Logging;

namespace McpGuard.ServerRequests;

/// <summary>The guard's verdict on one server-to-client request.</summary>
/// <param name="Refusal">Set when the guard answers the request itself (roots not supported, sampling refused, elicitation declined).</param>
/// <param name="Flags">Elicitation: reasons the request needs the host's approval; empty when it may pass.</param>
/// <param name="Details">Evidence details (never values typed by a user).</param>
internal sealed record ServerRequestVerdict(GuardDecision? Refusal, IReadOnlyList<GuardDecision> Flags, JsonObject Details)
{
    public bool NeedsApproval => Refusal is null && Flags.Count > 0;
}

/// <summary>
/// Decides on server-to-client requests (MCP client features roots, sampling, elicitation, spec 2025-11-25) for every
/// registered server: compiles each server's <see cref="RootsOptions"/>, <see cref="SamplingOptions"/> and
/// <see cref="ElicitationOptions"/> once, screens requests, and asks the host's <see cref="IElicitationApprovalHandler"/>
/// under the approval timeout. Fails closed: every error declines or refuses.
/// </summary>
/// <remarks>Thread-safe; one instance per engine.</remarks>
internal sealed class ServerRequestGuard(McpGuardOptions options, IElicitationApprovalHandler? approver, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>Most properties a form-mode requested schema may have (the spec allows a flat object of primitives).</summary>
    public const int MaxSchemaProperties = 100;

    private static readonly GuardServerOptions s_unregistered = new();
    private static readonly JsonObject s_noCapabilities = [];

    private readonly ConcurrentDictionary<string, Compiled> _compiled = new(StringComparer.Ordinal);

    /// <summary>The roots filter for <paramref name="session"/>'s registration (an unregistered server may see no roots).</summary>
    public RootsFilter Roots(GuardSessionInfo session) => For(session).Roots;

    /// <summary>Screens a <c>sampling/createMessage</c> request. <paramref name="capabilities"/> are the client's declared capabilities, if seen.</summary>
    public ServerRequestVerdict EvaluateSampling(GuardSessionInfo session, JsonObject? parameters, JsonObject? capabilities, ref int sessionCount)
    {
        SamplingOptions o = For(session).Registration.Sampling;
        var details = new JsonObject();
        GuardDecision? refusal = null;
        if (!o.Enabled)
        {
            refusal = GuardDecision.Deny("Sampling is not enabled for this server.", "sampling.disabled");
        }
        else if (capabilities is not null && capabilities["sampling"] is null)
        {
            refusal = GuardDecision.Deny("The host does not support sampling.", "sampling.unsupported");
        }
        else if (parameters is null || parameters["messages"] is not JsonArray messages)
        {
            refusal = GuardDecision.Deny("The sampling request has no messages array.", "sampling.malformed");
        }
        else if (Size(parameters) is not { } size || size > o.MaxRequestBytes)
        {
            refusal = GuardDecision.Deny(string.Create(CultureInfo.InvariantCulture, $"The sampling request is larger than {o.MaxRequestBytes} bytes or too deeply nested."), "sampling.too-large");
        }
        else
        {
            details["messages"] = messages.Count;
            details["bytes"] = size;
            long? maxTokens = parameters["maxTokens"] is JsonValue mt && mt.GetValueKind() == JsonValueKind.Number && mt.TryGetValue(out long l) ? l : null;
            details["maxTokens"] = maxTokens;
            string? includeContext = parameters["includeContext"] is JsonValue ic && ic.GetValueKind() == JsonValueKind.String ? ic.GetValue<string>() : null;
            bool tools = parameters["tools"] is JsonArray { Count: > 0 } || parameters["toolChoice"] is JsonObject;
            if (maxTokens is null or < 1)
            {
                refusal = GuardDecision.Deny("The sampling request has no positive integer maxTokens.", "sampling.malformed");
            }
            else if (o.MaxTokens is { } cap && maxTokens > cap)
            {
                refusal = GuardDecision.Deny(string.Create(CultureInfo.InvariantCulture, $"The sampling request asks for {maxTokens} tokens; the limit is {cap}."), "sampling.max-tokens");
            }
            else if (tools && !o.AllowTools)
            {
                refusal = GuardDecision.Deny("The sampling request offers tools to the model; tool use in sampling is not enabled.", "sampling.tools");
            }
            else if (includeContext is "thisServer" or "allServers" && !o.AllowIncludeContext)
            {
                refusal = GuardDecision.Deny($"The sampling request asks to include context ('{includeContext}').", "sampling.include-context");
            }
            else if (o.MaxRequestsPerSession is { } limit && Interlocked.Increment(ref sessionCount) > limit)
            {
                refusal = GuardDecision.Deny(string.Create(CultureInfo.InvariantCulture, $"The session has used its {limit} sampling requests."), "sampling.rate-limit");
            }
        }

        return new ServerRequestVerdict(refusal, [], details);
    }

    /// <summary>Screens an <c>elicitation/create</c> request (form or URL mode).</summary>
    public ServerRequestVerdict EvaluateElicitation(GuardSessionInfo session, JsonObject? parameters, JsonObject? capabilities)
    {
        Compiled compiled = For(session);
        ElicitationOptions o = compiled.Registration.Elicitation;
        var details = new JsonObject();
        var flags = new List<GuardDecision>();
        GuardDecision? refusal = Screen(compiled, o, parameters, capabilities ?? s_noCapabilities, capabilities is null, details, flags);
        if (refusal is null && flags.Count == 0 && o.Access == ElicitationAccess.RequireApproval)
        {
            flags.Add(GuardDecision.RequireApproval("Every elicitation from this server needs the host's approval.", "elicitation.requires-approval"));
        }

        if (flags.Count > 0)
        {
            var array = new JsonArray();
            foreach (GuardDecision flag in flags)
            {
                array.Add((JsonNode)new JsonObject { ["ruleId"] = flag.RuleId, ["reason"] = flag.Reason });
            }

            details["flags"] = array;
        }

        return new ServerRequestVerdict(refusal, flags, details);
    }

    private static GuardDecision? Screen(Compiled compiled, ElicitationOptions o, JsonObject? p, JsonObject capabilities, bool capabilitiesUnknown, JsonObject details, List<GuardDecision> flags)
    {
        if (o.Access == ElicitationAccess.Decline)
        {
            return GuardDecision.Deny("Elicitation is declined for this server.", "elicitation.disabled");
        }

        if (p is null)
        {
            return GuardDecision.Deny("The elicitation request has no params.", "elicitation.malformed");
        }

        if (Size(p) is not { } size || size > o.MaxRequestBytes)
        {
            return GuardDecision.Deny(string.Create(CultureInfo.InvariantCulture, $"The elicitation request is larger than {o.MaxRequestBytes} bytes or too deeply nested."), "elicitation.too-large");
        }

        string? mode = p["mode"] is null ? "form" : p["mode"] is JsonValue mv && mv.GetValueKind() == JsonValueKind.String ? mv.GetValue<string>() : null;
        details["mode"] = mode;
        if (mode is not ("form" or "url"))
        {
            return GuardDecision.Deny("The elicitation mode is not 'form' or 'url'.", "elicitation.malformed");
        }

        JsonObject? elicitation = capabilities["elicitation"] as JsonObject;
        bool supported = elicitation is not null && (mode == "url"
            ? elicitation["url"] is not null
            : elicitation["form"] is not null || elicitation["url"] is null);
        if (!supported)
        {
            return GuardDecision.Deny(
                capabilitiesUnknown ? "The host's capabilities are unknown, so elicitation support cannot be assumed." : $"The host does not support {mode}-mode elicitation.",
                "elicitation.unsupported");
        }

        if (p["message"] is not JsonValue msgValue || msgValue.GetValueKind() != JsonValueKind.String)
        {
            return GuardDecision.Deny("The elicitation request has no message.", "elicitation.malformed");
        }

        string message = msgValue.GetValue<string>();
        details["messageLength"] = message.Length;
        return mode == "url" ? ScreenUrl(compiled, p, details, flags) : ScreenForm(compiled, p, message, details, flags);
    }

    private static GuardDecision? ScreenForm(Compiled compiled, JsonObject p, string message, JsonObject details, List<GuardDecision> flags)
    {
        if (p["requestedSchema"] is not JsonObject schema || schema["properties"] is not JsonObject properties)
        {
            return GuardDecision.Deny("The form-mode elicitation has no requestedSchema with properties.", "elicitation.malformed");
        }

        if (properties.Count > MaxSchemaProperties)
        {
            return GuardDecision.Deny(string.Create(CultureInfo.InvariantCulture, $"The requested schema has {properties.Count} properties; the limit is {MaxSchemaProperties}."), "elicitation.too-large");
        }

        var fields = new JsonArray();
        foreach ((string name, JsonNode? node) in properties)
        {
            fields.Add((JsonNode?)JsonValue.Create(name));
            if (node is not JsonObject property
                || property["type"] is not JsonValue tv
                || tv.GetValueKind() != JsonValueKind.String
                || tv.GetValue<string>() is not ("string" or "number" or "integer" or "boolean" or "array"))
            {
                return GuardDecision.Deny("A requested field is not a primitive (string, number, integer, boolean or enum array).", "elicitation.malformed");
            }

            string? cue = compiled.Cues.Find(name) ?? compiled.Cues.Find(Text(property["title"])) ?? compiled.Cues.Find(Text(property["description"]));
            if (cue is null && Text(property["format"]) is "password")
            {
                cue = "format: password";
            }

            if (cue is null && property["writeOnly"] is JsonValue wo && wo.GetValueKind() == JsonValueKind.True)
            {
                cue = "writeOnly";
            }

            if (cue is not null && flags.Count < 16)
            {
                flags.Add(GuardDecision.RequireApproval($"The requested field '{Truncate(name)}' looks like a secret (cue: {cue}).", "elicitation.secret-field"));
            }
        }

        details["fields"] = fields;
        if (compiled.Cues.Find(message) is { } wording)
        {
            flags.Add(GuardDecision.RequireApproval($"The elicitation message asks for something that looks like a secret (cue: {wording}).", "elicitation.secret-wording"));
        }

        return null;
    }

    private static GuardDecision? ScreenUrl(Compiled compiled, JsonObject p, JsonObject details, List<GuardDecision> flags)
    {
        if (Text(p["url"]) is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            return GuardDecision.Deny("The URL-mode elicitation has no absolute URL.", "elicitation.malformed");
        }

        if (Text(p["elicitationId"]) is null)
        {
            return GuardDecision.Deny("The URL-mode elicitation has no elicitationId.", "elicitation.malformed");
        }

        if (uri.Scheme is not ("https" or "http"))
        {
            return GuardDecision.Deny($"The URL-mode elicitation uses the scheme '{Truncate(uri.Scheme)}'; only https (or http with approval) may be opened.", "elicitation.url-scheme");
        }

        string host;
        try
        {
            host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        }
        catch (UriFormatException)
        {
            return GuardDecision.Deny("The URL-mode elicitation's host is not valid.", "elicitation.malformed");
        }

        details["urlHost"] = host;
        if (uri.Scheme == "http")
        {
            flags.Add(GuardDecision.RequireApproval("The URL-mode elicitation uses plain http.", "elicitation.url-scheme"));
        }

        if (uri.UserInfo.Length > 0)
        {
            flags.Add(GuardDecision.RequireApproval("The URL-mode elicitation's URL carries user information.", "elicitation.url-userinfo"));
        }

        if (!compiled.HostAllowed(host))
        {
            flags.Add(GuardDecision.RequireApproval($"The URL-mode elicitation points at '{Truncate(host)}', which is not an allowed host.", "elicitation.url-unknown-host"));
        }

        return null;
    }

    /// <summary>Asks the host's <see cref="IElicitationApprovalHandler"/>; every failure declines.</summary>
    public async ValueTask<(bool Approved, GuardDecision Decision, ApprovalEvidence Evidence)> ReviewElicitationAsync(
        GuardSessionInfo session, string requestId, JsonObject parameters, IReadOnlyList<GuardDecision> reasons, CancellationToken cancellationToken)
    {
        string digest = Digest(session, requestId, parameters);
        if (approver is null)
        {
            return (false, GuardDecision.Deny("The elicitation needs approval but no elicitation approval handler is registered.", "approval.no-handler"),
                new ApprovalEvidence(digest, "no-handler", null, null, 0));
        }

        string mode = Text(parameters["mode"]) ?? "form";
        var fieldNames = (parameters["requestedSchema"] as JsonObject)?["properties"] is JsonObject props ? props.Select(p => p.Key).ToArray() : [];
        JsonElement? schema = parameters["requestedSchema"] is JsonObject s ? JsonSerializer.SerializeToElement(s, McpGuardJsonContext.Default.JsonNode) : null;
        var request = new ElicitationApprovalRequest(session, requestId, mode, Text(parameters["message"]), schema, Text(parameters["url"]), fieldNames, reasons, digest, timeProvider.GetUtcNow());
        (Approval.ApprovalCallEnding ending, ElicitationApprovalDecision? decision, Exception? failure, double duration) = await Approval.ApprovalCall.AskAsync(
            token => approver.ReviewAsync(request, token), options.Approval.Timeout, timeProvider, cancellationToken).ConfigureAwait(false);
        switch (ending)
        {
            case Approval.ApprovalCallEnding.Cancelled:
                return (false, GuardDecision.Deny("The session closed while approval was pending.", "approval.cancelled"), new ApprovalEvidence(digest, "cancelled", null, null, duration));
            case Approval.ApprovalCallEnding.TimedOut:
                return (false, GuardDecision.Deny("The elicitation approval handler did not answer in time.", "approval.timeout"), new ApprovalEvidence(digest, "timeout", null, null, duration));
            case Approval.ApprovalCallEnding.Failed:
                Log.ApprovalHandlerFailed(logger, failure!);
                return (false, GuardDecision.Deny($"The elicitation approval handler failed with {failure!.GetType().Name}.", "approval.handler-error"), new ApprovalEvidence(digest, "handler-error", null, null, duration));
            case Approval.ApprovalCallEnding.Late:
                return (false, GuardDecision.Deny("The elicitation approval handler answered after the timeout.", "approval.timeout"), new ApprovalEvidence(digest, "timeout", decision?.ApproverId, decision?.Comment, duration));
        }

        if (decision is null)
        {
            return (false, GuardDecision.Deny("The elicitation approval handler returned no answer.", "approval.handler-error"), new ApprovalEvidence(digest, "handler-error", null, null, duration));
        }

        if (decision.RequestDigest is { } answered && !string.Equals(answered, digest, StringComparison.Ordinal))
        {
            return (false, GuardDecision.Deny("The approval answered a different elicitation (digest mismatch).", "approval.digest-mismatch"), new ApprovalEvidence(digest, "digest-mismatch", decision.ApproverId, decision.Comment, duration));
        }

        return decision.Approved
            ? (true, GuardDecision.Allow, new ApprovalEvidence(digest, "approved", decision.ApproverId, decision.Comment, duration))
            : (false, GuardDecision.Deny("The approver declined the elicitation.", "approval.rejected"), new ApprovalEvidence(digest, "rejected", decision.ApproverId, decision.Comment, duration));
    }

    /// <summary>Evidence of how the user answered an elicitation: the action and the field names, never the values.</summary>
    public static JsonObject DescribeElicitResult(JsonNode? result)
    {
        var details = new JsonObject { ["action"] = Text((result as JsonObject)?["action"]) is { } a ? Truncate(a) : null };
        if ((result as JsonObject)?["content"] is JsonObject content)
        {
            var names = new JsonArray();
            foreach ((string name, _) in content)
            {
                if (names.Count < 64)
                {
                    names.Add((JsonNode?)JsonValue.Create(Truncate(name)));
                }
            }

            details["contentFields"] = names;
        }

        return details;
    }

    /// <summary>Evidence of a sampling answer: model, stop reason and size (the completion itself is not recorded).</summary>
    public static JsonObject DescribeSamplingResult(JsonNode? result)
    {
        var r = result as JsonObject;
        return new JsonObject
        {
            ["model"] = Text(r?["model"]) is { } m ? Truncate(m) : null,
            ["stopReason"] = Text(r?["stopReason"]) is { } s ? Truncate(s) : null,
            ["bytes"] = Size(r),
        };
    }

    internal static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string Truncate(string s) => s.Length <= 128 ? s : s[..128] + "…";

    /// <summary>Canonical JSON size in bytes, or <see langword="null"/> when the value cannot be canonicalized (too deep, invalid).</summary>
    private static long? Size(JsonNode? node)
    {
        if (node is null)
        {
            return 0;
        }

        try
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            JsonCanonicalizer.Write(buffer, node);
            return buffer.WrittenCount;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static string Digest(GuardSessionInfo session, string requestId, JsonObject parameters)
    {
        var binding = new JsonObject
        {
            ["v"] = 1,
            ["kind"] = "elicitation",
            ["session"] = session.SessionId,
            ["requestId"] = requestId,
            ["server"] = session.ServerName,
            ["params"] = parameters.DeepClone(),
        };
        var buffer = new ArrayBufferWriter<byte>(512);
        JsonCanonicalizer.Write(buffer, binding);
        return JsonCanonicalizer.Sha256Hex(buffer.WrittenSpan);
    }

    private Compiled For(GuardSessionInfo session) =>
        _compiled.GetOrAdd(session.ServerName, static (_, registration) => new Compiled(registration ?? s_unregistered), session.Registration);

    private sealed class Compiled
    {
        private readonly string[] _hosts;

        public Compiled(GuardServerOptions registration)
        {
            Registration = registration;
            Roots = new RootsFilter(registration.Roots);
            Cues = registration.Elicitation.AdditionalSecretTerms.Count == 0 ? SecretCues.Default : new SecretCues(registration.Elicitation.AdditionalSecretTerms);
            _hosts = [.. registration.Elicitation.AllowedUrlHosts.Select(NormalizeHost)];
        }

        public GuardServerOptions Registration { get; }

        public RootsFilter Roots { get; }

        public SecretCues Cues { get; }

        public bool HostAllowed(string host)
        {
            foreach (string allowed in _hosts)
            {
                if (allowed.StartsWith("*.", StringComparison.Ordinal)
                    ? host.Length > allowed.Length - 1 && host.EndsWith(allowed.AsSpan(1), StringComparison.Ordinal)
                    : host == allowed)
                {
                    return true;
                }
            }

            return false;
        }

        private static string NormalizeHost(string host)
        {
            string trimmed = host.Trim().TrimEnd('.').ToLowerInvariant();
            bool wildcard = trimmed.StartsWith("*.", StringComparison.Ordinal);
            string name = wildcard ? trimmed[2..] : trimmed;
            try
            {
                name = new IdnMapping().GetAscii(name);
            }
            catch (ArgumentException)
            {
                // Validated at startup; an unmappable host simply never matches.
            }

            return wildcard ? "*." + name : name;
        }
    }
}
