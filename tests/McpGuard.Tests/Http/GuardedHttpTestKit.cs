using System.Net;
using McpGuard.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace McpGuard.Tests.Http;

/// <summary>Shared helpers for the HTTP guard tests: guarded clients over real sockets, canned server responses.</summary>
internal static class GuardedHttpTestKit
{
    /// <summary>Generous bound for anything that waits on a real socket on a slow, shared machine (never asserted on).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A copy of <paramref name="certificate"/> (with its private key) loaded through PKCS#12, so Kestrel and
    /// SslStream can use the key on every platform; the original stays with the caller.</summary>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2 LoadableCopy(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        byte[] pkcs12 = certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12);
#if NET9_0_OR_GREATER
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pkcs12, null);
#else
        return new System.Security.Cryptography.X509Certificates.X509Certificate2(pkcs12);
#endif
    }

    public static HttpClient Client(
        GuardHttpOptions options,
        Uri serverUri,
        Func<string, CancellationToken, ValueTask<IPAddress[]>>? resolver = null,
        EvidenceCollector? evidence = null,
        TimeProvider? time = null)
    {
        var settings = new GuardHttpHandlerSettings { HostResolver = resolver, ServerName = "remote", TimeProvider = time };
        if (evidence is not null)
        {
            settings.EvidenceSinks.Add(evidence);
        }

        return new HttpClient(McpGuardHttp.CreateHandler(options, serverUri, settings), disposeHandler: true) { Timeout = Patience };
    }

    /// <summary>A resolver that answers every name with the given addresses (a test stand-in for DNS).</summary>
    public static Func<string, CancellationToken, ValueTask<IPAddress[]>> Resolve(params string[] addresses) =>
        (_, _) => ValueTask.FromResult(addresses.Select(IPAddress.Parse).ToArray());

    public static GuardHttpOptions Allow(params string[] hosts)
    {
        var options = new GuardHttpOptions();
        options.AllowedHosts.AddRange(hosts);
        return options;
    }

    public static Task Ok(HttpContext context) => context.Response.WriteAsync("ok");

    public static Task JsonBody(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }

    public static Task Redirect(HttpContext context, string location, int status = StatusCodes.Status302Found)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.Location = location;
        return Task.CompletedTask;
    }

    public static async Task<McpGuardHttpPolicyException> RefusedAsync(Func<Task> action) =>
        await Assert.ThrowsAsync<McpGuardHttpPolicyException>(action);
}
