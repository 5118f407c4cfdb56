using System.Web;
using McpGuard.Credentials;
using ModelContextProtocol.Authentication;

namespace McpGuard;

/// <summary>
/// An <see cref="ITokenCache"/> for the SDK's OAuth client (<see cref="ClientOAuthOptions.TokenCache"/>) that binds every
/// issued access and refresh token to the server and resource it was obtained for, and never hands a token bound to
/// another server back to the SDK (for example when a host shares one cache between transports).
/// </summary>
/// <remarks>Created by <see cref="McpGuardEngine.ConfigureOAuth"/>, one per server. Thread-safe if the inner cache is.</remarks>
public sealed class GuardTokenCache : ITokenCache
{
    private readonly CredentialGuard _guard;
    private readonly ITokenCache _inner;

    internal GuardTokenCache(CredentialGuard guard, ITokenCache inner, string serverName, Uri resource)
    {
        _guard = guard;
        _inner = inner;
        ServerName = serverName;
        Resource = resource;
    }

    /// <summary>The server registration this cache belongs to.</summary>
    public string ServerName { get; }

    /// <summary>The resource the tokens are bound to.</summary>
    public Uri Resource { get; }

    /// <summary>Binds the new tokens to <see cref="ServerName"/>, then stores them in the inner cache.</summary>
    /// <param name="tokens">The tokens the SDK obtained.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="McpGuardCredentialException">The access token is already bound to another server (rule <c>token.audience-mismatch</c>).</exception>
    public async ValueTask StoreTokensAsync(TokenContainer tokens, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        string label = _guard.DefaultLabel(ServerName);
        IReadOnlyList<string> scopes = tokens.Scope is { Length: > 0 } granted
            ? [.. granted.Split(' ', StringSplitOptions.RemoveEmptyEntries)]
            : _guard.AllowedScopes(ServerName);
        if (tokens.AccessToken is { Length: > 0 } access && access.Length >= _guard.Registry.MinimumSecretLength)
        {
            GuardCredential bound = _guard.Registry.Bind(ServerName, Resource, label, access, scopes, GuardCredentialSource.OAuth);
            if (bound.ServerName is { } owner && owner != ServerName)
            {
                throw await _guard.BlockAsync(ServerName, GuardCredentialRuleIds.AudienceMismatch,
                    $"The token issued for server '{ServerName}' is already bound to server '{owner}'.", null, bound).ConfigureAwait(false);
            }
        }

        if (tokens.RefreshToken is { Length: > 0 } refresh && refresh.Length >= _guard.Registry.MinimumSecretLength)
        {
            _guard.Registry.Bind(ServerName, Resource, label + ":refresh", refresh, scopes, GuardCredentialSource.OAuth);
        }

        await _inner.StoreTokensAsync(tokens, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns the inner cache's tokens unless their access token is bound to another server (then none).</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The tokens, or <see langword="null"/>.</returns>
    public async ValueTask<TokenContainer?> GetTokensAsync(CancellationToken cancellationToken)
    {
        TokenContainer? tokens = await _inner.GetTokensAsync(cancellationToken).ConfigureAwait(false);
        if (tokens?.AccessToken is { Length: > 0 } access
            && _guard.Registry.FindBySecret(access) is { ServerName: { } owner } && owner != ServerName)
        {
            return null;
        }

        return tokens;
    }
}

/// <summary>An in-memory <see cref="ITokenCache"/> (the SDK's own is internal).</summary>
internal sealed class MemoryTokenCache : ITokenCache
{
    private volatile TokenContainer? _tokens;

    public ValueTask StoreTokensAsync(TokenContainer tokens, CancellationToken cancellationToken)
    {
        _tokens = tokens;
        return default;
    }

    public ValueTask<TokenContainer?> GetTokensAsync(CancellationToken cancellationToken) => new(_tokens);
}

/// <summary>Applies the guard's resource binding and scope minimization to <see cref="ClientOAuthOptions"/>.</summary>
internal static class OAuthConfigurator
{
    public static ClientOAuthOptions Configure(CredentialGuard guard, string serverName, Uri resource, ClientOAuthOptions options)
    {
        options.TokenCache = new GuardTokenCache(guard, options.TokenCache ?? new MemoryTokenCache(), serverName, resource);
        List<string> configured = guard.Registration(serverName)?.Authority.Scopes ?? [];
        if (options.Scopes is null && configured.Count > 0)
        {
            options.Scopes = [.. configured];
        }

        ScopeSelectorDelegate? previous = options.ScopeSelector;
        options.ScopeSelector = proposed =>
        {
            IEnumerable<string>? selected = previous is null ? proposed : previous(proposed);
            if (selected is null)
            {
                return null;
            }

            IReadOnlyList<string> allowed = guard.AllowedScopes(serverName);
            string[] kept = [.. selected.Where(s => allowed.Contains(s, StringComparer.Ordinal))];
            return kept.Length == 0 ? null : kept;
        };

        string canonical = CanonicalResource.ToCanonicalString(resource);
        Func<AuthorizationCallbackContext, CancellationToken, Task<AuthorizationResult?>>? callback = options.AuthorizationCallbackHandler;
        if (callback is not null)
        {
            options.AuthorizationCallbackHandler = async (context, cancellationToken) =>
            {
                var query = HttpUtility.ParseQueryString(context.AuthorizationUri.Query);
                string? requestedResource = query["resource"];
                if (requestedResource is null || !Uri.TryCreate(requestedResource, UriKind.Absolute, out Uri? r) || CanonicalResource.ToCanonicalString(r) != canonical)
                {
                    throw await guard.BlockAsync(serverName, GuardCredentialRuleIds.ResourceMismatch,
                        $"The authorization request names resource '{requestedResource}', not server '{serverName}' ({canonical}) (RFC 8707).",
                        GuardCredentialBindingHandler.Redact(context.AuthorizationUri), null).ConfigureAwait(false);
                }

                IReadOnlyList<string> allowed = guard.AllowedScopes(serverName);
                string[] extra = [.. (query["scope"] ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(s => !allowed.Contains(s, StringComparer.Ordinal))];
                if (extra.Length > 0)
                {
                    throw await guard.BlockAsync(serverName, GuardCredentialRuleIds.ScopeStepUpDenied,
                        $"The authorization request asks for scopes beyond the configured and approved list: {string.Join(' ', extra)}.",
                        GuardCredentialBindingHandler.Redact(context.AuthorizationUri), null).ConfigureAwait(false);
                }

                return await callback(context, cancellationToken).ConfigureAwait(false);
            };
        }

        return options;
    }
}
