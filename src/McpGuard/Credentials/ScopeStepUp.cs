using System.Security.Cryptography;
using System.Text;

namespace McpGuard;

/// <summary>
/// A server asked for scopes beyond the ones the host configured for it (a "scope challenge": HTTP 401/403 with
/// <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="…"</c>, RFC 6750 §3.1; MCP authorization
/// specification, "Scope Challenge Handling"). Everything an approver needs, bound to <see cref="RequestDigest"/>.
/// </summary>
/// <remarks>Immutable; thread-safe. <see cref="ErrorDescription"/> is server-controlled text: show it literally, never to the model.</remarks>
public sealed class ScopeStepUpRequest
{
    internal ScopeStepUpRequest(string serverName, string resource, string requestUri, int statusCode, string? error, string? errorDescription, IReadOnlyList<string> allowed, IReadOnlyList<string> requested, string? credentialLabel, DateTimeOffset requestedAt)
    {
        ServerName = serverName;
        Resource = resource;
        RequestUri = requestUri;
        StatusCode = statusCode;
        Error = error;
        ErrorDescription = errorDescription;
        AllowedScopes = allowed;
        RequestedScopes = requested;
        AdditionalScopes = [.. requested.Except(allowed, StringComparer.Ordinal)];
        CredentialLabel = credentialLabel;
        RequestedAt = requestedAt;
        string material = string.Join('\n', serverName, resource, requestUri, statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), string.Join(' ', allowed), string.Join(' ', requested), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        RequestDigest = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(material))).ToLowerInvariant();
    }

    /// <summary>Lower-case hex SHA-256 (64 characters) binding an answer to this exact challenge; every challenge gets its own.</summary>
    public string RequestDigest { get; }

    /// <summary>The server's registration name.</summary>
    public string ServerName { get; }

    /// <summary>The canonical server URI the credential is bound to.</summary>
    public string Resource { get; }

    /// <summary>The request that was challenged (query removed).</summary>
    public string RequestUri { get; }

    /// <summary>401 or 403.</summary>
    public int StatusCode { get; }

    /// <summary>The challenge's <c>error</c> parameter, e.g. <c>insufficient_scope</c> (server-controlled).</summary>
    public string? Error { get; }

    /// <summary>The challenge's <c>error_description</c> (server-controlled text).</summary>
    public string? ErrorDescription { get; }

    /// <summary>The scopes the host allows for this server: its configured list plus earlier approved step-ups, sorted.</summary>
    public IReadOnlyList<string> AllowedScopes { get; }

    /// <summary>Every scope the server asks for, sorted.</summary>
    public IReadOnlyList<string> RequestedScopes { get; }

    /// <summary>The requested scopes that are not allowed yet (what approval would add).</summary>
    public IReadOnlyList<string> AdditionalScopes { get; }

    /// <summary>The label of the credential in use with the server, if known.</summary>
    public string? CredentialLabel { get; }

    /// <summary>When the guard asked (engine <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset RequestedAt { get; }

    /// <summary>Approves the additional scopes for this server.</summary>
    /// <param name="approverId">Who approved (evidence).</param>
    /// <param name="comment">Optional note (evidence).</param>
    /// <returns>An answer bound to <see cref="RequestDigest"/>.</returns>
    public ScopeStepUpResponse Approve(string? approverId = null, string? comment = null) => new(RequestDigest, true, approverId, comment);

    /// <summary>Refuses the step-up; the request fails (rule <c>token.scope-step-up-denied</c>).</summary>
    /// <param name="approverId">Who refused (evidence).</param>
    /// <param name="comment">Optional note (evidence).</param>
    /// <returns>An answer bound to <see cref="RequestDigest"/>.</returns>
    public ScopeStepUpResponse Reject(string? approverId = null, string? comment = null) => new(RequestDigest, false, approverId, comment);
}

/// <summary>An approver's answer to one <see cref="ScopeStepUpRequest"/>.</summary>
/// <param name="RequestDigest">The <see cref="ScopeStepUpRequest.RequestDigest"/> answered; any other value refuses.</param>
/// <param name="Approved">Whether the additional scopes may be requested.</param>
/// <param name="ApproverId">Who answered (evidence).</param>
/// <param name="Comment">Optional note (evidence).</param>
public sealed record ScopeStepUpResponse(string RequestDigest, bool Approved, string? ApproverId = null, string? Comment = null);

/// <summary>
/// The host's decision point for scope step-up: called when a server demands scopes beyond the host's configured list
/// for it. Without a handler, or when the handler throws, times out (<see cref="ApprovalOptions.Timeout"/>), returns
/// <see langword="null"/> or answers another digest, the step-up is refused (fail closed).
/// </summary>
/// <remarks>Must be thread-safe.</remarks>
public interface IScopeStepUpApprovalHandler
{
    /// <summary>Asks whether the server may get the additional scopes.</summary>
    /// <param name="request">The challenge; answer with <see cref="ScopeStepUpRequest.Approve"/> or <see cref="ScopeStepUpRequest.Reject"/>.</param>
    /// <param name="cancellationToken">Cancelled on timeout.</param>
    /// <returns>The answer.</returns>
    ValueTask<ScopeStepUpResponse> RequestStepUpAsync(ScopeStepUpRequest request, CancellationToken cancellationToken);
}

internal sealed class DelegateScopeStepUpApprovalHandler(Func<ScopeStepUpRequest, CancellationToken, ValueTask<ScopeStepUpResponse>> handler) : IScopeStepUpApprovalHandler
{
    public ValueTask<ScopeStepUpResponse> RequestStepUpAsync(ScopeStepUpRequest request, CancellationToken cancellationToken) => handler(request, cancellationToken);
}

/// <summary>Stable rule ids of the credential controls.</summary>
public static class GuardCredentialRuleIds
{
    /// <summary>A credential was about to be sent to another origin or server than the one it is bound to, or an unknown bearer token to another origin than the server's: <c>token.audience-mismatch</c>.</summary>
    public const string AudienceMismatch = "token.audience-mismatch";

    /// <summary>Tool-call arguments contain a credential the host holds: <c>token.passthrough</c>.</summary>
    public const string Passthrough = "token.passthrough";

    /// <summary>A server demanded scopes beyond the configured list and the step-up was not approved: <c>token.scope-step-up-denied</c>.</summary>
    public const string ScopeStepUpDenied = "token.scope-step-up-denied";

    /// <summary>The SDK's OAuth flow asked for a token for another resource than the server's canonical URI: <c>token.resource-mismatch</c>.</summary>
    public const string ResourceMismatch = "token.resource-mismatch";

    /// <summary>The inner HTTP handler follows redirects by itself, so hops could not be checked: <c>token.unchecked-redirects</c>.</summary>
    public const string UncheckedRedirects = "token.unchecked-redirects";
}

/// <summary>Thrown by the credential binding handler and the guard's OAuth hooks when a credential would leave its binding or a step-up is refused.</summary>
/// <remarks>The message names the credential label and fingerprint, never the secret. Surfaces from the SDK call that caused the HTTP request.</remarks>
public sealed class McpGuardCredentialException : McpGuardException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="decision">The Deny decision (reason and rule id).</param>
    /// <param name="serverName">The server registration whose handler refused.</param>
    /// <param name="requestUri">The refused request's URI without query and user info.</param>
    public McpGuardCredentialException(GuardDecision decision, string serverName, string? requestUri)
        : base($"McpGuard refused an HTTP request of server '{serverName}': {decision.RuleId}: {decision.Reason}")
    {
        Decision = decision;
        ServerName = serverName;
        RuleId = decision.RuleId!;
        RequestUri = requestUri;
    }

    /// <summary>The stable rule id, e.g. <c>token.audience-mismatch</c>.</summary>
    public string RuleId { get; } = string.Empty;

    /// <summary>The refused request's URI (query and user info removed), if any.</summary>
    public string? RequestUri { get; }
}
