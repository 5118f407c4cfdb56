using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Http;

/// <summary>
/// The OAuth discovery policy. Recognizes protected resource metadata fetches (RFC 9728: <c>/.well-known/oauth-protected-resource</c>
/// and the <c>resource_metadata</c> URL of a 401 or 403 (step-up, <c>insufficient_scope</c>) <c>WWW-Authenticate: Bearer</c> challenge) and authorization server metadata
/// fetches (RFC 8414 <c>/.well-known/oauth-authorization-server</c>, OpenID Connect <c>/.well-known/openid-configuration</c>).
/// For them it enforces the origin policy before anything is sent, reads the document with size and time limits, and checks
/// that protected resource metadata names the MCP server's canonical URI as its <c>resource</c> (RFC 9728 §3.3 and §7.3,
/// RFC 8707, MCP authorization spec "Canonical Server URI"). A 401 or 403 whose <c>resource_metadata</c> points at a foreign origin
/// fails right away, so the pointer is never followed.
/// </summary>
internal sealed class OAuthDiscoveryPolicyHandler : DelegatingHandler
{
    private const string ProtectedResourcePath = "/.well-known/oauth-protected-resource";
    private const string AuthorizationServerPath = "/.well-known/oauth-authorization-server";
    private const string OpenIdConfigurationPath = "/.well-known/openid-configuration";

    private readonly HttpGuardPolicy _policy;
    private readonly HttpGuardReporter _reporter;
    private readonly ConcurrentDictionary<string, byte> _announcedMetadataUrls = new(StringComparer.Ordinal);

    public OAuthDiscoveryPolicyHandler(HttpGuardPolicy policy, HttpGuardReporter reporter)
    {
        _policy = policy;
        _reporter = reporter;
    }

    private enum MetadataKind
    {
        None,
        ProtectedResource,
        AuthorizationServer,
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Uri uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        MetadataKind kind = Classify(uri);
        if (kind == MetadataKind.None)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                await CheckChallengeAsync(response).ConfigureAwait(false);
            }

            return response;
        }

        if (!uri.IsAbsoluteUri || !_policy.IsMetadataOriginAllowed(uri))
        {
            throw await _reporter.BlockAsync(
                GuardHttpRuleIds.MetadataOrigin,
                "OAuth metadata must come from the MCP server's origin or an allow-listed metadata host.",
                uri).ConfigureAwait(false);
        }

        return await FetchMetadataAsync(request, uri, kind, cancellationToken).ConfigureAwait(false);
    }

    private MetadataKind Classify(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            return MetadataKind.None;
        }

        string path = uri.AbsolutePath;
        if (path.StartsWith(ProtectedResourcePath, StringComparison.OrdinalIgnoreCase)
            || _announcedMetadataUrls.ContainsKey(McpGuardHttpPolicyException.Redact(uri)))
        {
            return MetadataKind.ProtectedResource;
        }

        return path.Contains(AuthorizationServerPath, StringComparison.OrdinalIgnoreCase) || path.Contains(OpenIdConfigurationPath, StringComparison.OrdinalIgnoreCase)
            ? MetadataKind.AuthorizationServer
            : MetadataKind.None;
    }

    private async ValueTask CheckChallengeAsync(HttpResponseMessage response)
    {
        foreach (AuthenticationHeaderValue challenge in response.Headers.WwwAuthenticate)
        {
            if (!string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) || challenge.Parameter is not { Length: > 0 } parameters)
            {
                continue;
            }

            string? pointer = ReadParameter(parameters, "resource_metadata");
            if (pointer is null)
            {
                continue;
            }

            if (!Uri.TryCreate(pointer, UriKind.Absolute, out Uri? target) || target.Scheme is not ("https" or "http"))
            {
                response.Dispose();
                throw await _reporter.BlockAsync(GuardHttpRuleIds.MetadataInvalid, "The resource_metadata pointer is not an absolute http(s) URL.", response.RequestMessage?.RequestUri).ConfigureAwait(false);
            }

            if (!_policy.IsMetadataOriginAllowed(target))
            {
                response.Dispose();
                throw await _reporter.BlockAsync(
                    GuardHttpRuleIds.MetadataOrigin,
                    "The server's resource_metadata pointer leads to another origin that is not an allow-listed metadata host.",
                    target,
                    extra: new JsonObject { ["source"] = "WWW-Authenticate resource_metadata" }).ConfigureAwait(false);
            }

            _announcedMetadataUrls.TryAdd(McpGuardHttpPolicyException.Redact(target), 0);
        }
    }

    /// <summary>Reads one auth-param (RFC 9110 §11.2) value, quoted or token, by name (case-insensitive).</summary>
    internal static string? ReadParameter(string parameters, string name)
    {
        int i = 0;
        while (i < parameters.Length)
        {
            while (i < parameters.Length && (parameters[i] is ' ' or ',' or '\t'))
            {
                i++;
            }

            int keyStart = i;
            while (i < parameters.Length && parameters[i] is not ('=' or ',' or ' '))
            {
                i++;
            }

            string key = parameters[keyStart..i];
            while (i < parameters.Length && parameters[i] == ' ')
            {
                i++;
            }

            if (i >= parameters.Length || parameters[i] != '=')
            {
                continue;
            }

            i++;
            while (i < parameters.Length && parameters[i] == ' ')
            {
                i++;
            }

            string value;
            if (i < parameters.Length && parameters[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                while (i < parameters.Length && parameters[i] != '"')
                {
                    if (parameters[i] == '\\' && i + 1 < parameters.Length)
                    {
                        i++;
                    }

                    sb.Append(parameters[i++]);
                }

                i++;
                value = sb.ToString();
            }
            else
            {
                int valueStart = i;
                while (i < parameters.Length && parameters[i] != ',')
                {
                    i++;
                }

                value = parameters[valueStart..i].Trim();
            }

            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private async Task<HttpResponseMessage> FetchMetadataAsync(HttpRequestMessage request, Uri uri, MetadataKind kind, CancellationToken cancellationToken)
    {
        int max = _policy.Options.MaxMetadataBytes;
        using var timeout = new CancellationTokenSource(_policy.Options.MetadataTimeout, _reporter.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        HttpResponseMessage? response = null;
        byte[] body;
        try
        {
            response = await base.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (response.Content.Headers.ContentLength > max)
            {
                response.Dispose();
                throw await TooLargeAsync(uri).ConfigureAwait(false);
            }

            Stream stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                byte[] buffer = new byte[Math.Min(max + 1, 16 * 1024)];
                using var collected = new MemoryStream();
                int read;
                while ((read = await stream.ReadAsync(buffer, linked.Token).ConfigureAwait(false)) > 0)
                {
                    if (collected.Length + read > max)
                    {
                        response.Dispose();
                        throw await TooLargeAsync(uri).ConfigureAwait(false);
                    }

                    collected.Write(buffer, 0, read);
                }

                body = collected.ToArray();
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            throw await _reporter.BlockAsync(GuardHttpRuleIds.ResponseTimeout, $"The metadata document took longer than {_policy.Options.MetadataTimeout}.", uri).ConfigureAwait(false);
        }

        if (kind == MetadataKind.ProtectedResource && response.IsSuccessStatusCode)
        {
            await CheckProtectedResourceAsync(uri, body, response).ConfigureAwait(false);
        }

        string kindName = kind == MetadataKind.ProtectedResource ? "protected-resource" : "authorization-server";
        string redacted = McpGuardHttpPolicyException.Redact(uri);
        HttpLog.MetadataChecked(_reporter.Logger, kindName, _reporter.ServerName, redacted, body.Length);

        var content = new ByteArrayContent(body);
        foreach (KeyValuePair<string, IEnumerable<string>> header in response.Content.Headers)
        {
            content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content.Dispose();
        response.Content = content;
        return response;
    }

    private ValueTask<McpGuardHttpPolicyException> TooLargeAsync(Uri uri) =>
        _reporter.BlockAsync(GuardHttpRuleIds.ResponseTooLarge, $"The metadata document is larger than {_policy.Options.MaxMetadataBytes} bytes.", uri);

    private async ValueTask CheckProtectedResourceAsync(Uri uri, byte[] body, HttpResponseMessage response)
    {
        string? resource = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("resource", out JsonElement value)
                && value.ValueKind == JsonValueKind.String)
            {
                resource = value.GetString();
            }
        }
        catch (JsonException)
        {
        }

        if (resource is null)
        {
            response.Dispose();
            throw await _reporter.BlockAsync(GuardHttpRuleIds.MetadataInvalid, "The protected resource metadata is not a JSON object with a string 'resource'.", uri).ConfigureAwait(false);
        }

        bool matches = Uri.TryCreate(resource, UriKind.Absolute, out Uri? resourceUri)
            && resourceUri.Fragment.Length == 0
            && HttpGuardPolicy.CanonicalUri(resourceUri, includePath: true) is string canonical
            && (string.Equals(canonical, _policy.ServerCanonical, StringComparison.Ordinal) || string.Equals(canonical, _policy.ServerOriginCanonical, StringComparison.Ordinal));
        if (!matches)
        {
            response.Dispose();
            throw await _reporter.BlockAsync(
                GuardHttpRuleIds.ResourceMismatch,
                "The protected resource metadata names another resource than the MCP server's canonical URI.",
                uri,
                extra: new JsonObject { ["expectedResource"] = _policy.ServerCanonical, ["metadataResource"] = Truncate(resource, 512) }).ConfigureAwait(false);
        }
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
