namespace McpGuard.ConformanceClient;

/// <summary>How the conformance client reaches the scenario's server.</summary>
internal enum ClientMode
{
    /// <summary>The official SDK as a host would use it without McpGuard: <c>HttpClientTransport</c> with its own <c>HttpClient</c>.</summary>
    Unguarded,

    /// <summary>
    /// The same SDK client behind McpGuard: <c>GuardedClientTransport</c> around <c>HttpClientTransport</c>, all HTTP
    /// (MCP and OAuth discovery) through McpGuard's SSRF-safe handler, with only the scenario's loopback hosts allow-listed.
    /// </summary>
    Guarded,

    /// <summary>
    /// The guarded client with nothing allow-listed, as a production host would run it: the scenario's plain-HTTP
    /// loopback servers must be refused. Proves that the guarded mode really routes through McpGuard's HTTP policy.
    /// </summary>
    GuardedStrict,

    /// <summary>
    /// A deliberately broken client that proves the harness can fail: it configures no OAuth and performs none of the
    /// scenario's operations after connecting. It must fail the tool and auth scenarios.
    /// </summary>
    BrokenSkipAuth,
}
