namespace McpGuard;

/// <summary>
/// One registered server: how it is reached, which identity it must report, its tools' access, per-agent
/// allowlists and argument constraints, and the authority (credential label, scopes) the host uses with it.
/// </summary>
public sealed class GuardServerOptions
{
    /// <summary>Whether the server may be used. A disabled server's connections are refused and calls denied (rule <c>server.disabled</c>). The kill switch can change this at run time.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>If set, the <c>serverInfo.name</c> the server must report in its handshake (ordinal); otherwise the connection is refused (rule <c>server.identity-mismatch</c>).</summary>
    public string? ExpectedName { get; set; }

    /// <summary>If set, the <c>serverInfo.version</c> the server must report (ordinal).</summary>
    public string? ExpectedVersion { get; set; }

    /// <summary>How to launch a local (stdio) server. Used by <see cref="McpGuardEngine.CreateClientAsync"/>; ignored when the host supplies its own transport.</summary>
    public StdioLaunchOptions? Stdio { get; set; }

    /// <summary>The SSRF and OAuth discovery policy for a server reached over HTTP (<see cref="McpGuardEngine.CreateHttpTransport"/>, <see cref="McpGuardEngine.CreateHttpClient"/>).</summary>
    public GuardHttpOptions Http { get; } = new();

    /// <summary>Access for this server's tools that <see cref="Tools"/> does not mention; <see langword="null"/> inherits <see cref="McpGuardOptions.DefaultToolAccess"/>.</summary>
    public ToolAccess? DefaultToolAccess { get; set; }

    /// <summary>Agents (see <see cref="GuardPrincipal.AgentId"/>) that may use this server; empty means any agent.</summary>
    public List<string> AllowedAgents { get; } = [];

    /// <summary>Per-tool settings by tool name (ordinal).</summary>
    public Dictionary<string, GuardToolOptions> Tools { get; } = new(StringComparer.Ordinal);

    /// <summary>The authority the host uses with this server, shown to approvers and recorded in evidence (never a secret).</summary>
    public GuardAuthorityOptions Authority { get; } = new();

    /// <summary>Host-supplied owner of this registration (team or person), for inventory and evidence.</summary>
    public string? Owner { get; set; }

    /// <summary>How much this server's content is trusted; selects <see cref="IsolationOptions.Untrusted"/> or <see cref="IsolationOptions.Trusted"/>.</summary>
    /// <value>Default: <see cref="McpGuard.ContentTrust.Untrusted"/>.</value>
    public ContentTrust ContentTrust { get; set; } = ContentTrust.Untrusted;

    /// <summary>A content isolation policy for this server that replaces the trust level's policy; <see langword="null"/> to use the trust level's.</summary>
    public ContentIsolationPolicy? Isolation { get; set; }

    /// <summary>Which roots the server may see in answers to <c>roots/list</c> (default: none).</summary>
    public RootsOptions Roots { get; } = new();

    /// <summary>How the server's elicitation requests are screened (default: secret-asking requests need approval).</summary>
    public ElicitationOptions Elicitation { get; } = new();

    /// <summary>Whether and how the server may use the host's model through sampling (default: off).</summary>
    public SamplingOptions Sampling { get; } = new();
}

/// <summary>Per-tool settings: access, per-agent allowlist and argument constraints.</summary>
public sealed class GuardToolOptions
{
    /// <summary>The tool's access.</summary>
    /// <value>Default: <see cref="ToolAccess.Allow"/> (configuring a tool is opting it in).</value>
    public ToolAccess Access { get; set; } = ToolAccess.Allow;

    /// <summary>Agents that may see and call this tool; empty means any agent allowed on the server.</summary>
    public List<string> AllowedAgents { get; } = [];

    /// <summary>Constraints on argument values, evaluated in order; the first violation denies.</summary>
    public List<ArgumentRule> Arguments { get; } = [];

    /// <summary>Top-level argument properties that must be present (rule <c>argument.required</c>).</summary>
    public List<string> RequiredProperties { get; } = [];

    /// <summary>Top-level argument properties that must be absent (rule <c>argument.forbidden</c>).</summary>
    public List<string> ForbiddenProperties { get; } = [];

    /// <summary>A lower cap than <see cref="McpGuardOptions.MaxArgumentBytes"/> for this tool, in bytes of canonical JSON.</summary>
    public int? MaxArgumentBytes { get; set; }

    /// <summary>Trust level of this tool's results; <see langword="null"/> inherits <see cref="GuardServerOptions.ContentTrust"/>.</summary>
    public ContentTrust? ContentTrust { get; set; }

    /// <summary>A content isolation policy for this tool's results and metadata; <see langword="null"/> inherits the server's.</summary>
    public ContentIsolationPolicy? Isolation { get; set; }

    /// <summary>Whether calls to this (high-impact) tool need the host's approval while the session is tainted by flagged content (rule <c>flow.tainted-session</c>).</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool RequireApprovalWhenTainted { get; set; }
}

/// <summary>The authority the host uses with a server: a label for the credential and the OAuth scopes (RFC 6749 §3.3) it carries. Never the secret itself.</summary>
public sealed class GuardAuthorityOptions
{
    /// <summary>Host-defined label of the credential, e.g. <c>github-app:read-only</c>; <see langword="null"/> when the server gets no credential.</summary>
    public string? CredentialLabel { get; set; }

    /// <summary>Scopes the credential carries; for OAuth, the scopes the guard lets the client request (scope minimization); a server demanding more goes to the <see cref="IScopeStepUpApprovalHandler"/>.</summary>
    public List<string> Scopes { get; } = [];

    /// <summary>The canonical URI of the server (RFC 8707 resource indicator; MCP "Canonical Server URI"), e.g. <c>https://mcp.example.com/mcp</c>: the audience its credentials are bound to. Used by the credential binding handler when no URI is passed.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public Uri? Resource { get; set; }
}
