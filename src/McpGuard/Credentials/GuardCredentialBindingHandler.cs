using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using McpGuard.Credentials;

namespace McpGuard;

/// <summary>
/// Keeps credentials on the origin and server they are bound to. Put one instance per server in the
/// <see cref="HttpClient"/> given to the SDK's <c>HttpClientTransport</c> (create it with
/// <see cref="McpGuardEngine.CreateCredentialBindingHandler"/>); never share an instance between servers.
/// </summary>
/// <remarks>
/// <para>For every request it checks the <c>Authorization</c> header, every other header value and the query string
/// against the <see cref="GuardCredentialRegistry"/> (exact value and common encodings). A credential goes only to the
/// origin of its resource (RFC 6454 origin of the RFC 8707 resource), and only from the handler of its own server: a
/// token for server A on a request of server B's handler is refused even on the same origin. A bearer token the
/// registry does not know is bound to this server when it goes to the server's own origin
/// (<see cref="CredentialOptions.BindObservedBearerTokens"/>) and refused anywhere else. Refusals throw
/// <see cref="McpGuardCredentialException"/> (rule <c>token.audience-mismatch</c>) before anything is sent, and are
/// recorded as evidence with the credential's label and fingerprint, never the secret.</para>
/// <para>Redirects: the handler must see every hop. Place it inside any redirect follower (between the follower and
/// the socket handler); an inner <see cref="SocketsHttpHandler"/> or <see cref="HttpClientHandler"/> that follows
/// redirects by itself is refused at the first request (rule <c>token.unchecked-redirects</c>).</para>
/// <para>Scope minimization: a 401/403 <c>WWW-Authenticate: Bearer</c> challenge that asks for scopes beyond the server's
/// configured list (<see cref="GuardAuthorityOptions.Scopes"/>) plus earlier approved step-ups goes to the host's
/// <see cref="IScopeStepUpApprovalHandler"/> before the SDK's OAuth provider sees it; without approval the request fails
/// with rule <c>token.scope-step-up-denied</c> (RFC 6750 §3.1; MCP authorization specification, "Scope Challenge Handling").</para>
/// <para>Thread-safe: concurrent requests are fine; step-up prompts are asked one at a time.</para>
/// </remarks>
public sealed class GuardCredentialBindingHandler : DelegatingHandler
{
    private readonly CredentialGuard _guard;
    private readonly SemaphoreSlim _stepUpGate = new(1, 1);
    private int _innerChecked;

    internal GuardCredentialBindingHandler(CredentialGuard guard, string serverName, Uri resource)
    {
        _guard = guard;
        ServerName = serverName;
        Resource = resource;
        ResourceCanonical = CanonicalResource.ToCanonicalString(resource);
        Origin = CanonicalResource.Origin(resource);
    }

    /// <summary>The server registration this handler belongs to.</summary>
    public string ServerName { get; }

    /// <summary>The server's resource URI (RFC 8707).</summary>
    public Uri Resource { get; }

    /// <summary>The canonical form of <see cref="Resource"/>.</summary>
    public string ResourceCanonical { get; }

    /// <summary>The origin of <see cref="Resource"/>.</summary>
    public string Origin { get; }

    /// <summary>Checks the request's credentials, sends it, and screens scope challenges in the response.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The response.</returns>
    /// <exception cref="McpGuardCredentialException">A credential would leave its binding, an unknown bearer token would go to another origin, the inner handler follows redirects by itself, or a scope step-up was not approved.</exception>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Uri uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        if (Volatile.Read(ref _innerChecked) == 0)
        {
            await CheckInnerHandlerAsync(uri).ConfigureAwait(false);
        }

        string origin = uri.IsAbsoluteUri ? CanonicalResource.Origin(uri) : Origin;
        GuardCredential? used = null;

        if (request.Headers.Authorization is { Parameter: { Length: > 0 } parameter } auth
            && string.Equals(auth.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            string token = parameter.Trim();
            GuardCredential? credential = _guard.Registry.FindBySecret(token);
            if (credential is null)
            {
                if (!string.Equals(origin, Origin, StringComparison.Ordinal) || !_guard.Options.BindObservedBearerTokens || token.Length < _guard.Registry.MinimumSecretLength)
                {
                    throw await _guard.BlockAsync(ServerName, GuardCredentialRuleIds.AudienceMismatch,
                        string.Equals(origin, Origin, StringComparison.Ordinal)
                            ? $"A bearer token the host did not register was about to be sent to server '{ServerName}' ({Origin}), and binding observed tokens is off or the token is too short."
                            : $"A bearer token the host did not bind was about to be sent to {origin}, which is not the origin of server '{ServerName}' ({Origin}).",
                        Redact(uri), null, new JsonObject { ["credentialFingerprint"] = GuardCredential.ComputeFingerprint(token), ["origin"] = origin }).ConfigureAwait(false);
                }

                credential = _guard.Registry.Bind(ServerName, Resource, _guard.DefaultLabel(ServerName), token, _guard.Registration(ServerName)?.Authority.Scopes ?? [], GuardCredentialSource.Observed);
            }

            await CheckAsync(credential, origin, uri).ConfigureAwait(false);
            used = credential;
        }

        if (!_guard.Registry.IsEmpty)
        {
            SecretMatcher matcher = _guard.Registry.Matcher;
            foreach (KeyValuePair<string, HeaderStringValues> header in request.Headers.NonValidated)
            {
                foreach (string value in header.Value)
                {
                    // Every credential in the value, not only the first: one allowed here must not carry another along.
                    foreach (SecretMatch match in matcher.FindAll(value))
                    {
                        await CheckAsync(match.Credential, origin, uri).ConfigureAwait(false);
                        used ??= match.Credential;
                    }
                }
            }

            if (uri.IsAbsoluteUri && uri.Query.Length > 1)
            {
                foreach (SecretMatch inQuery in matcher.FindAll(uri.Query))
                {
                    await CheckAsync(inQuery.Credential, origin, uri).ConfigureAwait(false);
                    used ??= inQuery.Credential;
                }
            }
        }

        if (used is not null)
        {
            _guard.Registry.MarkUsed(ServerName, used);
        }

        HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            try
            {
                await ScreenScopeChallengeAsync(response, uri, used, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        return response;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stepUpGate.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask CheckAsync(GuardCredential credential, string origin, Uri uri)
    {
        string? reason = null;
        if (!string.Equals(credential.Origin, origin, StringComparison.Ordinal))
        {
            reason = $"The credential '{credential.Label}' is bound to {credential.Origin} and was about to be sent to {origin}.";
        }
        else if (credential.ServerName is { } owner && !string.Equals(owner, ServerName, StringComparison.Ordinal))
        {
            reason = $"The credential '{credential.Label}' belongs to server '{owner}' and was about to be sent by server '{ServerName}'.";
        }
        else if (string.Equals(credential.Origin, Origin, StringComparison.Ordinal) && !string.Equals(credential.ResourceCanonical, ResourceCanonical, StringComparison.Ordinal))
        {
            reason = $"The credential '{credential.Label}' is bound to resource {credential.ResourceCanonical}, not to server '{ServerName}' ({ResourceCanonical}).";
        }

        if (reason is not null)
        {
            throw await _guard.BlockAsync(ServerName, GuardCredentialRuleIds.AudienceMismatch, reason, Redact(uri), credential, new JsonObject { ["origin"] = origin }).ConfigureAwait(false);
        }
    }

    private async ValueTask CheckInnerHandlerAsync(Uri uri)
    {
        HttpMessageHandler? inner = InnerHandler;
        while (inner is DelegatingHandler d)
        {
            inner = d.InnerHandler;
        }

        bool autoRedirect = inner switch
        {
            SocketsHttpHandler s => s.AllowAutoRedirect,
            HttpClientHandler h => h.AllowAutoRedirect,
            _ => false,
        };
        if (autoRedirect)
        {
            throw await _guard.BlockAsync(ServerName, GuardCredentialRuleIds.UncheckedRedirects,
                "The inner HTTP handler follows redirects by itself, so the guard could not check each hop; set AllowAutoRedirect = false.", Redact(uri), null).ConfigureAwait(false);
        }

        Volatile.Write(ref _innerChecked, 1);
    }

    private async ValueTask ScreenScopeChallengeAsync(HttpResponseMessage response, Uri uri, GuardCredential? used, CancellationToken cancellationToken)
    {
        foreach (AuthenticationHeaderValue challenge in response.Headers.WwwAuthenticate)
        {
            if (!string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || challenge.Parameter is not { Length: > 0 } p)
            {
                continue;
            }

            Dictionary<string, string> parameters = WwwAuthenticateParser.Parse(p);
            parameters.TryGetValue("error", out string? error);
            if (response.StatusCode == HttpStatusCode.Forbidden && !string.Equals(error, "insufficient_scope", StringComparison.OrdinalIgnoreCase))
            {
                continue; // The SDK does not step up on other 403s.
            }

            if (!parameters.TryGetValue("scope", out string? scope))
            {
                continue;
            }

            string[] requested = [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            await _stepUpGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                IReadOnlyList<string> allowed = _guard.AllowedScopes(ServerName);
                if (requested.All(s => allowed.Contains(s, StringComparer.Ordinal)))
                {
                    continue;
                }

                parameters.TryGetValue("error_description", out string? description);
                var request = new ScopeStepUpRequest(ServerName, ResourceCanonical, Redact(uri), (int)response.StatusCode, error, description, allowed, requested,
                    used?.Label ?? _guard.Registration(ServerName)?.Authority.CredentialLabel, _guard.TimeProvider.GetUtcNow());
                if (!await _guard.ApproveStepUpAsync(request, cancellationToken).ConfigureAwait(false))
                {
                    throw new McpGuardCredentialException(
                        GuardDecision.Deny($"Server '{ServerName}' asked for scopes beyond the configured list ({string.Join(' ', request.AdditionalScopes)}) and the step-up was not approved.", GuardCredentialRuleIds.ScopeStepUpDenied),
                        ServerName,
                        Redact(uri));
                }
            }
            finally
            {
                _stepUpGate.Release();
            }
        }
    }

    internal static string Redact(Uri uri) =>
        uri.IsAbsoluteUri ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : uri.OriginalString.Split('?')[0];
}

/// <summary>Parses the auth-param list of a <c>WWW-Authenticate</c> challenge (RFC 9110 §11.2): <c>name=token</c> or <c>name="quoted string"</c>, comma-separated.</summary>
internal static class WwwAuthenticateParser
{
    public static Dictionary<string, string> Parse(string parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < parameters.Length)
        {
            while (i < parameters.Length && (parameters[i] == ',' || char.IsWhiteSpace(parameters[i])))
            {
                i++;
            }

            int nameStart = i;
            while (i < parameters.Length && parameters[i] != '=' && parameters[i] != ',' && !char.IsWhiteSpace(parameters[i]))
            {
                i++;
            }

            string name = parameters[nameStart..i];
            while (i < parameters.Length && char.IsWhiteSpace(parameters[i]))
            {
                i++;
            }

            if (i >= parameters.Length || parameters[i] != '=')
            {
                continue;
            }

            i++;
            while (i < parameters.Length && char.IsWhiteSpace(parameters[i]))
            {
                i++;
            }

            var value = new System.Text.StringBuilder();
            if (i < parameters.Length && parameters[i] == '"')
            {
                i++;
                while (i < parameters.Length && parameters[i] != '"')
                {
                    if (parameters[i] == '\\' && i + 1 < parameters.Length)
                    {
                        i++;
                    }

                    value.Append(parameters[i]);
                    i++;
                }

                i++;
            }
            else
            {
                while (i < parameters.Length && parameters[i] != ',')
                {
                    value.Append(parameters[i]);
                    i++;
                }
            }

            if (name.Length > 0)
            {
                result.TryAdd(name, value.ToString().Trim());
            }
        }

        return result;
    }
}
