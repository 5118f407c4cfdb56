using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace McpGuard;

/// <summary>What an evidence event records.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<GuardEvidenceKind>))]
public enum GuardEvidenceKind
{
    /// <summary>A connection was refused before or during the handshake (unregistered or disabled server, identity mismatch).</summary>
    ConnectionRefused,

    /// <summary>A handshake completed and the server's identity was checked against its registration.</summary>
    ServerConnected,

    /// <summary>The connection ended.</summary>
    ConnectionClosed,

    /// <summary>A <c>tools/list</c> result was checked: counts, hidden tools.</summary>
    ToolsListed,

    /// <summary>A <c>tools/list</c> result was rejected whole (malformed, too many tools), or a <c>prompts/list</c>,
    /// <c>resources/list</c> or <c>resources/templates/list</c> result (malformed, too long); <see cref="GuardEvidence.Method"/> says which.</summary>
    ToolsListRejected,

    /// <summary>The guard's decision on one <c>tools/call</c>, before it is sent.</summary>
    ToolCallDecision,

    /// <summary>How an allowed <c>tools/call</c> ended: result, error, or lost connection.</summary>
    ToolCallOutcome,

    /// <summary>A request other than <c>tools/call</c> was refused.</summary>
    RequestDenied,

    /// <summary>The kill switch disabled or re-enabled a server or tool.</summary>
    KillSwitchChanged,

    /// <summary>The server broke the protocol (e.g. a response for an id that was never sent, or list entries the client cannot read, which were removed).</summary>
    ProtocolViolation,

    /// <summary>A catalog item differs from its pin (rug pull, new or removed item), with the semantic diff and the reaction.</summary>
    CatalogDrift,

    /// <summary>Items were pinned (trust on first use or an approved change) and the pin store was updated.</summary>
    CatalogPinned,

    /// <summary>A tool result, resource or prompt was sanitized or flagged by a detector, with the findings and the reactions taken.</summary>
    ContentIsolated,

    /// <summary>A tool's metadata at <c>tools/list</c> carried hidden content, detected instructions or a colliding/imitating name, with the reaction.</summary>
    ToolMetadataFlagged,

    /// <summary>A session was tainted by flagged content, with the provenance (which call).</summary>
    SessionTainted,

    /// <summary>The guard's decision on a server-to-client request (<c>roots/list</c>, <c>sampling/createMessage</c>, <c>elicitation/create</c>, as a JSON-RPC request or an MRTR input request), with the approval record when one was asked for.</summary>
    ServerRequestDecision,

    /// <summary>How the client answered a server-to-client request: roots kept and dropped, elicitation action and field names (never the values), sampling model and size.</summary>
    ServerRequestOutcome,

    /// <summary>An HTTP request was refused because a credential would have left the origin or server it is bound to (label and fingerprint only).</summary>
    CredentialBlocked,

    /// <summary>A server demanded scopes beyond the configured list (scope step-up), with the approval record.</summary>
    ScopeStepUp,

    /// <summary>McpGuard started a local (stdio) server: the exact command line (<see cref="GuardEvidence.Endpoint"/>), whether and how it is sandboxed, and the names (never the values) of its environment variables.</summary>
    ServerLaunched,

    /// <summary>The HTTP guard refused a request (SSRF address, scheme, redirect, metadata origin, resource mismatch, size or time limit), with the URL (no query), redirect hop, address and its class.</summary>
    HttpRequestBlocked,

    /// <summary>The host cleared a session's (or principal's) taint with <see cref="McpGuardEngine.ResetTaintAsync(GuardSessionInfo, string, string, CancellationToken)"/>: who, why, and the sources that were cleared.</summary>
    TaintReset,

    /// <summary>At start (<see cref="EvidenceOptions.VerifyChainOnStart"/>) the JSON Lines evidence file failed its hash
    /// chain: the first line that no longer fits and why (rule <c>evidence.chain-broken</c>). New events continue the chain after it.</summary>
    EvidenceChainBroken,
}

/// <summary>
/// One structured evidence event: who (session, agent, user), which server (registration and reported identity),
/// which tool (with the hash of its raw metadata), what arguments (redacted to shape plus hash by default), what was
/// decided and why (rule id, reason), the approval record, the outcome, and what was not verified.
/// </summary>
/// <remarks>
/// Structured data first; sinks render it (logger, JSON Lines, custom <see cref="IGuardEvidenceSink"/>). Immutable.
/// Server-controlled strings appear only in fields named for them (server name/version, tool metadata hash) and in
/// <see cref="Details"/>; never in <see cref="Reason"/> text produced by built-in stages except as quoted values.
/// </remarks>
public sealed record GuardEvidence
{
    /// <summary>An empty event; set at least the required members.</summary>
    public GuardEvidence()
    {
    }

    /// <summary>An event of <paramref name="kind"/> with its id, time, and the session's identity and authority filled in
    /// by <paramref name="recorder"/> (what <see cref="Evidence.EvidenceRecorder.Create"/> returns, without a copy per
    /// <c>with</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    internal GuardEvidence(GuardEvidenceKind kind, GuardSessionInfo? session, Evidence.EvidenceRecorder recorder)
    {
        EventId = Evidence.EvidenceRecorder.NextEventId();
        Timestamp = recorder.TimeProvider.GetUtcNow();
        Kind = kind;
        SessionId = session?.SessionId;
        AgentId = session?.Principal.AgentId;
        UserId = session?.Principal.UserId;
        ServerName = session?.ServerName;
        ServerReportedName = session?.ServerIdentity?.Name;
        ServerReportedVersion = session?.ServerIdentity?.Version;
        ProtocolVersion = session?.ServerIdentity?.ProtocolVersion;
        Endpoint = session?.Endpoint;
        Authority = recorder.AuthorityOf(session);
    }

    /// <summary>Unique event id (32 hex characters).</summary>
    public required string EventId { get; init; }

    /// <summary>Event time from the engine's <see cref="TimeProvider"/> (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>What the event records.</summary>
    public required GuardEvidenceKind Kind { get; init; }

    /// <summary>The guarded session id, if the event belongs to a session.</summary>
    public string? SessionId { get; init; }

    /// <summary>The acting agent, as the host supplied it.</summary>
    public string? AgentId { get; init; }

    /// <summary>The end user, as the host supplied it.</summary>
    public string? UserId { get; init; }

    /// <summary>The server's registration name.</summary>
    public string? ServerName { get; init; }

    /// <summary>The server's self-reported name (server-controlled).</summary>
    public string? ServerReportedName { get; init; }

    /// <summary>The server's self-reported version (server-controlled).</summary>
    public string? ServerReportedVersion { get; init; }

    /// <summary>The negotiated protocol version.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>How the server is reached (exact stdio command line or URL).</summary>
    public string? Endpoint { get; init; }

    /// <summary>The JSON-RPC request id, as text.</summary>
    public string? RequestId { get; init; }

    /// <summary>The JSON-RPC method, e.g. <c>tools/call</c>.</summary>
    public string? Method { get; init; }

    /// <summary>The tool name.</summary>
    public string? ToolName { get; init; }

    /// <summary>SHA-256 of the tool's canonical raw metadata at decision time; <see langword="null"/> if the tool was never advertised.</summary>
    public string? ToolMetadataSha256 { get; init; }

    /// <summary>The arguments: shape plus hash by default, raw values only when <see cref="EvidenceOptions.IncludeRawArguments"/> is on.</summary>
    public ArgumentEvidence? Arguments { get; init; }

    /// <summary>The decision: <c>Allow</c>, <c>Deny</c> or <c>RequireApproval</c> (the latter only before approval resolves).</summary>
    public GuardDecisionKind? Decision { get; init; }

    /// <summary>The deciding rule id.</summary>
    public string? RuleId { get; init; }

    /// <summary>The deciding reason (host-facing).</summary>
    public string? Reason { get; init; }

    /// <summary>JSON path of the offending argument value, if any.</summary>
    public string? JsonPath { get; init; }

    /// <summary>The authority used with this server: credential label and scopes (never the secret).</summary>
    public AuthorityEvidence? Authority { get; init; }

    /// <summary>The approval record, when approval was asked for.</summary>
    public ApprovalEvidence? Approval { get; init; }

    /// <summary>The outcome of an allowed call.</summary>
    public OutcomeEvidence? Outcome { get; init; }

    /// <summary>Statements of what this event does not prove, e.g. that a success response does not prove the downstream change.</summary>
    public IReadOnlyList<string> NotVerified { get; init; } = [];

    /// <summary>Event-specific details (counts, hidden tool names, ...).</summary>
    public JsonObject? Details { get; init; }
}

/// <summary>Arguments in evidence.</summary>
/// <remarks>For the guard's own events <see cref="Sha256"/> and <see cref="Shape"/> are computed when first read (by a
/// sink, a serializer or the host) from the call's arguments, which never change, and then kept: a host whose sinks never
/// read them does not hash and describe every call's arguments. Such an event refers to the call's
/// <see cref="ToolCallContext"/> (and so keeps its arguments alive) as long as the event itself. Concurrent first reads
/// are safe and see the same values; a copy made with <c>with</c> shares the original's shape node.</remarks>
public sealed record ArgumentEvidence
{
    private readonly ToolCallContext? _call;
    private string? _sha256;
    private JsonNode? _shape;
    private ToolCallContext? _shapeOf; // set while the shape is still to be built from this call's arguments
    private Func<string, bool>? _redactName;

    /// <summary>Arguments with a known digest.</summary>
    /// <param name="Sha256">Lower-case hex SHA-256 of the canonical (RFC 8785) arguments.</param>
    /// <param name="Size">Canonical size in bytes.</param>
    /// <param name="Shape">The arguments with every value replaced by its type (strings by <c>string(len=N)</c>); depth and width capped.</param>
    /// <param name="Raw">The raw arguments, only when the host opted in.</param>
#pragma warning disable SA1313 // parameter names match the properties, as in a positional record
    public ArgumentEvidence(string Sha256, int Size, JsonNode? Shape, JsonNode? Raw)
    {
        _sha256 = Sha256;
        this.Size = Size;
        this.Shape = Shape;
        this.Raw = Raw;
    }
#pragma warning restore SA1313

    /// <summary>Arguments of <paramref name="call"/>; the digest is the call's, computed when first read.</summary>
    internal ArgumentEvidence(ToolCallContext call, JsonNode? shape, JsonNode? raw)
        : this(null!, call.ArgumentsSize, shape, raw) => _call = call;

    private ArgumentEvidence(ArgumentEvidence original)
    {
        _call = original._call;
        _sha256 = original._sha256;
        Size = original.Size;
        _shape = original.Shape; // built now, so the copy and the original share one node (equality compares nodes by reference)
        Raw = original.Raw;
    }

    /// <summary>Arguments of <paramref name="call"/> whose digest and shape are computed when first read.</summary>
    /// <param name="call">The call.</param>
    /// <param name="redactName">Property names it answers <see langword="true"/> for are replaced in the shape.</param>
    /// <param name="raw">The raw arguments, when the host opted in.</param>
    internal static ArgumentEvidence Deferred(ToolCallContext call, Func<string, bool>? redactName, JsonNode? raw) =>
        new(call, null, raw) { _shapeOf = call, _redactName = redactName };

    /// <summary>SHA-256 (FIPS 180-4; lower-case hex, 64 characters) of the canonical (RFC 8785) UTF-8 arguments.</summary>
    public string Sha256
    {
        get => _sha256 ?? (_call is null ? _sha256! : _sha256 = _call.ArgumentsSha256);
        init
        {
            _sha256 = value;
            _call = null;
        }
    }

    /// <summary>Canonical size in bytes.</summary>
    public int Size { get; init; }

    /// <summary>The arguments with every value replaced by its type (strings by <c>string(len=N)</c>); depth and width capped.</summary>
    public JsonNode? Shape
    {
        get
        {
            if (Volatile.Read(ref _shapeOf) is { } call)
            {
                Interlocked.CompareExchange(ref _shape, Evidence.EvidenceRecorder.Shape(call.Arguments, 0, _redactName), null);
                Volatile.Write(ref _shapeOf, null);
            }

            return _shape;
        }

        init
        {
            _shape = value;
            _shapeOf = null;
        }
    }

    /// <summary>The raw arguments, only when the host opted in.</summary>
    public JsonNode? Raw { get; init; }

    /// <summary>Value equality over the four properties (nodes by reference, as in a positional record).</summary>
    /// <param name="other">The other value.</param>
    public bool Equals(ArgumentEvidence? other) =>
        other is not null
        && string.Equals(Sha256, other.Sha256, StringComparison.Ordinal)
        && Size == other.Size
        && EqualityComparer<JsonNode?>.Default.Equals(Shape, other.Shape)
        && EqualityComparer<JsonNode?>.Default.Equals(Raw, other.Raw);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Sha256, Size, Shape, Raw);

    /// <summary>Deconstructs into the four properties, as a positional record would.</summary>
    /// <param name="Sha256">See <see cref="Sha256"/>.</param>
    /// <param name="Size">See <see cref="Size"/>.</param>
    /// <param name="Shape">See <see cref="Shape"/>.</param>
    /// <param name="Raw">See <see cref="Raw"/>.</param>
#pragma warning disable SA1313
    public void Deconstruct(out string Sha256, out int Size, out JsonNode? Shape, out JsonNode? Raw)
#pragma warning restore SA1313
    {
        Sha256 = this.Sha256;
        Size = this.Size;
        Shape = this.Shape;
        Raw = this.Raw;
    }
}

/// <summary>The authority used with a server.</summary>
/// <param name="CredentialLabel">Host-defined credential label, or <see langword="null"/> for none.</param>
/// <param name="Scopes">Scopes the credential carries.</param>
public sealed record AuthorityEvidence(string? CredentialLabel, IReadOnlyList<string> Scopes);

/// <summary>How approval went.</summary>
/// <param name="RequestDigest">The digest the approval was bound to.</param>
/// <param name="Result">One of <c>approved</c>, <c>rejected</c>, <c>timeout</c>, <c>handler-error</c>, <c>no-handler</c>, <c>digest-mismatch</c>, <c>cancelled</c>.</param>
/// <param name="ApproverId">Who answered, if anyone.</param>
/// <param name="Comment">The approver's note, if any.</param>
/// <param name="DurationMs">How long the handler took, in milliseconds.</param>
public sealed record ApprovalEvidence(string RequestDigest, string Result, string? ApproverId, string? Comment, double DurationMs);

/// <summary>How an allowed call ended.</summary>
/// <remarks>
/// When the result was parsed from bytes the guard can still reach (the SDK's transports), <see cref="ResultSha256"/> is
/// computed from those bytes on first read (by a sink, a serializer or the host) and then kept: a host whose sinks never
/// read it does not pay for hashing every result. The bytes are the immutable buffer the result was parsed from, so the
/// digest is the same whenever it is read, even after the guard rewrote the result for the model. An event that holds a
/// deferred digest keeps that buffer alive as long as the event itself.
/// </remarks>
public sealed record OutcomeEvidence
{
    private System.Text.Json.JsonElement _deferredResult;
    private string? _resultSha256;

    /// <summary>An outcome with a known (or no) result digest.</summary>
    /// <param name="Status">One of <c>result</c>, <c>tool-error</c> (a result with <c>isError: true</c>), <c>protocol-error</c> (a JSON-RPC error), <c>connection-lost</c>, <c>send-failed</c>, <c>cancelled</c> (the client cancelled; the server may still have acted).</param>
    /// <param name="DurationMs">Time from sending the request to the response, in milliseconds.</param>
    /// <param name="ResultSha256">SHA-256 (lower-case hex) of the result member's UTF-8 JSON, or <see langword="null"/> when there is no result.</param>
    /// <param name="ResultSize">Size of that JSON in bytes.</param>
    /// <param name="ErrorCode">The JSON-RPC error code, for <c>protocol-error</c>.</param>
#pragma warning disable CS1573, SA1313 // parameter names match the properties, as in a positional record
    public OutcomeEvidence(string Status, double DurationMs, string? ResultSha256, long? ResultSize, int? ErrorCode)
    {
        this.Status = Status;
        this.DurationMs = DurationMs;
        _resultSha256 = ResultSha256;
        this.ResultSize = ResultSize;
        this.ErrorCode = ErrorCode;
    }
#pragma warning restore CS1573, SA1313

    /// <summary>An outcome whose digest is computed from <paramref name="rawResult"/>'s bytes when first read; its size is
    /// their length.</summary>
    internal OutcomeEvidence(string status, double durationMs, System.Text.Json.JsonElement rawResult)
        : this(status, durationMs, null, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(rawResult).Length, null) => _deferredResult = rawResult;

    /// <summary>One of <c>result</c>, <c>tool-error</c> (a result with <c>isError: true</c>), <c>protocol-error</c> (a JSON-RPC error), <c>connection-lost</c>, <c>send-failed</c>, <c>cancelled</c> (the client cancelled; the server may still have acted).</summary>
    public string Status { get; init; }

    /// <summary>Time from sending the request to the response, in milliseconds.</summary>
    public double DurationMs { get; init; }

    /// <summary>SHA-256 (FIPS 180-4; lower-case hex, 64 characters) of the result member's UTF-8 JSON exactly as the transport
    /// received it; for a result the transport built without parsing bytes, of its compact serialization.
    /// <see langword="null"/> when there is no result.</summary>
    public string? ResultSha256
    {
        get
        {
            if (_resultSha256 is null && _deferredResult.ValueKind != System.Text.Json.JsonValueKind.Undefined)
            {
                // The element is written only before the event is published; concurrent first reads compute the same digest.
                Interlocked.CompareExchange(ref _resultSha256, Json.JsonCanonicalizer.Sha256Hex(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(_deferredResult)), null);
            }

            return _resultSha256;
        }

        init
        {
            _resultSha256 = value;
            _deferredResult = default;
        }
    }

    /// <summary>Size of that JSON in bytes.</summary>
    public long? ResultSize { get; init; }

    /// <summary>The JSON-RPC error code, for <c>protocol-error</c>.</summary>
    public int? ErrorCode { get; init; }

    /// <summary>Value equality over the five properties (a deferred digest is computed to compare).</summary>
    /// <param name="other">The other outcome.</param>
    public bool Equals(OutcomeEvidence? other) =>
        other is not null
        && string.Equals(Status, other.Status, StringComparison.Ordinal)
        && DurationMs.Equals(other.DurationMs)
        && string.Equals(ResultSha256, other.ResultSha256, StringComparison.Ordinal)
        && ResultSize == other.ResultSize
        && ErrorCode == other.ErrorCode;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Status, DurationMs, ResultSha256, ResultSize, ErrorCode);

    /// <summary>Deconstructs into the five properties, as a positional record would.</summary>
    /// <param name="Status">See <see cref="Status"/>.</param>
    /// <param name="DurationMs">See <see cref="DurationMs"/>.</param>
    /// <param name="ResultSha256">See <see cref="ResultSha256"/>.</param>
    /// <param name="ResultSize">See <see cref="ResultSize"/>.</param>
    /// <param name="ErrorCode">See <see cref="ErrorCode"/>.</param>
#pragma warning disable SA1313
    public void Deconstruct(out string Status, out double DurationMs, out string? ResultSha256, out long? ResultSize, out int? ErrorCode)
#pragma warning restore SA1313
    {
        Status = this.Status;
        DurationMs = this.DurationMs;
        ResultSha256 = this.ResultSha256;
        ResultSize = this.ResultSize;
        ErrorCode = this.ErrorCode;
    }
}

/// <summary>Source-generated JSON metadata for evidence (AOT-safe).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = false,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(GuardEvidence))]
internal sealed partial class EvidenceJsonContext : JsonSerializerContext;
