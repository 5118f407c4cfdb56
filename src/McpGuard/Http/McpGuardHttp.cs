using System.Net;
using McpGuard.Evidence;
using McpGuard.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace McpGuard;

/// <summary>
/// Entry points of the SSRF-safe HTTP handler for MCP over HTTP and OAuth discovery. Give the result to the SDK's
/// <c>HttpClientTransport</c>: <c>new HttpClientTransport(transportOptions, McpGuardHttp.CreateHttpClient(options, endpoint), ownsHttpClient: true)</c>,
/// or let <see cref="McpGuardEngine.CreateHttpTransport"/> do it with evidence wired.
/// </summary>
/// <remarks>See <see cref="GuardHttpOptions"/> for the policy and <see cref="GuardHttpHandlerSettings"/> for the handler order. Thread-safe.</remarks>
public static class McpGuardHttp
{
    /// <summary>Creates the guarded handler chain for one MCP server.</summary>
    /// <param name="options">The policy; validated here.</param>
    /// <param name="serverUri">The MCP server's URL: the origin metadata may come from, and the canonical URI protected resource metadata must name.</param>
    /// <param name="settings">Run-time hooks; <see langword="null"/> for none.</param>
    /// <returns>The outermost handler; dispose it (or the <see cref="HttpClient"/> that owns it) to close connections.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="serverUri"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="serverUri"/> is not an absolute http(s) URL, or
    /// <see cref="GuardHttpHandlerSettings.Tls"/> sets a <c>TargetHost</c>.</exception>
    /// <exception cref="OptionsValidationException"><paramref name="options"/> is invalid.</exception>
    public static HttpMessageHandler CreateHandler(GuardHttpOptions options, Uri serverUri, GuardHttpHandlerSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serverUri);
        settings ??= new GuardHttpHandlerSettings();
        TimeProvider time = settings.TimeProvider ?? TimeProvider.System;
        ILoggerFactory loggers = settings.LoggerFactory ?? NullLoggerFactory.Instance;
        var recorder = new EvidenceRecorder([.. settings.EvidenceSinks], new EvidenceOptions { LogEvents = false }, loggers.CreateLogger("McpGuard.Evidence"), time);
        return CreateHandlerCore(options, serverUri, settings, recorder, loggers, time, out _);
    }

    /// <summary>Creates an <see cref="HttpClient"/> over <see cref="CreateHandler"/> that owns the handler.</summary>
    /// <param name="options">The policy; validated here.</param>
    /// <param name="serverUri">The MCP server's URL.</param>
    /// <param name="settings">Run-time hooks; <see langword="null"/> for none.</param>
    /// <returns>The client (default <see cref="HttpClient.Timeout"/>, as the SDK's own client).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="serverUri"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="serverUri"/> is not an absolute http(s) URL, or
    /// <see cref="GuardHttpHandlerSettings.Tls"/> sets a <c>TargetHost</c>.</exception>
    /// <exception cref="OptionsValidationException"><paramref name="options"/> is invalid.</exception>
    public static HttpClient CreateHttpClient(GuardHttpOptions options, Uri serverUri, GuardHttpHandlerSettings? settings = null) =>
        new(CreateHandler(options, serverUri, settings), disposeHandler: true);

    /// <summary>Classifies an address for the SSRF policy; IPv6 forms that embed IPv4 are classified by the embedded address.</summary>
    /// <param name="address">Any IPv4 or IPv6 address.</param>
    /// <returns>The class; only <see cref="GuardAddressClass.Public"/> is allowed without an allow-list entry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="address"/> is <see langword="null"/>.</exception>
    public static GuardAddressClass ClassifyAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return AddressClassifier.Classify(address);
    }

    internal static HttpMessageHandler CreateHandlerCore(
        GuardHttpOptions options, Uri serverUri, GuardHttpHandlerSettings settings, EvidenceRecorder? recorder, ILoggerFactory loggers, TimeProvider time, out HttpGuardReporter reporter)
    {
        if (!serverUri.IsAbsoluteUri || serverUri.Scheme is not ("https" or "http"))
        {
            throw new ArgumentException("The MCP server URL must be an absolute http(s) URL.", nameof(serverUri));
        }

        if (!string.IsNullOrEmpty(settings.Tls?.TargetHost))
        {
            throw new ArgumentException("GuardHttpHandlerSettings.Tls.TargetHost must be unset: each connection is checked against the name of the host it connects to.", nameof(settings));
        }

        var failures = new List<string>();
        GuardHttpOptions.Validate(failures, "Http", options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(GuardHttpOptions), failures);
        }

        var policy = new HttpGuardPolicy(options, serverUri);
        reporter = new HttpGuardReporter(recorder, loggers.CreateLogger("McpGuard.Http"), settings.ServerName, McpGuardHttpPolicyException.Redact(serverUri), time);
        var connector = new GuardedConnector(policy, reporter, settings.HostResolver);
        HttpMessageHandler inner = Stack(settings.PerHopHandlers, connector.CreateSocketsHandler(settings.Tls));
        inner = Stack(settings.AdditionalHandlers, new GuardRedirectHandler(policy, reporter) { InnerHandler = inner });
        return new OAuthDiscoveryPolicyHandler(policy, reporter) { InnerHandler = inner };
    }

    /// <summary>Puts <paramref name="handlers"/> above <paramref name="inner"/>, the first in the list outermost.</summary>
    private static HttpMessageHandler Stack(IList<DelegatingHandler> handlers, HttpMessageHandler inner)
    {
        for (int i = handlers.Count - 1; i >= 0; i--)
        {
            handlers[i].InnerHandler = inner;
            inner = handlers[i];
        }

        return inner;
    }
}
