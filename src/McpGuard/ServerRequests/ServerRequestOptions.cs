namespace McpGuard;

/// <summary>
/// Which roots (MCP client feature <c>roots</c>, spec 2025-11-25 "Client features: Roots") a server may see. The
/// host's answer to a server's <c>roots/list</c> is filtered so that only roots at or under an allowed root reach the
/// server; every other root is dropped.
/// </summary>
/// <remarks>
/// Roots are a policy surface: some servers (e.g. <c>@modelcontextprotocol/server-filesystem</c>) replace their allowed
/// directories with whatever roots the client returns. Applies to <c>roots/list</c> requests and to roots input
/// requests inside multi round-trip (MRTR, <c>input_required</c>) results alike. See <c>docs/server-requests.md</c>.
/// </remarks>
public sealed class RootsOptions
{
    /// <summary>
    /// Directories this server may see as roots: absolute paths or <c>file://</c> URIs. Canonicalized like
    /// <see cref="ArgumentRule.AllowedRoots"/> (<c>.</c>/<c>..</c> removed, symbolic links resolved). A root the host
    /// offers is kept only if it lies at or under one of these (both the kernel's and Node's resolution), and is sent in
    /// canonical form; wider roots (a parent, <c>/</c>), non-<c>file</c> URIs and unparsable entries are dropped.
    /// </summary>
    /// <value>Default: empty (the server sees an empty roots list).</value>
    public List<string> AllowedRoots { get; } = [];

    /// <summary>How root paths are compared with <see cref="AllowedRoots"/>.</summary>
    /// <value>Default: <see cref="PathCaseSensitivity.Auto"/> (case-insensitive on Windows and macOS).</value>
    public PathCaseSensitivity PathCase { get; set; }
}

/// <summary>How a server's elicitation requests (<c>elicitation/create</c>) are treated.</summary>
public enum ElicitationAccess
{
    /// <summary>Screened: requests that look like they ask for a secret, or URL-mode requests to unknown hosts, go to the <see cref="IElicitationApprovalHandler"/>; the rest pass to the host's elicitation handler untouched. The default.</summary>
    Screen = 0,

    /// <summary>Every request goes to the <see cref="IElicitationApprovalHandler"/> first (rule <c>elicitation.requires-approval</c>).</summary>
    RequireApproval = 1,

    /// <summary>Every request is declined by the guard (rule <c>elicitation.disabled</c>); the host's handler is never called.</summary>
    Decline = 2,
}

/// <summary>
/// Elicitation screening for one server (MCP spec 2025-11-25 "Client features: Elicitation", form and URL mode):
/// requests that ask for secrets are flagged with rule ids and need the host's approval; a refused, timed-out or
/// failed approval, or a host without elicitation support, is answered with <c>{"action":"decline"}</c>.
/// </summary>
/// <remarks>The values a user types are never recorded in evidence or logs: only the action and the field names.</remarks>
public sealed class ElicitationOptions
{
    /// <summary>How requests are treated.</summary>
    /// <value>Default: <see cref="ElicitationAccess.Screen"/>.</value>
    public ElicitationAccess Access { get; set; } = ElicitationAccess.Screen;

    /// <summary>
    /// Hosts a URL-mode elicitation may point at without approval: exact IDNA host names, or <c>*.example.com</c> for
    /// sub-domains. Any other host is flagged (rule <c>elicitation.url-unknown-host</c>).
    /// </summary>
    /// <value>Default: empty (every URL-mode request needs approval).</value>
    public List<string> AllowedUrlHosts { get; } = [];

    /// <summary>Extra words or phrases (any language, matched case- and accent-insensitively on word boundaries) that mark a requested field or message as asking for a secret, in addition to the built-in list.</summary>
    /// <value>Default: empty.</value>
    public List<string> AdditionalSecretTerms { get; } = [];

    /// <summary>Largest serialized size of one elicitation request's params, in bytes; a larger request is refused (rule <c>elicitation.too-large</c>).</summary>
    /// <value>Default: 65,536 bytes (64 KiB). Range: 1 KiB–16 MiB.</value>
    public int MaxRequestBytes { get; set; } = 64 * 1024;
}

/// <summary>
/// Sampling (<c>sampling/createMessage</c>, MCP spec 2025-11-25 "Client features: Sampling") for one server: off
/// unless the host enables it. A refused request is answered with a JSON-RPC error
/// (<see cref="McpGuardErrorCodes.PolicyDenied"/>) and never reaches the host's sampling handler (or its model bill).
/// </summary>
public sealed class SamplingOptions
{
    /// <summary>Whether this server may ask the host's model for completions (rule <c>sampling.disabled</c> when not).</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>Largest <c>maxTokens</c> a request may ask for; a request above it is refused (rule <c>sampling.max-tokens</c>). <see langword="null"/>: no cap.</summary>
    /// <value>Default: <see langword="null"/>. Range: 1–10,000,000.</value>
    public int? MaxTokens { get; set; }

    /// <summary>Whether a request may offer tools to the model (<c>tools</c>/<c>toolChoice</c>, tool use in sampling); otherwise refused (rule <c>sampling.tools</c>).</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool AllowTools { get; set; }

    /// <summary>Whether a request may ask the host to include context (<c>includeContext</c> <c>thisServer</c>/<c>allServers</c>); otherwise refused (rule <c>sampling.include-context</c>). <c>allServers</c> would hand other servers' context to this one.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool AllowIncludeContext { get; set; }

    /// <summary>Most sampling requests one session may make; later ones are refused (rule <c>sampling.rate-limit</c>). <see langword="null"/>: no limit.</summary>
    /// <value>Default: <see langword="null"/>. Range: 1–1,000,000.</value>
    public int? MaxRequestsPerSession { get; set; }

    /// <summary>Largest serialized size of one sampling request's params, in bytes (rule <c>sampling.too-large</c>).</summary>
    /// <value>Default: 1,048,576 bytes (1 MiB). Range: 1 KiB–256 MiB.</value>
    public int MaxRequestBytes { get; set; } = 1024 * 1024;
}
