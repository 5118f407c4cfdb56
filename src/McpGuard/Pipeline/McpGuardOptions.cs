namespace McpGuard;

/// <summary>How tools that no configuration mentions are treated.</summary>
public enum ToolAccess
{
    /// <summary>Removed from <c>tools/list</c> results and every call denied (rule <c>tool.hidden</c>). The default.</summary>
    Hidden = 0,

    /// <summary>Visible and callable, subject to the other stages.</summary>
    Allow = 1,

    /// <summary>Visible; every call goes to the host's approval handler (rule <c>tool.requires-approval</c>).</summary>
    RequireApproval = 2,
}

/// <summary>What the caller receives when a <c>tools/call</c> is denied.</summary>
public enum DeniedCallBehavior
{
    /// <summary>A <c>CallToolResult</c> with <c>isError: true</c> and a generic text (never server-controlled). The model can read it and carry on. The default.</summary>
    ToolErrorResult = 0,

    /// <summary>The call throws <see cref="McpGuardPolicyException"/> from <c>CallToolAsync</c> with the full decision.</summary>
    Throw = 1,
}

/// <summary>
/// Root options of McpGuard: the server registrations (inventory), defaults for unconfigured tools, limits on what
/// a server may send, approval and evidence settings. Bind from configuration section <c>McpGuard</c> or set in code.
/// </summary>
/// <remarks>Validated at startup (<see cref="McpGuardOptionsValidator"/>); after the engine is built, changes have no effect.</remarks>
public sealed class McpGuardOptions
{
    /// <summary>The default configuration section name: <c>McpGuard</c>.</summary>
    public const string SectionName = "McpGuard";

    /// <summary>Registered servers by registration name (ordinal, case-sensitive). A connection for a name that is not here is refused.</summary>
    public Dictionary<string, GuardServerOptions> Servers { get; } = new(StringComparer.Ordinal);

    /// <summary>Access for tools that neither the tool's nor the server's configuration mentions.</summary>
    /// <value>Default: <see cref="ToolAccess.Hidden"/> (deny by default).</value>
    public ToolAccess DefaultToolAccess { get; set; } = ToolAccess.Hidden;

    /// <summary>What a denied call returns to the caller.</summary>
    /// <value>Default: <see cref="DeniedCallBehavior.ToolErrorResult"/>.</value>
    public DeniedCallBehavior DeniedCallBehavior { get; set; } = DeniedCallBehavior.ToolErrorResult;

    /// <summary>Largest number of tools one server may advertise; a larger <c>tools/list</c> is rejected whole (rule <c>catalog.too-many-tools</c>).</summary>
    /// <value>Default: 1,024. Range: 1–1,000,000.</value>
    public int MaxToolsPerServer { get; set; } = 1024;

    /// <summary>Largest canonical JSON size in bytes of one tool definition; a larger tool is hidden (rule <c>catalog.tool-too-large</c>).</summary>
    /// <value>Default: 262,144 bytes (256 KiB). Range: 1 KiB–64 MiB.</value>
    public int MaxToolDefinitionBytes { get; set; } = 256 * 1024;

    /// <summary>Largest canonical JSON size in bytes of one call's <c>arguments</c> (rule <c>argument.too-large</c>); a tool can set a lower limit.</summary>
    /// <value>Default: 1,048,576 bytes (1 MiB). Range: 1–256 MiB.</value>
    public int MaxArgumentBytes { get; set; } = 1024 * 1024;

    /// <summary>How long the guard waits for the server when it lists tools itself (a call for a tool it has not seen listed yet).</summary>
    /// <value>Default: 30 seconds. Range: 100 ms–10 minutes.</value>
    public TimeSpan CatalogRefreshTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest number of <c>tools/list</c> pages the guard follows when it lists tools itself.</summary>
    /// <value>Default: 64. Range: 1–10,000.</value>
    public int MaxCatalogPages { get; set; } = 64;

    /// <summary>Approval settings.</summary>
    public ApprovalOptions Approval { get; } = new();

    /// <summary>Evidence settings.</summary>
    public EvidenceOptions Evidence { get; } = new();

    /// <summary>Catalog pinning and drift control (rug pulls); off unless <see cref="PinningOptions.Enabled"/>.</summary>
    public PinningOptions Pinning { get; } = new();

    /// <summary>Untrusted content isolation: sanitizer, injection detection and reactions for results, resources, prompts and tool metadata; on by default.</summary>
    public IsolationOptions Isolation { get; } = new();

    /// <summary>Credential controls: audience binding, token passthrough prevention, scope minimization (see <c>docs/credentials.md</c>).</summary>
    public CredentialOptions Credentials { get; } = new();
    /// <summary>Flow control over tool-call chains: host-assigned tool labels, session flow state and flow rules; off unless <see cref="FlowOptions.Enabled"/>.</summary>
    public FlowOptions Flow { get; } = new();
}

/// <summary>Options of the approval stage: how the host's <see cref="IToolApprovalHandler"/> is called.</summary>
public sealed class ApprovalOptions
{
    /// <summary>How long the approval handler may take before the request is denied (rule <c>approval.timeout</c>). Measured with the engine's <see cref="TimeProvider"/>.</summary>
    /// <value>Default: 2 minutes. Range: 10 ms–24 hours.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Options of the evidence stage.</summary>
public sealed class EvidenceOptions
{
    /// <summary>Path of an append-only JSON Lines evidence file (one <see cref="GuardEvidence"/> per line). <see langword="null"/>: no file sink.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? JsonLinesPath { get; set; }

    /// <summary>Whether the lines of the <see cref="JsonLinesPath"/> file form a SHA-256 hash chain, so a changed, inserted or
    /// removed line is detected by <see cref="JsonLinesEvidenceVerifier"/> (see <see cref="JsonLinesEvidenceSink"/>; a keyed
    /// chain needs a sink built in code with a key). Each line's <c>chain.prev</c> is the lowercase hex SHA-256 (FIPS 180-4)
    /// of the previous line's bytes; about 0.2–0.4 µs per event (docs/benchmarks.md).</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool HashChain { get; set; } = true;

    /// <summary>
    /// Whether the engine verifies the existing <see cref="JsonLinesPath"/> file's hash chain when it is built (reading the
    /// whole file, synchronously: about a second per few hundred MB). A broken chain is logged as an error (event 1009),
    /// recorded as the first new event (<see cref="GuardEvidenceKind.EvidenceChainBroken"/>, rule <c>evidence.chain-broken</c>)
    /// and kept in <see cref="McpGuardEngine.EvidenceChainAtStart"/>, so the host can decide whether to go on.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool VerifyChainOnStart { get; set; }

    /// <summary>Whether evidence carries raw argument values. When <see langword="false"/>, arguments are recorded as their shape (types, string lengths) plus a SHA-256 of their canonical form.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool IncludeRawArguments { get; set; }

    /// <summary>Whether evidence is also written to the <c>ILogger</c> category <c>McpGuard.Evidence</c>.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool LogEvents { get; set; } = true;

    /// <summary>Whether a call whose decision evidence cannot be written is denied (rule <c>evidence.unavailable</c>).</summary>
    /// <value>Default: <see langword="true"/> (no evidence, no call).</value>
    public bool DenyWhenEvidenceFails { get; set; } = true;
}
