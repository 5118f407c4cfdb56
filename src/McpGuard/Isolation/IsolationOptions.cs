namespace McpGuard;

/// <summary>How much a server's (or tool's) content is trusted; selects the <see cref="ContentIsolationPolicy"/> applied to it.</summary>
public enum ContentTrust
{
    /// <summary>Content may carry injected instructions (public web pages, documents written by others). The default.</summary>
    Untrusted = 0,

    /// <summary>Content comes from a source the host controls.</summary>
    Trusted = 1,
}

/// <summary>What happens to a result (tool result, resource, prompt) in which a detector found instructions aimed at the model. Combinable.</summary>
[Flags]
public enum InjectionAction
{
    /// <summary>Nothing beyond evidence.</summary>
    None = 0,

    /// <summary>A generic host note is added to the result telling the model to treat the content as data (never server text).</summary>
    Annotate = 1,

    /// <summary>The detected spans are replaced by a visible <c>⟦redacted by the host⟧</c> placeholder.</summary>
    Redact = 2,

    /// <summary>The result is replaced by a generic error (<c>isError: true</c> for tools; a JSON-RPC error for resources and prompts).</summary>
    Block = 4,

    /// <summary>The session is tainted (<see cref="GuardSessionInfo.IsTainted"/>), with provenance; later stages such as <see cref="GuardToolOptions.RequireApprovalWhenTainted"/> read it.</summary>
    TaintSession = 8,

    /// <summary>The host's approval handler must approve before the result reaches the model (tool results only; for resources and prompts this blocks). A rejection blocks.</summary>
    RequireApproval = 16,
}

/// <summary>Spotlighting (Hines et al., "Defending Against Indirect Prompt Injection Attacks With Spotlighting", arXiv 2403.14720): marks result text that passed so the model can tell data from instructions. Pair it with <see cref="Spotlighting.SystemPromptText"/>.</summary>
public enum SpotlightingMode
{
    /// <summary>Text passes unchanged. The default.</summary>
    None = 0,

    /// <summary>Each text is wrapped between boundary markers with a per-call random token the server cannot predict.</summary>
    Delimit = 1,

    /// <summary>Every space and tab is replaced by a marker character (<see cref="IsolationOptions.DatamarkToken"/>).</summary>
    Datamark = 2,

    /// <summary>Each text is base64-encoded (UTF-8).</summary>
    Encode = 3,
}

/// <summary>How the guard reacts to a tool whose metadata (name, title, description, schema text) was flagged at <c>tools/list</c>.</summary>
public enum ToolMetadataAction
{
    /// <summary>Evidence only; the sanitized metadata is shown and the tool stays callable.</summary>
    Warn = 0,

    /// <summary>The sanitized metadata is shown; the first call needs the host's approval (rule <c>tool.metadata-flagged</c>).</summary>
    RequireApproval = 1,

    /// <summary>The tool is removed from <c>tools/list</c> and calls are denied (rule <c>tool.metadata-flagged</c>).</summary>
    Hide = 2,
}

/// <summary>Whose sessions share a taint.</summary>
public enum TaintScope
{
    /// <summary>Only the session that read the flagged content.</summary>
    Session = 0,

    /// <summary>Every session of the same principal (agent and user) on this engine: a result read from one server taints calls to every other server. The default.</summary>
    Principal = 1,
}

/// <summary>Reactions to flagged content for one trust level (or one server or tool that overrides it).</summary>
public sealed class ContentIsolationPolicy
{
    /// <summary>What happens to a result with detected injection.</summary>
    /// <value>Default: <see cref="InjectionAction.Annotate"/> | <see cref="InjectionAction.Redact"/> | <see cref="InjectionAction.TaintSession"/>.</value>
    public InjectionAction OnInjection { get; set; } = InjectionAction.Annotate | InjectionAction.Redact | InjectionAction.TaintSession;

    /// <summary>Spotlighting applied to tool result text and resource text that passed.</summary>
    /// <value>Default: <see cref="SpotlightingMode.None"/>.</value>
    public SpotlightingMode Spotlighting { get; set; } = SpotlightingMode.None;

    /// <summary>Reaction to tool metadata with hidden content or detected instructions.</summary>
    /// <value>Default: <see cref="ToolMetadataAction.RequireApproval"/>.</value>
    public ToolMetadataAction OnToolMetadataFinding { get; set; } = ToolMetadataAction.RequireApproval;

    /// <summary>Reaction to a tool name that collides with or imitates (Unicode confusables, UTS #39) a tool of another connected server or a well-known tool, or a description that directs the use of another server's tools.</summary>
    /// <value>Default: <see cref="ToolMetadataAction.RequireApproval"/>.</value>
    public ToolMetadataAction OnNameCollision { get; set; } = ToolMetadataAction.RequireApproval;

    /// <summary>Detector score at or above which content counts as an injection.</summary>
    /// <value>Default: 0.5. Range: 0.01–1.</value>
    public double Threshold { get; set; } = 0.5;

    /// <summary>
    /// Sanitizer options for content under this policy (results, resources, prompts and tool metadata), replacing
    /// <see cref="IsolationOptions.Sanitizer"/>: e.g. keep HTML comments (<see cref="SanitizerOptions.RemoveHiddenMarkup"/>
    /// off) or allow larger results for <see cref="ContentTrust.Trusted"/> servers. Values not set here take the
    /// <see cref="SanitizerOptions"/> defaults, not the global ones, so an unset value is never weaker than the default;
    /// <see cref="SanitizerOptions.AllowedLinkHosts"/> adds to the global list. Same ranges, validated at start
    /// (configuration: <c>McpGuard:Isolation:Trusted:Sanitizer</c>, <c>McpGuard:Servers:&lt;name&gt;:Isolation:Sanitizer</c>, ...).
    /// </summary>
    /// <value>Default: <see langword="null"/> (the global <see cref="IsolationOptions.Sanitizer"/>).</value>
    public SanitizerOptions? Sanitizer { get; set; }
}

/// <summary>
/// Options of untrusted content isolation: the sanitizer, the reactions per trust level, spotlighting and tainting.
/// Servers choose a level with <see cref="GuardServerOptions.ContentTrust"/>; servers and tools can override the policy.
/// </summary>
public sealed class IsolationOptions
{
    /// <summary>Whether results, resources, prompts and tool metadata are isolated at all.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The sanitizer's options.</summary>
    public SanitizerOptions Sanitizer { get; } = new();

    /// <summary>Policy for <see cref="ContentTrust.Untrusted"/> content.</summary>
    /// <value>Default: annotate, redact and taint on injection; no spotlighting; require approval for flagged tool metadata and name collisions.</value>
    public ContentIsolationPolicy Untrusted { get; } = new();

    /// <summary>Policy for <see cref="ContentTrust.Trusted"/> content.</summary>
    /// <value>Default: annotate on injection; no spotlighting; warn on tool metadata findings and name collisions.</value>
    public ContentIsolationPolicy Trusted { get; } = new()
    {
        OnInjection = InjectionAction.Annotate,
        OnToolMetadataFinding = ToolMetadataAction.Warn,
        OnNameCollision = ToolMetadataAction.Warn,
    };

    /// <summary>Whose sessions share a taint.</summary>
    /// <value>Default: <see cref="TaintScope.Principal"/>.</value>
    public TaintScope TaintScope { get; set; } = TaintScope.Principal;

    /// <summary>The marker used by <see cref="SpotlightingMode.Datamark"/>.</summary>
    /// <value>Default: U+02C6 'ˆ' (as in the Spotlighting paper).</value>
    public string DatamarkToken { get; set; } = "\u02C6";

    /// <summary>Extra well-known tool names that no server's tool may imitate (confusable skeletons), in addition to a built-in list (<c>read_file</c>, <c>execute_command</c>, <c>send_email</c>, ...).</summary>
    public List<string> WellKnownToolNames { get; } = [];
}

/// <summary>Where a session's taint came from: one result flagged as carrying instructions.</summary>
/// <param name="SessionId">The guarded session that read it.</param>
/// <param name="ServerName">The registration name of the server that sent it.</param>
/// <param name="Method">The JSON-RPC method (<c>tools/call</c>, <c>resources/read</c>, <c>prompts/get</c>).</param>
/// <param name="RequestId">The JSON-RPC request id.</param>
/// <param name="Subject">The tool name, resource URI or prompt name.</param>
/// <param name="RuleIds">The rules that fired.</param>
/// <param name="At">When (engine <see cref="TimeProvider"/>).</param>
public sealed record TaintSource(string SessionId, string ServerName, string Method, string? RequestId, string? Subject, IReadOnlyList<string> RuleIds, DateTimeOffset At);

/// <summary>
/// Thread-safe taint state shared by the sessions of one scope. The sources form an append-only log that a reset
/// truncates from the front: <see cref="Snapshot"/> gives the current sources with the log position of the first, so
/// a reader that consumes sources in order (flow control) neither misses nor repeats one across a reset.
/// </summary>
internal sealed class SessionTaint
{
    private const int MaxSources = 64;
    private readonly object _gate = new();
    private State _state = new([], 0);

    public bool IsTainted => Volatile.Read(ref _state).Sources.Length > 0;

    public IReadOnlyList<TaintSource> Sources => Volatile.Read(ref _state).Sources;

    /// <summary>The current sources and how many sources resets removed before them (the log position of the first).</summary>
    public (IReadOnlyList<TaintSource> Sources, int Removed) Snapshot
    {
        get
        {
            State state = Volatile.Read(ref _state);
            return (state.Sources, state.Removed);
        }
    }

    public void Add(TaintSource source)
    {
        lock (_gate)
        {
            if (_state.Sources.Length < MaxSources)
            {
                Volatile.Write(ref _state, new State([.. _state.Sources, source], _state.Removed));
            }
        }
    }

    /// <summary>Removes <paramref name="expected"/> (a snapshot of <see cref="Sources"/>) from the front, keeping sources added since; returns what was removed.</summary>
    public TaintSource[] Remove(IReadOnlyList<TaintSource> expected)
    {
        lock (_gate)
        {
            TaintSource[] current = _state.Sources;
            int count = 0;
            while (count < current.Length && count < expected.Count && ReferenceEquals(current[count], expected[count]))
            {
                count++;
            }

            if (count > 0)
            {
                Volatile.Write(ref _state, new State(current[count..], _state.Removed + count));
            }

            return current[..count];
        }
    }

    private sealed record State(TaintSource[] Sources, int Removed);
}
