using System.Text.Json;

namespace McpGuard;

/// <summary>
/// Everything a person needs to approve or reject one tool call: the server's identity and registration, the tool's
/// title, full description and annotations exactly as the server sent them, the complete untruncated arguments, why
/// approval is required (reasons with rule ids), and the authority the host uses with that server.
/// </summary>
/// <remarks>
/// The request is bound to <see cref="RequestDigest"/>, a SHA-256 over the session, the JSON-RPC request id, the
/// server, the tool's metadata hash, the canonical arguments, the principal and the rule ids. A response only
/// counts for the request whose digest it carries, so a retried or altered request is never covered by an earlier
/// approval. Immutable; thread-safe. Title, description, annotations and arguments are untrusted text: render them
/// literally (no markup interpretation) in an approval UI.
/// </remarks>
public sealed class ToolApprovalRequest
{
    internal ToolApprovalRequest(ToolCallContext call, IReadOnlyList<GuardDecision> reasons, string digest, DateTimeOffset requestedAt)
    {
        Call = call;
        Reasons = reasons;
        RequestDigest = digest;
        RequestedAt = requestedAt;
        GuardAuthorityOptions? authority = call.Session.Registration?.Authority;
        CredentialLabel = authority?.CredentialLabel;
        Scopes = authority is null ? [] : [.. authority.Scopes];
    }

    /// <summary>Lower-case hex SHA-256 (64 characters) binding an answer to this exact request.</summary>
    public string RequestDigest { get; }

    /// <summary>When the guard asked (engine <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset RequestedAt { get; }

    /// <summary>The guarded session id.</summary>
    public string SessionId => Call.Session.SessionId;

    /// <summary>The server's registration name.</summary>
    public string ServerName => Call.ServerName;

    /// <summary>What the server reported about itself in its handshake (a claim, not authenticated).</summary>
    public ServerIdentity? Server => Call.Session.ServerIdentity;

    /// <summary>How the server is reached (stdio command line or URL).</summary>
    public string Endpoint => Call.Session.Endpoint;

    /// <summary>The agent and user on whose behalf the call is made.</summary>
    public GuardPrincipal Principal => Call.Principal;

    /// <summary>The tool name.</summary>
    public string ToolName => Call.ToolName;

    /// <summary>The tool's title as the server sent it, if any.</summary>
    public string? ToolTitle => Call.Tool?.Title;

    /// <summary>The tool's complete description as the server sent it, if any.</summary>
    public string? ToolDescription => Call.Tool?.Description;

    /// <summary>The tool's annotations object as the server sent it, if any (hints, not guarantees).</summary>
    public JsonElement? ToolAnnotations => Call.Tool?.Annotations;

    /// <summary>SHA-256 of the tool's canonical metadata, if the tool is in the catalog.</summary>
    public string? ToolMetadataSha256 => Call.Tool?.MetadataSha256;

    /// <summary>The complete arguments object.</summary>
    public JsonElement Arguments => Call.Arguments;

    /// <summary>The complete arguments as canonical (RFC 8785) JSON text, untruncated.</summary>
    public string ArgumentsJson => System.Text.Encoding.UTF8.GetString(Call.ArgumentsCanonical);

    /// <summary>Every decision that asked for approval, in stage order (reason and rule id each).</summary>
    public IReadOnlyList<GuardDecision> Reasons { get; }

    /// <summary>
    /// For calls a flow rule sent to approval, the chain that triggered it (the first flow reason's), e.g.
    /// <c>send_email after read_inbox returned untrusted text (call #3)</c>; otherwise <see langword="null"/>. Every flow reason's
    /// chain is also on <see cref="GuardDecision.Chain"/> in <see cref="Reasons"/>. Covered by <see cref="RequestDigest"/>.
    /// </summary>
    public FlowChain? Flow => Reasons.Select(r => r.Chain).FirstOrDefault(c => c is not null);

    /// <summary>The host-configured label of the credential used with this server, if any.</summary>
    public string? CredentialLabel { get; }

    /// <summary>The OAuth scopes that credential carries, as configured by the host.</summary>
    public IReadOnlyList<string> Scopes { get; }

    internal ToolCallContext Call { get; }

    /// <summary>Creates an approval bound to this request.</summary>
    /// <param name="approverId">Who approved (recorded in evidence).</param>
    /// <param name="comment">Optional note recorded in evidence.</param>
    /// <returns>A response carrying <see cref="RequestDigest"/>.</returns>
    public ToolApprovalResponse Approve(string? approverId = null, string? comment = null) => new(RequestDigest, true, approverId, comment);

    /// <summary>Creates a rejection bound to this request.</summary>
    /// <param name="approverId">Who rejected (recorded in evidence).</param>
    /// <param name="comment">Optional note recorded in evidence.</param>
    /// <returns>A response carrying <see cref="RequestDigest"/>.</returns>
    public ToolApprovalResponse Reject(string? approverId = null, string? comment = null) => new(RequestDigest, false, approverId, comment);
}

/// <summary>An approver's answer to one <see cref="ToolApprovalRequest"/>.</summary>
/// <param name="RequestDigest">The <see cref="ToolApprovalRequest.RequestDigest"/> this answer is for; any other value denies (rule <c>approval.digest-mismatch</c>).</param>
/// <param name="Approved">Whether the call may proceed.</param>
/// <param name="ApproverId">Who answered, recorded in evidence.</param>
/// <param name="Comment">Optional note recorded in evidence.</param>
public sealed record ToolApprovalResponse(string RequestDigest, bool Approved, string? ApproverId = null, string? Comment = null);

/// <summary>
/// The host's approval UI or workflow: called for every call a stage marked <see cref="GuardDecisionKind.RequireApproval"/>.
/// </summary>
/// <remarks>
/// Must be thread-safe. A handler that throws, returns <see langword="null"/>, answers for another digest, or does not
/// answer within <see cref="ApprovalOptions.Timeout"/> denies the call. If no handler is registered, every such call is
/// denied (rule <c>approval.no-handler</c>).
/// </remarks>
public interface IToolApprovalHandler
{
    /// <summary>Asks for a decision on one call.</summary>
    /// <param name="request">The complete request; answer with <see cref="ToolApprovalRequest.Approve"/> or <see cref="ToolApprovalRequest.Reject"/>.</param>
    /// <param name="cancellationToken">Cancelled on timeout or when the caller gives up.</param>
    /// <returns>The answer.</returns>
    ValueTask<ToolApprovalResponse> RequestApprovalAsync(ToolApprovalRequest request, CancellationToken cancellationToken);
}

internal sealed class DelegateToolApprovalHandler(Func<ToolApprovalRequest, CancellationToken, ValueTask<ToolApprovalResponse>> handler) : IToolApprovalHandler
{
    public ValueTask<ToolApprovalResponse> RequestApprovalAsync(ToolApprovalRequest request, CancellationToken cancellationToken) => handler(request, cancellationToken);
}
