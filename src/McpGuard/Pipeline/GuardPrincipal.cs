namespace McpGuard;

/// <summary>
/// Who is acting through a guarded connection: the agent (a logical AI agent of the host, e.g. <c>file-agent</c>)
/// and the end user it acts for. Supplied by the host; McpGuard never derives it from server data.
/// </summary>
/// <param name="AgentId">Host-defined agent identifier used by per-agent allowlists; <see langword="null"/> for "no particular agent".</param>
/// <param name="UserId">Host-defined end-user identifier recorded in evidence; <see langword="null"/> when unknown.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record GuardPrincipal(string? AgentId, string? UserId)
{
    /// <summary>A principal with neither agent nor user.</summary>
    public static GuardPrincipal Anonymous { get; } = new(null, null);
}

/// <summary>
/// The identity a server reported in its handshake: <c>InitializeResult.serverInfo</c> (MCP 2025-11-25, "Lifecycle")
/// or <c>_meta["io.modelcontextprotocol/serverInfo"]</c> of the <c>server/discover</c> result (MCP 2026-07-28).
/// </summary>
/// <param name="Name">The server's self-reported <c>name</c>; server-controlled text.</param>
/// <param name="Version">The server's self-reported <c>version</c>; server-controlled text.</param>
/// <param name="ProtocolVersion">The negotiated protocol revision, e.g. <c>2025-11-25</c>.</param>
/// <param name="Instructions">The server's <c>instructions</c>, if any; server-controlled text that hosts often add to the model's context.</param>
/// <remarks>A self-reported identity is a claim, not an authentication: evidence records it as not verified.</remarks>
public sealed record ServerIdentity(string? Name, string? Version, string? ProtocolVersion, string? Instructions);
