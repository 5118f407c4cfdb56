using System.Collections.Concurrent;
using McpGuard.Credentials;

namespace McpGuard;

/// <summary>
/// The credentials the host holds, each bound to the resource (audience) it was obtained for: static API keys and
/// bearer tokens the host registers, and tokens issued through the SDK's OAuth flow that the guard captures. The
/// credential binding handler (<see cref="GuardCredentialBindingHandler"/>) uses it to keep every credential on its own
/// origin and server; the token passthrough stage uses it to deny tool calls whose arguments carry a credential.
/// </summary>
/// <remarks>
/// Thread-safe. Reads are lock-free over an immutable snapshot; a change rebuilds the snapshot (and the precomputed
/// matcher), so register credentials at startup or when they rotate, not per request. Secrets never leave this type
/// except to the handlers that send them; evidence and logs see only <see cref="GuardCredential.Label"/>,
/// <see cref="GuardCredential.Scopes"/> and <see cref="GuardCredential.Fingerprint"/>.
/// </remarks>
public sealed class GuardCredentialRegistry
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, GuardCredential> _lastUsed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HashSet<string>> _approvedScopes = new(StringComparer.Ordinal);
    private volatile Snapshot _snapshot = new([], SecretMatcher.Empty);

    /// <summary>Creates an empty registry.</summary>
    /// <param name="minimumSecretLength">Shortest secret accepted, in characters (shorter values would match ordinary text).</param>
    public GuardCredentialRegistry(int minimumSecretLength = 8)
    {
        MinimumSecretLength = minimumSecretLength;
    }

    /// <summary>Shortest secret accepted, in characters.</summary>
    /// <value>Default: 8.</value>
    public int MinimumSecretLength { get; }

    /// <summary>Every registered credential (without secrets), in registration order.</summary>
    public IReadOnlyList<GuardCredential> Credentials => _snapshot.Credentials;

    /// <summary>Whether the registry holds no credential (then the passthrough stage has nothing to look for).</summary>
    public bool IsEmpty => _snapshot.Credentials.Length == 0;

    internal SecretMatcher Matcher => _snapshot.Matcher;

    /// <summary>Registers a static credential (API key, bearer token) the host holds for a resource.</summary>
    /// <param name="label">The host's label, unique in the registry, e.g. <c>crm:read-only</c>.</param>
    /// <param name="resource">The absolute <c>http</c>/<c>https</c> URI of the resource (MCP server) the credential was issued for (RFC 8707).</param>
    /// <param name="secret">The secret value, at least <see cref="MinimumSecretLength"/> characters.</param>
    /// <param name="scopes">The scopes it carries (RFC 6749 §3.3), for evidence and approvals.</param>
    /// <param name="serverName">Optionally, the one server registration whose handler may send it.</param>
    /// <returns>The registered credential.</returns>
    /// <exception cref="ArgumentException">The label is empty or already used, the resource is not an absolute HTTP(S) URI, or the secret is too short or already registered.</exception>
    public GuardCredential Add(string label, Uri resource, string secret, IEnumerable<string>? scopes = null, string? serverName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(secret);
        if (!resource.IsAbsoluteUri || !CanonicalResource.IsHttp(resource))
        {
            throw new ArgumentException("The resource must be an absolute http or https URI (RFC 8707).", nameof(resource));
        }

        if (secret.Length < MinimumSecretLength)
        {
            throw new ArgumentException($"The secret is shorter than {MinimumSecretLength} characters; such a value cannot be told apart from ordinary text.", nameof(secret));
        }

        var credential = new GuardCredential(label, resource, [.. scopes ?? []], secret, GuardCredentialSource.Static, serverName);
        lock (_gate)
        {
            if (_snapshot.Credentials.Any(c => c.Label == label))
            {
                throw new ArgumentException($"A credential labelled '{label}' is already registered.", nameof(label));
            }

            if (_snapshot.Credentials.Any(c => c.Secret == secret))
            {
                throw new ArgumentException($"The secret of '{label}' is already registered under another label.", nameof(secret));
            }

            Publish([.. _snapshot.Credentials, credential]);
        }

        return credential;
    }

    /// <summary>Removes a credential (e.g. after rotation). Returns whether it was registered.</summary>
    /// <param name="label">The credential's label.</param>
    /// <returns><see langword="true"/> when a credential was removed.</returns>
    public bool Remove(string label)
    {
        lock (_gate)
        {
            GuardCredential[] kept = [.. _snapshot.Credentials.Where(c => c.Label != label)];
            if (kept.Length == _snapshot.Credentials.Length)
            {
                return false;
            }

            Publish(kept);
            return true;
        }
    }

    /// <summary>The credential the handler of <paramref name="serverName"/> sent most recently, or <see langword="null"/>.</summary>
    /// <param name="serverName">The server's registration name.</param>
    /// <returns>The credential (never its secret), or <see langword="null"/>.</returns>
    public GuardCredential? LastUsedBy(string serverName) => _lastUsed.TryGetValue(serverName, out GuardCredential? c) ? c : null;

    /// <summary>Scopes beyond the configured list that the host approved for a server at a step-up challenge.</summary>
    /// <param name="serverName">The server's registration name.</param>
    /// <returns>The approved scopes, sorted ordinally.</returns>
    public IReadOnlyList<string> ApprovedStepUpScopes(string serverName)
    {
        if (!_approvedScopes.TryGetValue(serverName, out HashSet<string>? set))
        {
            return [];
        }

        lock (set)
        {
            return [.. set.Order(StringComparer.Ordinal)];
        }
    }

    internal GuardCredential? FindBySecret(string secret)
    {
        foreach (GuardCredential c in _snapshot.Credentials)
        {
            if (string.Equals(c.Secret, secret, StringComparison.Ordinal))
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>Binds a token seen or issued for a server. Returns the registered credential, or the existing one when the secret is already known (which may belong to another server: the caller checks).</summary>
    internal GuardCredential Bind(string serverName, Uri resource, string label, string secret, IEnumerable<string> scopes, GuardCredentialSource source)
    {
        lock (_gate)
        {
            if (FindBySecret(secret) is { } existing)
            {
                return existing;
            }

            string unique = label;
            for (int i = 2; _snapshot.Credentials.Any(c => c.Label == unique); i++)
            {
                unique = label + "#" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            var credential = new GuardCredential(unique, resource, [.. scopes], secret, source, serverName);
            Publish([.. _snapshot.Credentials, credential]);
            return credential;
        }
    }

    internal void MarkUsed(string serverName, GuardCredential credential) => _lastUsed[serverName] = credential;

    internal void ApproveScopes(string serverName, IEnumerable<string> scopes)
    {
        HashSet<string> set = _approvedScopes.GetOrAdd(serverName, _ => new HashSet<string>(StringComparer.Ordinal));
        lock (set)
        {
            set.UnionWith(scopes);
        }
    }

    private void Publish(GuardCredential[] credentials) =>
        _snapshot = new Snapshot(credentials, new SecretMatcher(credentials));

    private sealed record Snapshot(GuardCredential[] Credentials, SecretMatcher Matcher);
}
