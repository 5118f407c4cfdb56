using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard;

/// <summary>
/// An <see cref="IClientTransport"/> decorator that puts McpGuard between an <see cref="McpClient"/> and any transport
/// (stdio, Streamable HTTP, streams). Every message of the session passes through the guard, whichever API the host
/// uses: <c>CallToolAsync</c>, an <c>McpClientTool</c> inside an <c>IChatClient</c> loop, or raw requests.
/// </summary>
/// <remarks>
/// Create it with <see cref="McpGuardEngine.WrapTransport"/>. <see cref="ConnectAsync"/> refuses a server that is not
/// registered or is disabled (<see cref="McpGuardConnectionRefusedException"/>). One instance can connect more than once;
/// each connection is its own guarded session. Thread-safe.
/// </remarks>
public sealed class GuardedClientTransport : IClientTransport
{
    private readonly McpGuardEngine _engine;
    private readonly IClientTransport _inner;
    private readonly string _endpoint;
    private volatile GuardSessionInfo? _lastSession;
    private volatile Transport.GuardedTransport? _lastTransport;

    internal GuardedClientTransport(McpGuardEngine engine, IClientTransport inner, string serverName, GuardPrincipal principal, string endpoint)
    {
        _engine = engine;
        _inner = inner;
        ServerName = serverName;
        Principal = principal;
        _endpoint = endpoint;
    }

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <summary>The registration name this transport connects to.</summary>
    public string ServerName { get; }

    /// <summary>The agent and user acting through this transport.</summary>
    public GuardPrincipal Principal { get; }

    /// <summary>The guarded session of the most recent connection, or <see langword="null"/> before the first.</summary>
    public GuardSessionInfo? Session => _lastSession;

    internal GuardDecision? LastRefusal => _lastTransport?.Refusal;

    /// <summary>The HTTP guard of a transport made by <see cref="McpGuardEngine.CreateHttpTransport"/>, for its last block.</summary>
    internal Http.HttpGuardReporter? HttpGuard { get; init; }

    /// <inheritdoc />
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered or is disabled.</exception>
    /// <exception cref="McpGuardSandboxException">The server's registration requires a sandbox that is unavailable (only for servers the engine launches).</exception>
    public async Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
    {
        _engine.Options.Servers.TryGetValue(ServerName, out GuardServerOptions? registration);
        var session = new GuardSessionInfo(ServerName, registration, Principal, _endpoint, _engine.TimeProvider.GetUtcNow());
        GuardDecision? refusal = registration is null
            ? GuardDecision.Deny("The server is not registered with the guard.", "server.unregistered")
            : _engine.KillSwitch.ServerDisabledReason(ServerName) is { } reason
                ? GuardDecision.Deny("The server is disabled: " + reason, "server.disabled")
                : registration.AllowedAgents.Count > 0 && (Principal.AgentId is not { } agent || !registration.AllowedAgents.Contains(agent))
                    ? GuardDecision.Deny("The acting agent may not use this server.", "server.agent-not-allowed")
                    : null;
        if (refusal is not null)
        {
            await _engine.Evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.ConnectionRefused, session, _engine.Evidence)
            {
                Decision = GuardDecisionKind.Deny,
                RuleId = refusal.RuleId,
                Reason = refusal.Reason,
            }, CancellationToken.None).ConfigureAwait(false);
            Diagnostics.Log.ConnectionRefused(_engine.Logger, ServerName, refusal.RuleId!);
            throw new McpGuardConnectionRefusedException(refusal, ServerName);
        }

        // A server McpGuard launches itself records its exact command line (and a refused sandbox) against this session.
        ITransport inner = _inner is Stdio.StdioServerLauncher launcher
            ? await launcher.LaunchAsync(_engine, session, cancellationToken).ConfigureAwait(false)
            : await _inner.ConnectAsync(cancellationToken).ConfigureAwait(false);
        var guarded = new Transport.GuardedTransport(_engine, inner, session);
        _lastSession = session;
        _lastTransport = guarded;
        return guarded;
    }
}
