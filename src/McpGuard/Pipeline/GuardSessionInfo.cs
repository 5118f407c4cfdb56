using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace McpGuard;

/// <summary>
/// One guarded connection to one server: who connected (principal), to which registration, what the server
/// reported about itself, the catalog of tools it advertised, and per-session state for stages and policies.
/// </summary>
/// <remarks>Thread-safe. The catalog is replaced atomically when the server lists tools again.</remarks>
public sealed class GuardSessionInfo
{
    private volatile FrozenDictionary<string, GuardToolDescriptor> _tools = FrozenDictionary<string, GuardToolDescriptor>.Empty;
    private FlowSession? _flow;
    private AuthorityEvidence? _configuredAuthority;

    internal GuardSessionInfo(string serverName, GuardServerOptions? registration, GuardPrincipal principal, string endpoint, DateTimeOffset startedAt)
    {
        SessionId = Guid.NewGuid().ToString("N");
        ServerName = serverName;
        Registration = registration;
        Principal = principal;
        Endpoint = endpoint;
        StartedAt = startedAt;
    }

    /// <summary>Random identifier of this guarded session (32 hex characters), used to correlate evidence.</summary>
    public string SessionId { get; }

    /// <summary>The registration name the host connected with (key of <see cref="McpGuardOptions.Servers"/>).</summary>
    public string ServerName { get; }

    /// <summary>What the server reported in its handshake; <see langword="null"/> until the handshake completed.</summary>
    public ServerIdentity? ServerIdentity { get; internal set; }

    /// <summary>The agent and user acting through this connection.</summary>
    public GuardPrincipal Principal { get; }

    /// <summary>How the server is reached: the exact stdio command line (for a sandboxed server, <c>bwrap</c> and its arguments in front), a URL, or the inner transport's name.</summary>
    public string Endpoint { get; internal set; }

    /// <summary>When the session started (engine <see cref="TimeProvider"/>).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Every tool the server advertised, by name, including hidden ones. Empty until the first <c>tools/list</c>.</summary>
    public IReadOnlyDictionary<string, GuardToolDescriptor> Tools => _tools;

    /// <summary>Per-session state for stages and custom policies (keys are caller-chosen; prefix them with your component's name).</summary>
    public ConcurrentDictionary<string, object?> Items { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether content flagged as carrying instructions was read in this session (or, with <see cref="TaintScope.Principal"/>, by any session of the same principal).</summary>
    public bool IsTainted => Taint.IsTainted;

    /// <summary>Where the taint came from (which server, call and rules), oldest first; empty when not tainted.</summary>
    public IReadOnlyList<TaintSource> TaintSources => Taint.Sources;

    /// <summary>
    /// The session's flow state (shared by every session of the principal with <see cref="FlowOptions.Scope"/> =
    /// <see cref="TaintScope.Principal"/>): labels that entered, with provenance, and the host's handle to declare trusted
    /// input (<see cref="FlowSession.AddTrustedInput"/>) and to narrow the task scope (<see cref="FlowSession.NarrowTask"/>).
    /// </summary>
    public FlowSession Flow
    {
        get => _flow ??= new FlowSession(null, TimeProvider.System);
        internal set => _flow = value;
    }

    internal SessionTaint Taint { get; set; } = new();

    internal ConcurrentDictionary<string, Isolation.ToolMetadataFlag> FlaggedTools { get; } = new(StringComparer.Ordinal);

    internal GuardServerOptions? Registration { get; }

    /// <summary>The label and scopes the host configured for this server (<see cref="GuardServerOptions.Authority"/>), as
    /// evidence records them; taken at the session's first event and shared by all its events. <see langword="null"/> for
    /// an unregistered server.</summary>
    internal AuthorityEvidence? ConfiguredAuthority =>
        Registration is not { } r ? null
        : _configuredAuthority ??= new AuthorityEvidence(r.Authority.CredentialLabel, [.. r.Authority.Scopes]);

    internal bool CatalogListed { get; private set; }

    internal FrozenDictionary<string, Pinning.PinState>? PinStates { get; private set; }

    internal FrozenDictionary<string, Pinning.PinState>? PromptPinStates { get; set; }

    internal void ReplaceCatalog(FrozenDictionary<string, GuardToolDescriptor> tools, bool merge, FrozenDictionary<string, Pinning.PinState>? pinStates = null)
    {
        if (pinStates is not null)
        {
            PinStates = merge && PinStates is { } old ? old.Concat(pinStates).GroupBy(p => p.Key).ToFrozenDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal) : pinStates;
        }

        if (merge && _tools.Count > 0)
        {
            var combined = new Dictionary<string, GuardToolDescriptor>(_tools, StringComparer.Ordinal);
            foreach (KeyValuePair<string, GuardToolDescriptor> pair in tools)
            {
                combined[pair.Key] = pair.Value;
            }

            tools = combined.ToFrozenDictionary(StringComparer.Ordinal);
        }

        _tools = tools;
        CatalogListed = true;
    }
}
