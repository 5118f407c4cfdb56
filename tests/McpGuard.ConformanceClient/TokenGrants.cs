using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Authentication;

namespace McpGuard.ConformanceClient;

/// <summary>
/// Grants that the SDK's <c>ClientOAuthProvider</c> does not run itself: the client credentials grant (with
/// <c>client_secret_basic</c> or <c>private_key_jwt</c>, SEP-1046, RFC 7523) and Cross-Application Access (SEP-990,
/// through the SDK's <see cref="IdentityAssertionGrantProvider"/>). Discovery follows RFC 9728 and RFC 8414.
/// </summary>
/// <remarks>
/// Every request goes through the <see cref="HttpClient"/> the caller passes: the guarded mode passes McpGuard's
/// SSRF-safe client, so this discovery is held to the same policy as the SDK's own.
/// </remarks>
internal static class TokenGrants
{
    private const string JwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static async Task<string> ClientCredentialsAsync(HttpClient http, Uri resource, ScenarioContext context, bool privateKeyJwt, CancellationToken cancellationToken)
    {
        Discovery discovery = await DiscoverAsync(http, resource, cancellationToken);
        string clientId = context.Require("client_id");
        var form = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["grant_type"] = "client_credentials",
            ["resource"] = discovery.Resource,
        };
        if (discovery.Scopes.Count > 0)
        {
            form["scope"] = string.Join(' ', discovery.Scopes);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, discovery.TokenEndpoint);
        if (privateKeyJwt)
        {
            string algorithm = context.Get("signing_algorithm") ?? "ES256";
            if (algorithm != "ES256")
            {
                throw new NotSupportedException($"Client assertion algorithm '{algorithm}' is not supported; only ES256.");
            }

            form["client_assertion_type"] = JwtBearerAssertionType;
            form["client_assertion"] = SignEs256Assertion(clientId, discovery.Issuer, context.Require("private_key_pem"));
        }
        else
        {
            // client_secret_basic: form-urlencode both parts before base64 (RFC 6749 §2.3.1).
            string pair = Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(context.Require("client_secret"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }

        request.Content = new FormUrlEncodedContent(form);
        using HttpResponseMessage response = await http.SendAsync(request, cancellationToken);
        return await ReadAccessTokenAsync(response, cancellationToken);
    }

    public static async Task<string> CrossAppAccessAsync(HttpClient http, Uri resource, ScenarioContext context, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        Discovery discovery = await DiscoverAsync(http, resource, cancellationToken);
        string idToken = context.Require("idp_id_token");
        var provider = new IdentityAssertionGrantProvider(
            new IdentityAssertionGrantProviderOptions
            {
                ClientId = context.Require("client_id"),
                ClientSecret = context.Require("client_secret"),
                TokenEndpointAuthMethod = "client_secret_basic",
                IdpClientId = context.Require("idp_client_id"),
                IdpTokenEndpoint = context.Require("idp_token_endpoint"),
                IdTokenCallback = (_, _) => Task.FromResult(idToken),
            },
            http,
            loggerFactory);
        TokenContainer tokens = await provider.GetAccessTokenAsync(resource, new Uri(discovery.Issuer), cancellationToken);
        return tokens.AccessToken;
    }

    private static async Task<Discovery> DiscoverAsync(HttpClient http, Uri resource, CancellationToken cancellationToken)
    {
        // RFC 9728 §3.1: path-inserted well-known URI first, then the root one.
        string origin = resource.GetLeftPart(UriPartial.Authority);
        string path = resource.AbsolutePath.Trim('/');
        var prmCandidates = new List<Uri>();
        if (path.Length > 0)
        {
            prmCandidates.Add(new Uri($"{origin}/.well-known/oauth-protected-resource/{path}"));
        }

        prmCandidates.Add(new Uri($"{origin}/.well-known/oauth-protected-resource"));
        JsonElement prm = await FirstJsonAsync(http, prmCandidates, cancellationToken)
            ?? throw new InvalidOperationException("No protected resource metadata was found.");
        if (!prm.TryGetProperty("authorization_servers", out JsonElement servers) || servers.ValueKind != JsonValueKind.Array
            || servers.GetArrayLength() == 0 || servers[0].GetString() is not { Length: > 0 } authorizationServer)
        {
            throw new InvalidOperationException("The protected resource metadata names no authorization server.");
        }

        string resourceId = prm.TryGetProperty("resource", out JsonElement r) && r.GetString() is { Length: > 0 } rid ? rid : resource.ToString();
        var scopes = new List<string>();
        if (prm.TryGetProperty("scopes_supported", out JsonElement supported) && supported.ValueKind == JsonValueKind.Array)
        {
            scopes.AddRange(supported.EnumerateArray().Select(s => s.GetString()).OfType<string>().Where(s => s.Length > 0));
        }

        // RFC 8414 §3.1 and OpenID Connect Discovery: insert the well-known segment before the issuer's path.
        var asUri = new Uri(authorizationServer);
        string asOrigin = asUri.GetLeftPart(UriPartial.Authority);
        string asPath = asUri.AbsolutePath.Trim('/');
        Uri[] asCandidates = asPath.Length == 0
            ? [new($"{asOrigin}/.well-known/oauth-authorization-server"), new($"{asOrigin}/.well-known/openid-configuration")]
            : [new($"{asOrigin}/.well-known/oauth-authorization-server/{asPath}"), new($"{asOrigin}/.well-known/openid-configuration/{asPath}"), new($"{asOrigin}/{asPath}/.well-known/openid-configuration")];
        JsonElement metadata = await FirstJsonAsync(http, asCandidates, cancellationToken)
            ?? throw new InvalidOperationException("No authorization server metadata was found.");
        if (!metadata.TryGetProperty("token_endpoint", out JsonElement tokenEndpoint) || tokenEndpoint.GetString() is not { Length: > 0 } token)
        {
            throw new InvalidOperationException("The authorization server metadata has no token_endpoint.");
        }

        string issuer = metadata.TryGetProperty("issuer", out JsonElement iss) && iss.GetString() is { Length: > 0 } i ? i : authorizationServer;
        return new Discovery(resourceId, issuer, new Uri(token), scopes);
    }

    private static async Task<JsonElement?> FirstJsonAsync(HttpClient http, IEnumerable<Uri> candidates, CancellationToken cancellationToken)
    {
        foreach (Uri candidate in candidates)
        {
            using HttpResponseMessage response = await http.GetAsync(candidate, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                continue;
            }

            await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using JsonDocument document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            return document.RootElement.Clone();
        }

        return null;
    }

    private static async Task<string> ReadAccessTokenAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The token endpoint answered {(int)response.StatusCode}.");
        }

        using JsonDocument document = JsonDocument.Parse(body);
        return document.RootElement.TryGetProperty("access_token", out JsonElement token) && token.GetString() is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("The token response has no access_token.");
    }

    private static string SignEs256Assertion(string clientId, string audience, string privateKeyPem)
    {
        // RFC 7523 §3: iss = sub = client_id, aud = the authorization server, short expiry, unique jti.
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Base64Url("""{"alg":"ES256","typ":"JWT"}"""u8);
        using var claims = new MemoryStream();
        using (var writer = new Utf8JsonWriter(claims))
        {
            writer.WriteStartObject();
            writer.WriteString("iss", clientId);
            writer.WriteString("sub", clientId);
            writer.WriteString("aud", audience);
            writer.WriteNumber("iat", now);
            writer.WriteNumber("exp", now + 300);
            writer.WriteString("jti", Guid.NewGuid().ToString("N"));
            writer.WriteEndObject();
        }

        string signingInput = header + "." + Base64Url(claims.ToArray());
        using var key = ECDsa.Create();
        key.ImportFromPem(privateKeyPem);
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed record Discovery(string Resource, string Issuer, Uri TokenEndpoint, IReadOnlyList<string> Scopes);
}
