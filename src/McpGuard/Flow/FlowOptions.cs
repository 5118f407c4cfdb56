namespace McpGuard;

/// <summary>The built-in flow labels a host assigns to tools. Any other label that matches <c>[a-z0-9][a-z0-9._:-]*</c> may be used too.</summary>
/// <remarks>Labels are assigned by the host (<see cref="FlowToolOptions.Labels"/>), never taken from the server: server annotations
/// can only add labels (<see cref="FlowAnnotationOptions"/>). Terms follow the taint-tracking literature: a <em>source</em> brings
/// data into the session, a <em>sink</em> sends it out.</remarks>
public static class FlowLabels
{
    /// <summary><c>untrusted-source</c>: the tool returns text a third party controls (web pages, e-mails, issues, reviews, documents written by others).</summary>
    public const string UntrustedSource = "untrusted-source";

    /// <summary><c>private-data</c>: the tool returns the user's private data (inbox, files, customer records, balances, contacts).</summary>
    public const string PrivateData = "private-data";

    /// <summary><c>credential-access</c>: the tool returns or manages secrets (passwords, API keys, tokens, vault entries).</summary>
    public const string CredentialAccess = "credential-access";

    /// <summary><c>sink</c>: the tool sends data or value outside the user's control (e-mail, posts, payments, shares, outbound HTTP). See <see cref="FlowToolOptions.SinkKind"/>.</summary>
    public const string Sink = "sink";

    /// <summary><c>destructive</c>: the tool deletes or overwrites state, or changes account settings.</summary>
    public const string Destructive = "destructive";

    /// <summary><c>code-execution</c>: the tool runs code or shell commands.</summary>
    public const string CodeExecution = "code-execution";
}

/// <summary>What a flow rule does when it fires.</summary>
public enum FlowAction
{
    /// <summary>The call goes to the host's approval handler; the request names the chain (<see cref="ToolApprovalRequest.Flow"/>). The default.</summary>
    RequireApproval = 0,

    /// <summary>The call is refused.</summary>
    Deny = 1,
}

/// <summary>Kinds of values that argument-level flow tracking extracts from results, sink arguments and trusted input.</summary>
[Flags]
public enum FlowValueKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>URLs (<c>http(s)://…</c> and <c>www.…</c>); normalized: lower-case scheme and host, no default port, no fragment, no trailing <c>/</c>.</summary>
    Url = 1,

    /// <summary>E-mail addresses (RFC 5322 <c>addr-spec</c>, common subset); normalized to lower case.</summary>
    Email = 2,

    /// <summary>IBANs (ISO 13616), spaces removed, upper case, mod-97 checksum verified.</summary>
    Iban = 4,

    /// <summary>Account and card numbers: 8–19 digits, optionally grouped by spaces or hyphens; separators removed.</summary>
    AccountNumber = 8,

    /// <summary>Phone numbers in international form (<c>+</c> and 8–15 digits, E.164); separators removed.</summary>
    Phone = 16,

    /// <summary>Long opaque tokens (at least <see cref="ArgumentProvenanceOptions.MinTokenLength"/> characters of <c>[A-Za-z0-9_-]</c> with letters and digits): API keys, session ids, codes.</summary>
    Token = 32,

    /// <summary>All extracted kinds (not <see cref="Text"/>, which is opt-in per tool).</summary>
    All = Url | Email | Iban | AccountNumber | Phone | Token,

    /// <summary>Verbatim text: word n-grams of untrusted results copied into an argument listed in <see cref="FlowToolOptions.CopiedTextPaths"/> (findings only; not extracted in general).</summary>
    Text = 64,
}

/// <summary>Which arguments of a sink call argument-level flow tracking inspects.</summary>
public enum FlowArgumentScope
{
    /// <summary>Every string in the arguments. The default.</summary>
    AllArguments = 0,

    /// <summary>Only the values at the tool's <see cref="FlowToolOptions.Destinations"/>.</summary>
    DestinationsOnly = 1,
}

/// <summary>
/// Options of the flow stage: host-assigned labels per tool, the session flow state, and the rules over it (the "lethal
/// trifecta" / rule of two, untrusted content before a high-impact call, sequence rules, argument-level provenance, task
/// scoping). Bind from configuration section <c>McpGuard:Flow</c>, load a JSON policy file with <see cref="LoadPolicyFile"/>,
/// or set in code.
/// </summary>
/// <remarks>
/// <para>Off by default: with <see cref="Enabled"/> false the flow stage is not in the pipeline and costs nothing.</para>
/// <para>Sources: S. Willison, "The lethal trifecta for AI agents" (2025); Meta, "Agents Rule of Two" (2025); T. Shi et al.,
/// "Progent: Programmable Privilege Control for LLM Agents", arXiv 2504.11703 (monotonic task scoping); E. Debenedetti et al.,
/// "Defeating Prompt Injections by Design" (CaMeL), arXiv 2503.18813 (value provenance).</para>
/// <para>Validated at startup; changes after the engine is built have no effect. Not thread-safe while being configured.</para>
/// </remarks>
public sealed class FlowOptions
{
    /// <summary>Whether the flow stage runs.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>Whose sessions share one flow state: only one connection, or every connection of the same principal (agent and user) on this engine, so that a read from one server and a send through another form one chain.</summary>
    /// <value>Default: <see cref="TaintScope.Principal"/>.</value>
    public TaintScope Scope { get; set; } = TaintScope.Principal;

    /// <summary>Labels per server registration name (key of <see cref="McpGuardOptions.Servers"/>, ordinal).</summary>
    public Dictionary<string, FlowServerOptions> Servers { get; } = new(StringComparer.Ordinal);

    /// <summary>Labels for tools that neither <see cref="Servers"/> entry mentions (e.g. <c>untrusted-source</c> to treat unknown tools as untrusted).</summary>
    /// <value>Default: empty.</value>
    public List<string> DefaultLabels { get; } = [];

    /// <summary>How server annotations (MCP spec, "Tool annotations") may add labels. They never remove one.</summary>
    public FlowAnnotationOptions Annotations { get; } = new();

    /// <summary>Whether a result, resource or prompt that the isolation stage flagged as carrying instructions (session taint) enters the flow state as <c>untrusted-source</c> with its provenance.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool TaintFromIsolation { get; set; } = true;

    /// <summary>The "lethal trifecta" / rule of two (rule <c>flow.lethal-trifecta</c>): once private data (<c>private-data</c> or <c>credential-access</c>) and untrusted content are both in the session, a call to a <c>sink</c> triggers <see cref="FlowRuleOptions.Action"/>.</summary>
    public FlowRuleOptions LethalTrifecta { get; } = new();

    /// <summary>Untrusted content before a high-impact call (rule <c>flow.untrusted-before-high-impact</c>): once untrusted content is in the session, a call to a <c>sink</c>, <c>destructive</c> or <c>code-execution</c> tool triggers <see cref="FlowRuleOptions.Action"/>.</summary>
    public FlowRuleOptions UntrustedBeforeHighImpact { get; } = new();

    /// <summary>Argument-level flow (rule <c>flow.argument-provenance</c>): values seen in results of source tools, found again in a sink call's arguments.</summary>
    public ArgumentProvenanceOptions ArgumentProvenance { get; } = new();

    /// <summary>Sequence rules over the call history (rule <c>flow.sequence:&lt;name&gt;</c>), evaluated incrementally in constant time per call.</summary>
    public List<FlowSequenceRule> Sequences { get; } = [];

    /// <summary>Memory caps of the per-session flow state.</summary>
    public FlowLimitOptions Limits { get; } = new();

    /// <summary>Adds labels to one tool (creating its entry). For code configuration; returns this instance for chaining.</summary>
    /// <param name="server">Server registration name.</param>
    /// <param name="tool">Tool name (ordinal).</param>
    /// <param name="labels">Labels to add, e.g. <see cref="FlowLabels.UntrustedSource"/>.</param>
    /// <returns>This instance.</returns>
    /// <exception cref="ArgumentException"><paramref name="server"/> or <paramref name="tool"/> is empty.</exception>
    public FlowOptions LabelTool(string server, string tool, params string[] labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        FlowToolOptions options = Tool(server, tool);
        foreach (string label in labels)
        {
            if (!options.Labels.Contains(label, StringComparer.Ordinal))
            {
                options.Labels.Add(label);
            }
        }

        return this;
    }

    /// <summary>Gets or creates the options of one tool.</summary>
    /// <param name="server">Server registration name.</param>
    /// <param name="tool">Tool name (ordinal).</param>
    /// <returns>The tool's flow options (live; edit them before the engine is built).</returns>
    /// <exception cref="ArgumentException"><paramref name="server"/> or <paramref name="tool"/> is empty.</exception>
    public FlowToolOptions Tool(string server, string tool)
    {
        ArgumentException.ThrowIfNullOrEmpty(server);
        ArgumentException.ThrowIfNullOrEmpty(tool);
        if (!Servers.TryGetValue(server, out FlowServerOptions? serverOptions))
        {
            Servers[server] = serverOptions = new FlowServerOptions();
        }

        if (!serverOptions.Tools.TryGetValue(tool, out FlowToolOptions? toolOptions))
        {
            serverOptions.Tools[tool] = toolOptions = new FlowToolOptions();
        }

        return toolOptions;
    }

    /// <summary>
    /// Applies a JSON flow policy (the shape of the <c>McpGuard:Flow</c> configuration section; keys case-insensitive; the
    /// document may also be wrapped as <c>{"Flow": {…}}</c> or <c>{"McpGuard": {"Flow": {…}}}</c>) on top of these options.
    /// Lists are appended to, dictionaries merged, scalars replaced.
    /// </summary>
    /// <param name="json">The policy document (UTF-16 text).</param>
    /// <returns>This instance.</returns>
    /// <exception cref="FlowPolicyFormatException">The document is not valid JSON, has an unknown key or a value of the wrong type; the message names the JSON path and what to change.</exception>
    public FlowOptions LoadPolicyJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        Flow.FlowPolicyReader.Apply(this, json);
        return this;
    }

    /// <summary>Reads a JSON flow policy file (see <see cref="LoadPolicyJson"/>) and applies it.</summary>
    /// <param name="path">Path of the file (UTF-8).</param>
    /// <returns>This instance.</returns>
    /// <exception cref="FlowPolicyFormatException">The file's content is not a valid policy.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public FlowOptions LoadPolicyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return LoadPolicyJson(File.ReadAllText(path));
    }
}

/// <summary>Flow labels of one server's tools.</summary>
public sealed class FlowServerOptions
{
    /// <summary>Labels for this server's tools that <see cref="Tools"/> does not mention; when empty, <see cref="FlowOptions.DefaultLabels"/> apply.</summary>
    public List<string> DefaultLabels { get; } = [];

    /// <summary>Per-tool flow settings by tool name (ordinal).</summary>
    public Dictionary<string, FlowToolOptions> Tools { get; } = new(StringComparer.Ordinal);
}

/// <summary>Flow settings of one tool: its labels, its sink kind and which arguments say where data goes.</summary>
public sealed class FlowToolOptions
{
    /// <summary>The tool's labels (see <see cref="FlowLabels"/>).</summary>
    public List<string> Labels { get; } = [];

    /// <summary>What kind of sink the tool is, e.g. <c>email</c>, <c>message_post</c>, <c>money_transfer</c>, <c>web_request</c>, <c>file_share</c>; setting it implies the <c>sink</c> label. Sequence steps can match it as <c>sink:&lt;kind&gt;</c>.</summary>
    public string? SinkKind { get; set; }

    /// <summary>
    /// JSON paths (the <see cref="ArgumentRule.Path"/> syntax, e.g. <c>$.recipients[*]</c>, <c>$.url</c>) of the arguments that say
    /// <em>where</em> data or value goes (recipient, IBAN, URL, channel). When every destination value is trusted (see
    /// <see cref="FlowSession.AddTrustedInput"/>), rules with <see cref="FlowRuleOptions.ExemptTrustedDestinations"/> do not fire.
    /// </summary>
    public List<string> Destinations { get; } = [];

    /// <summary>Whether a call with no value at any of <see cref="Destinations"/> sends nothing anywhere (e.g. a calendar event without participants), so it counts as having only trusted destinations for the <c>ExemptTrustedDestinations</c> exemptions. Leave false when the server may fall back to a default destination.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool LocalWithoutDestinations { get; set; }

    /// <summary>If set, every value at <see cref="Destinations"/> must be trusted, else this action (rule <c>flow.argument-provenance</c>). A tool with no destination value in a call passes.</summary>
    /// <value>Default: <see langword="null"/> (no requirement).</value>
    public FlowAction? UntrustedDestinationAction { get; set; }

    /// <summary>JSON paths of arguments whose values must come from the user (trusted input or trusted values), e.g. <c>$.password</c> of <c>update_password</c>; otherwise <see cref="UntrustedArgumentAction"/> (rule <c>flow.argument-provenance</c>). Unlike <see cref="Destinations"/>, they do not take part in the destination exemptions.</summary>
    public List<string> TrustedArguments { get; } = [];

    /// <summary>What happens when a value at <see cref="TrustedArguments"/> is not trusted.</summary>
    /// <value>Default: <see cref="FlowAction.RequireApproval"/>.</value>
    public FlowAction UntrustedArgumentAction { get; set; }

    /// <summary>
    /// Opt-in check for verbatim copied text: JSON paths of free-text arguments (e.g. <c>$.title</c>) that must not carry
    /// text copied from untrusted results. An argument of at least <see cref="ArgumentProvenanceOptions.CopiedTextWords"/>
    /// words is flagged when one of its word n-grams occurred in an <c>untrusted-source</c> result and not in trusted input;
    /// a shorter one (2 or more words) when it occurred there as a whole. Rule <c>flow.argument-provenance</c>, kind
    /// <see cref="FlowValueKinds.Text"/>, action <see cref="ArgumentProvenanceOptions.Action"/>.
    /// </summary>
    public List<string> CopiedTextPaths { get; } = [];
}

/// <summary>Settings of one preset flow rule.</summary>
public sealed class FlowRuleOptions
{
    /// <summary>Whether the rule runs (when the flow stage is enabled).</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>What happens when the rule fires.</summary>
    /// <value>Default: <see cref="FlowAction.RequireApproval"/>.</value>
    public FlowAction Action { get; set; }

    /// <summary>
    /// Whether a call whose tool declares <see cref="FlowToolOptions.Destinations"/> or <see cref="FlowToolOptions.TrustedArguments"/>,
    /// and whose values there are all trusted (see <see cref="FlowSession.IsTrustedValue"/>), is exempt from this rule. A call with no
    /// value at any of them is exempt only with <see cref="FlowToolOptions.LocalWithoutDestinations"/>. Tools that declare neither are never exempt.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool ExemptTrustedDestinations { get; set; }
}

/// <summary>Settings of argument-level flow tracking (rule <c>flow.argument-provenance</c>).</summary>
/// <remarks>Values are stored as 128-bit prefixes of their SHA-256 (never raw), with the call they came from.</remarks>
public sealed class ArgumentProvenanceOptions
{
    /// <summary>Whether values are tracked and sink arguments checked.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>What happens when a sink call carries a tracked value that is not trusted.</summary>
    /// <value>Default: <see cref="FlowAction.RequireApproval"/>.</value>
    public FlowAction Action { get; set; }

    /// <summary>Results of tools with any of these labels are mined for values.</summary>
    /// <value>Default: <c>untrusted-source</c>, <c>private-data</c>, <c>credential-access</c> (added when the list is empty at startup).</value>
    public List<string> SourceLabels { get; } = [];

    /// <summary>Which kinds of values are extracted.</summary>
    /// <value>Default: <see cref="FlowValueKinds.All"/>.</value>
    public FlowValueKinds ValueKinds { get; set; } = FlowValueKinds.All;

    /// <summary>Which arguments of a sink call are inspected.</summary>
    /// <value>Default: <see cref="FlowArgumentScope.AllArguments"/>.</value>
    public FlowArgumentScope Scope { get; set; }

    /// <summary>Whether values that came only from <c>private-data</c>/<c>credential-access</c> results are not flagged when every destination of the sink call is trusted (the user sends their own data where they asked). Values from untrusted results are flagged regardless.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool ExemptTrustedDestinations { get; set; }

    /// <summary>Word n-gram size for <see cref="FlowToolOptions.CopiedTextPaths"/>: untrusted results are recorded as every 2..N-word n-gram.</summary>
    /// <value>Default: 4. Range: 2–16.</value>
    public int CopiedTextWords { get; set; } = 4;

    /// <summary>Shortest <see cref="FlowValueKinds.Token"/>, in characters.</summary>
    /// <value>Default: 20. Range: 8–1,024.</value>
    public int MinTokenLength { get; set; } = 20;
}

/// <summary>A sequence rule: an ordered pattern of calls (by label, tool name or sink kind) within a window of the call history; the last step is the call being decided.</summary>
/// <remarks>Steps match as a subsequence (other calls may come between them). Evaluated with one small automaton per rule, updated per call, so the cost does not grow with the history.</remarks>
public sealed class FlowSequenceRule
{
    /// <summary>The rule's name; the rule id is <c>flow.sequence:&lt;Name&gt;</c>. Required; <c>[A-Za-z0-9._-]</c>.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>
    /// 2–16 step matchers, in order: <c>label:&lt;label&gt;</c> or a bare label, <c>tool:&lt;name&gt;</c>, <c>tool:&lt;server&gt;/&lt;name&gt;</c>,
    /// <c>sink:&lt;kind&gt;</c>. A step matches a call with that label (tool labels, including annotation-derived ones), that tool, or that sink kind.
    /// </summary>
    public List<string> Steps { get; } = [];

    /// <summary>Largest number of calls the match may span, from the first step's call to the current call inclusive; 0 for the whole session.</summary>
    /// <value>Default: 0. Range: 0–1,000,000.</value>
    public int Window { get; set; }

    /// <summary>What happens when the sequence completes.</summary>
    /// <value>Default: <see cref="FlowAction.RequireApproval"/>.</value>
    public FlowAction Action { get; set; }
}

/// <summary>How server-supplied tool annotations (hints, MCP spec "Tool annotations") may add labels. They never remove a host-assigned label; <c>readOnlyHint</c> is ignored.</summary>
public sealed class FlowAnnotationOptions
{
    /// <summary>Whether <c>annotations.destructiveHint == true</c> adds <c>destructive</c>.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool DestructiveHintAddsDestructive { get; set; } = true;

    /// <summary>Whether <c>annotations.openWorldHint == true</c> adds <c>untrusted-source</c>.</summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool OpenWorldHintAddsUntrustedSource { get; set; }
}

/// <summary>Memory caps of one flow state. Every overflow keeps decisions at least as strict as without the cap.</summary>
public sealed class FlowLimitOptions
{
    /// <summary>Largest number of tracked values (from source results). When full, the state is <em>saturated</em>: every sink call carrying an extractable value that is not trusted is flagged, with provenance "value set full since call #N".</summary>
    /// <value>Default: 4,096. Range: 16–1,000,000.</value>
    public int MaxTrackedValues { get; set; } = 4096;

    /// <summary>Largest number of word n-grams recorded from untrusted results for <see cref="FlowToolOptions.CopiedTextPaths"/> (64-bit hashes; only when some tool sets CopiedTextPaths). When full, every such argument of 2 or more words that is not wholly trusted is flagged. Trusted-input n-grams share the same cap separately.</summary>
    /// <value>Default: 65,536. Range: 16–10,000,000.</value>
    public int MaxTrackedPhrases { get; set; } = 65536;

    /// <summary>Largest number of trusted values; further trusted values are ignored (more prompts, never fewer).</summary>
    /// <value>Default: 4,096. Range: 16–1,000,000.</value>
    public int MaxTrustedValues { get; set; } = 4096;

    /// <summary>Largest total size of trusted input text kept for whole-word matching, in characters; further text is ignored (its values are still extracted up to <see cref="MaxTrustedValues"/>).</summary>
    /// <value>Default: 65,536. Range: 0–16,777,216.</value>
    public int MaxTrustedInputChars { get; set; } = 64 * 1024;

    /// <summary>Largest number of characters of one result mined for values; a longer result makes the state saturated (see <see cref="MaxTrackedValues"/>).</summary>
    /// <value>Default: 262,144. Range: 1,024–268,435,456.</value>
    public int MaxScannedResultChars { get; set; } = 256 * 1024;

    /// <summary>Number of recent call records kept for <see cref="FlowSession.RecentCalls"/>; rules never need older records.</summary>
    /// <value>Default: 256. Range: 1–100,000.</value>
    public int MaxHistory { get; set; } = 256;

    /// <summary>Number of provenance entries kept per label (the first ones; later entries only count).</summary>
    /// <value>Default: 8. Range: 1–1,024.</value>
    public int MaxSourcesPerLabel { get; set; } = 8;
}
