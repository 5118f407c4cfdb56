using System.Text.Json.Nodes;
using McpGuard.Diagnostics;
using McpGuard.Evidence;
using Microsoft.Extensions.Logging;

namespace McpGuard.Credentials;

/// <summary>The engine's credential services shared by every binding handler, token cache and the passthrough stage.</summary>
internal sealed class CredentialGuard
{
    private readonly McpGuardOptions _options;
    private readonly IScopeStepUpApprovalHandler? _stepUpHandler;
    private readonly EvidenceRecorder _evidence;
    private readonly ILogger _logger;

    public CredentialGuard(McpGuardOptions options, GuardCredentialRegistry registry, IScopeStepUpApprovalHandler? stepUpHandler, EvidenceRecorder evidence, ILogger logger, TimeProvider timeProvider)
    {
        _options = options;
        Registry = registry;
        _stepUpHandler = stepUpHandler;
        _evidence = evidence;
        _logger = logger;
        TimeProvider = timeProvider;
    }

    public GuardCredentialRegistry Registry { get; }

    public CredentialOptions Options => _options.Credentials;

    public TimeProvider TimeProvider { get; }

    public GuardServerOptions? Registration(string serverName) => _options.Servers.TryGetValue(serverName, out GuardServerOptions? r) ? r : null;

    /// <summary>The resource (canonical server URI) of a server: the explicit one, else <see cref="GuardAuthorityOptions.Resource"/>.</summary>
    public Uri ResolveResource(string serverName, Uri? resource)
    {
        Uri? r = resource ?? Registration(serverName)?.Authority.Resource;
        if (r is null || !r.IsAbsoluteUri || !CanonicalResource.IsHttp(r))
        {
            throw new InvalidOperationException($"Server '{serverName}' has no resource URI: pass the MCP server's URL or set Servers:{serverName}:Authority:Resource to its canonical http(s) URI.");
        }

        return r;
    }

    /// <summary>The configured scopes of a server plus those approved at step-up challenges, sorted ordinally.</summary>
    public IReadOnlyList<string> AllowedScopes(string serverName)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        if (Registration(serverName) is { } r)
        {
            set.UnionWith(r.Authority.Scopes);
        }

        set.UnionWith(Registry.ApprovedStepUpScopes(serverName));
        return [.. set];
    }

    public string DefaultLabel(string serverName) => Registration(serverName)?.Authority.CredentialLabel is { Length: > 0 } l ? l : "oauth:" + serverName;

    /// <summary>Records a refusal and returns the exception to throw.</summary>
    public async ValueTask<McpGuardCredentialException> BlockAsync(string serverName, string ruleId, string reason, string? requestUri, GuardCredential? credential, JsonObject? details = null)
    {
        GuardDecision decision = GuardDecision.Deny(reason, ruleId);
        Log.CredentialBlocked(_logger, serverName, ruleId);
        details ??= [];
        if (credential is not null)
        {
            details["credentialLabel"] = credential.Label;
            details["credentialFingerprint"] = credential.Fingerprint;
            details["credentialResource"] = credential.ResourceCanonical;
            details["credentialServer"] = credential.ServerName;
        }

        if (requestUri is not null)
        {
            details["requestUri"] = requestUri;
        }

        await _evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.CredentialBlocked, null, _evidence)
        {
            ServerName = serverName,
            Endpoint = requestUri,
            Decision = GuardDecisionKind.Deny,
            RuleId = ruleId,
            Reason = reason,
            Authority = credential is null ? null : new AuthorityEvidence(credential.Label, credential.Scopes),
            Details = details,
        }).ConfigureAwait(false);
        return new McpGuardCredentialException(decision, serverName, requestUri);
    }

    /// <summary>Asks the host's step-up handler. Fails closed: no handler, an exception, a timeout, null or another digest refuse.</summary>
    public async ValueTask<bool> ApproveStepUpAsync(ScopeStepUpRequest request, CancellationToken cancellationToken)
    {
        long started = TimeProvider.GetTimestamp();
        string result;
        ScopeStepUpResponse? response = null;
        if (_stepUpHandler is null)
        {
            result = "no-handler";
        }
        else
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task<ScopeStepUpResponse> ask = _stepUpHandler.RequestStepUpAsync(request, cts.Token).AsTask();
                try
                {
                    response = await ask.WaitAsync(_options.Approval.Timeout, TimeProvider, cancellationToken).ConfigureAwait(false);
                    result = response is null ? "handler-error"
                        : !string.Equals(response.RequestDigest, request.RequestDigest, StringComparison.Ordinal) ? "digest-mismatch"
                        : response.Approved ? "approved" : "rejected";
                }
                catch (TimeoutException)
                {
                    await cts.CancelAsync().ConfigureAwait(false);
                    result = "timeout";
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                result = "cancelled";
            }
            catch (Exception ex)
            {
                Log.ApprovalHandlerFailed(_logger, ex);
                result = "handler-error";
            }
        }

        bool approved = result == "approved";
        if (approved)
        {
            Registry.ApproveScopes(request.ServerName, request.AdditionalScopes);
        }

        await _evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.ScopeStepUp, null, _evidence)
        {
            ServerName = request.ServerName,
            Endpoint = request.RequestUri,
            Decision = approved ? GuardDecisionKind.Allow : GuardDecisionKind.Deny,
            RuleId = approved ? "token.scope-step-up" : GuardCredentialRuleIds.ScopeStepUpDenied,
            Reason = approved
                ? "The host approved additional scopes for this server."
                : $"The server asked for scopes beyond the configured list and the step-up was not approved ({result}).",
            Authority = new AuthorityEvidence(request.CredentialLabel, request.AllowedScopes),
            Approval = new ApprovalEvidence(request.RequestDigest, result, response?.ApproverId, response?.Comment, TimeProvider.GetElapsedTime(started).TotalMilliseconds),
            Details = new JsonObject
            {
                ["statusCode"] = request.StatusCode,
                ["error"] = request.Error,
                ["allowedScopes"] = new JsonArray([.. request.AllowedScopes.Select(s => (JsonNode?)JsonValue.Create(s))]),
                ["requestedScopes"] = new JsonArray([.. request.RequestedScopes.Select(s => (JsonNode?)JsonValue.Create(s))]),
                ["additionalScopes"] = new JsonArray([.. request.AdditionalScopes.Select(s => (JsonNode?)JsonValue.Create(s))]),
            },
        }, CancellationToken.None).ConfigureAwait(false);
        return approved;
    }

    /// <summary>The authority for evidence: the credential the server's handler sent last, else the configured label and scopes.</summary>
    public AuthorityEvidence? AuthorityFor(GuardSessionInfo session)
    {
        if (Registry.LastUsedBy(session.ServerName) is { } used)
        {
            return used.AsEvidence;
        }

        return session.ConfiguredAuthority;
    }
}
