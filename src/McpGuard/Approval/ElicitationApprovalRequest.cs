using System.Text.Json;

namespace McpGuard;

/// <summary>
/// A server's elicitation request (<c>elicitation/create</c>, MCP spec 2025-11-25 "Client features: Elicitation")
/// that the guard flagged, waiting for the host's decision: who asks (server identity and endpoint), on whose behalf
/// (principal), what exactly (mode, message, requested schema or URL, complete and as sent), and why it was flagged.
/// </summary>
/// <remarks>
/// Immutable; thread-safe. Message, schema and URL are untrusted, server-controlled text: render them literally (no
/// markup, no link auto-opening) in an approval UI. Approving lets the request reach the host's own elicitation
/// handler, which still asks the user; rejecting answers the server with <c>{"action":"decline"}</c>.
/// </remarks>
public sealed class ElicitationApprovalRequest
{
    internal ElicitationApprovalRequest(
        GuardSessionInfo session, string requestId, string mode, string? message, JsonElement? requestedSchema, string? url,
        IReadOnlyList<string> fieldNames, IReadOnlyList<GuardDecision> reasons, string digest, DateTimeOffset requestedAt)
    {
        SessionId = session.SessionId;
        ServerName = session.ServerName;
        Server = session.ServerIdentity;
        Endpoint = session.Endpoint;
        Principal = session.Principal;
        RequestId = requestId;
        Mode = mode;
        Message = message;
        RequestedSchema = requestedSchema;
        Url = url;
        FieldNames = fieldNames;
        Reasons = reasons;
        RequestDigest = digest;
        RequestedAt = requestedAt;
    }

    /// <summary>Lower-case hex SHA-256 (64 characters) over the session, the request id and the canonical (RFC 8785) request params; recorded in evidence.</summary>
    public string RequestDigest { get; }

    /// <summary>When the guard asked (engine <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset RequestedAt { get; }

    /// <summary>The guarded session id.</summary>
    public string SessionId { get; }

    /// <summary>The server's registration name.</summary>
    public string ServerName { get; }

    /// <summary>What the server reported about itself in its handshake (a claim, not authenticated).</summary>
    public ServerIdentity? Server { get; }

    /// <summary>How the server is reached (stdio command line or URL).</summary>
    public string Endpoint { get; }

    /// <summary>The agent and user the connection acts for.</summary>
    public GuardPrincipal Principal { get; }

    /// <summary>The JSON-RPC id of the request, or the input-request key for a multi round-trip (MRTR) request, as text.</summary>
    public string RequestId { get; }

    /// <summary><c>form</c> (in-band: the user types values that go to the server) or <c>url</c> (out-of-band: the user is sent to <see cref="Url"/>).</summary>
    public string Mode { get; }

    /// <summary>The message the server wants shown to the user, complete and as sent.</summary>
    public string? Message { get; }

    /// <summary>Form mode: the requested JSON schema (a flat object of primitive properties), as sent.</summary>
    public JsonElement? RequestedSchema { get; }

    /// <summary>URL mode: the URL the server wants the user to open, as sent.</summary>
    public string? Url { get; }

    /// <summary>Form mode: the names of the requested fields.</summary>
    public IReadOnlyList<string> FieldNames { get; }

    /// <summary>Why the request was flagged, with rule ids (e.g. <c>elicitation.secret-field</c>, <c>elicitation.url-unknown-host</c>).</summary>
    public IReadOnlyList<GuardDecision> Reasons { get; }

    /// <summary>Lets the request through to the host's elicitation handler.</summary>
    /// <param name="approverId">Who approved (recorded in evidence).</param>
    /// <param name="comment">Optional note recorded in evidence.</param>
    /// <returns>The decision.</returns>
    public ElicitationApprovalDecision Approve(string? approverId = null, string? comment = null) => new(true, approverId, comment) { RequestDigest = RequestDigest };

    /// <summary>Declines the request: the server receives <c>{"action":"decline"}</c>.</summary>
    /// <param name="approverId">Who rejected (recorded in evidence).</param>
    /// <param name="comment">Optional note recorded in evidence.</param>
    /// <returns>The decision.</returns>
    public ElicitationApprovalDecision Reject(string? approverId = null, string? comment = null) => new(false, approverId, comment) { RequestDigest = RequestDigest };
}

/// <summary>The host's answer to an <see cref="ElicitationApprovalRequest"/>.</summary>
/// <param name="Approved">Whether the request may reach the host's elicitation handler.</param>
/// <param name="ApproverId">Who decided, recorded in evidence.</param>
/// <param name="Comment">Optional note recorded in evidence.</param>
public sealed record ElicitationApprovalDecision(bool Approved, string? ApproverId = null, string? Comment = null)
{
    /// <summary>The <see cref="ElicitationApprovalRequest.RequestDigest"/> this answer is for (set by <see cref="ElicitationApprovalRequest.Approve"/>/<see cref="ElicitationApprovalRequest.Reject"/>); when set, any other value declines (rule <c>approval.digest-mismatch</c>).</summary>
    public string? RequestDigest { get; init; }
}

/// <summary>
/// The host's decision point for flagged elicitation requests (requests that appear to ask for passwords, tokens, keys,
/// one-time codes, card numbers and the like, or URL-mode requests to hosts not in
/// <see cref="ElicitationOptions.AllowedUrlHosts"/>).
/// </summary>
/// <remarks>
/// <para>A separate interface from <see cref="IToolApprovalHandler"/> on purpose: an elicitation is not a tool call (no
/// tool, no arguments, no call digest), and a host whose tool approver predates elicitation screening must not
/// approve a request kind it cannot display. With no handler registered, every flagged request is declined
/// (fail closed).</para>
/// <para>Must be thread-safe. A handler that throws, returns <see langword="null"/> or does not answer within
/// <see cref="ApprovalOptions.Timeout"/> declines the request.</para>
/// </remarks>
public interface IElicitationApprovalHandler
{
    /// <summary>Decides on one flagged elicitation request.</summary>
    /// <param name="request">The complete request with the reasons it was flagged.</param>
    /// <param name="cancellationToken">Cancelled on timeout or when the session closes.</param>
    /// <returns>The decision.</returns>
    ValueTask<ElicitationApprovalDecision> ReviewAsync(ElicitationApprovalRequest request, CancellationToken cancellationToken);
}

internal sealed class DelegateElicitationApprovalHandler(Func<ElicitationApprovalRequest, CancellationToken, ValueTask<ElicitationApprovalDecision>> review) : IElicitationApprovalHandler
{
    public ValueTask<ElicitationApprovalDecision> ReviewAsync(ElicitationApprovalRequest request, CancellationToken cancellationToken) => review(request, cancellationToken);
}
