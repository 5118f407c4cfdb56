using System.Net.Http.Headers;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Credentials;

/// <summary>Builds an engine with two registered HTTP servers and their credentials for the credential tests.</summary>
internal static class CredentialTestHost
{
    public const string TokenA = "tokA_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    public const string TokenB = "tokB_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    public const string ApiKeyA = "keyA-6a0c1f0e-77d2-4c5b-9a31-0b7f2d3e4c5a";

    public static McpGuardOptions Options(Uri resourceA, Uri? resourceB = null, params string[] scopesA)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        var a = new GuardServerOptions();
        a.Authority.CredentialLabel = "crm:read";
        a.Authority.Resource = resourceA;
        a.Authority.Scopes.AddRange(scopesA);
        options.Servers["a"] = a;
        if (resourceB is not null)
        {
            var b = new GuardServerOptions();
            b.Authority.CredentialLabel = "proxy";
            b.Authority.Resource = resourceB;
            options.Servers["b"] = b;
        }

        return options;
    }

    public static (McpGuardEngine Engine, EvidenceCollector Evidence) Build(McpGuardOptions options, Action<McpGuardEngineBuilder>? configure = null)
    {
        var evidence = new EvidenceCollector();
        var builder = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence);
        configure?.Invoke(builder);
        return (builder.Build(), evidence);
    }

    /// <summary>An HttpClient for one server: the binding handler directly above a socket handler that never follows redirects.</summary>
    public static HttpClient Client(McpGuardEngine engine, string server, DelegatingHandler? outer = null)
    {
        HttpMessageHandler handler = engine.CreateCredentialBindingHandler(server, innerHandler: new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false });
        if (outer is not null)
        {
            outer.InnerHandler = handler;
            handler = outer;
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public static HttpRequestMessage Get(Uri uri, string? bearer = null, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apiKey is not null)
        {
            request.Headers.Add("X-API-Key", apiKey);
        }

        return request;
    }
}

/// <summary>
/// A redirect follower that copies EVERY header to the next hop, whatever its origin: the worst case a binding
/// handler placed below a redirect follower must survive. (Stands in for any follower; the production follower is the
/// SSRF-safe handler's, which strips Authorization itself.)
/// </summary>
internal sealed class CopyAllHeadersRedirectFollower : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (int hop = 0; ; hop++)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode is < 300 or > 399 || response.Headers.Location is null || hop >= 5)
            {
                return response;
            }

            var next = new HttpRequestMessage(request.Method, new Uri(request.RequestUri!, response.Headers.Location));
            foreach (KeyValuePair<string, IEnumerable<string>> header in request.Headers)
            {
                next.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Dispose();
            request = next;
        }
    }
}
