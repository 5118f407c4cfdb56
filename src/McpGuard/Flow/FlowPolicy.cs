using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using McpGuard.Policies.Arguments;

namespace McpGuard.Flow;

/// <summary>The flow options compiled once at engine build: label bits, per-tool flow facts, sequence matchers, the value extractor.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
internal sealed partial class FlowPolicy
{
    public const string TrifectaRule = "flow.lethal-trifecta";
    public const string UntrustedBeforeHighImpactRule = "flow.untrusted-before-high-impact";
    public const string ArgumentProvenanceRule = "flow.argument-provenance";
    public const string TaskScopeRule = "flow.task-scope";
    public const string SequenceRulePrefix = "flow.sequence:";
    public const int MaxLabels = 64;

    private static readonly string[] s_builtIn =
    [
        FlowLabels.UntrustedSource, FlowLabels.PrivateData, FlowLabels.CredentialAccess, FlowLabels.Sink, FlowLabels.Destructive, FlowLabels.CodeExecution,
    ];

    private readonly Dictionary<string, int> _labelIndex = new(StringComparer.Ordinal);
    private readonly List<string> _labelNames = [];
    private readonly FrozenDictionary<(string Server, string Tool), ToolFlow> _tools;
    private readonly FrozenDictionary<string, ToolFlow> _serverDefaults;
    private readonly ToolFlow _default;
    private readonly ConditionalWeakTable<GuardToolDescriptor, ToolFlow> _annotated = [];

    public FlowPolicy(FlowOptions options)
    {
        Options = options;
        foreach (string label in s_builtIn)
        {
            Index(label);
        }

        UntrustedBit = Bit(FlowLabels.UntrustedSource);
        PrivateMask = Bit(FlowLabels.PrivateData) | Bit(FlowLabels.CredentialAccess);
        SinkBit = Bit(FlowLabels.Sink);
        DestructiveBit = Bit(FlowLabels.Destructive);
        HighImpactMask = SinkBit | DestructiveBit | Bit(FlowLabels.CodeExecution);
        IEnumerable<string> sources = options.ArgumentProvenance.SourceLabels.Count > 0
            ? options.ArgumentProvenance.SourceLabels
            : [FlowLabels.UntrustedSource, FlowLabels.PrivateData, FlowLabels.CredentialAccess];
        foreach (string label in sources)
        {
            SourceMask |= Bit(Index(label));
        }

        var tools = new Dictionary<(string, string), ToolFlow>();
        var serverDefaults = new Dictionary<string, ToolFlow>(StringComparer.Ordinal);
        _default = Compile(options.DefaultLabels, null);
        foreach ((string server, FlowServerOptions serverOptions) in options.Servers)
        {
            ToolFlow serverDefault = serverOptions.DefaultLabels.Count > 0 ? Compile(serverOptions.DefaultLabels, null) : _default;
            serverDefaults[server] = serverDefault;
            foreach ((string tool, FlowToolOptions toolOptions) in serverOptions.Tools)
            {
                tools[(server, tool)] = Compile(toolOptions.Labels, toolOptions);
            }
        }

        _tools = tools.ToFrozenDictionary();
        _serverDefaults = serverDefaults.ToFrozenDictionary(StringComparer.Ordinal);
        Sequences = [.. options.Sequences.Select(CompileSequence)];
        Extractor = new FlowValueExtractor(options.ArgumentProvenance.ValueKinds, options.ArgumentProvenance.MinTokenLength);
    }

    public FlowOptions Options { get; }

    public FlowValueExtractor Extractor { get; }

    public ulong UntrustedBit { get; }

    public ulong PrivateMask { get; }

    public ulong SinkBit { get; }

    public ulong DestructiveBit { get; }

    public ulong HighImpactMask { get; }

    /// <summary>Labels whose results are mined for values.</summary>
    public ulong SourceMask { get; }

    public CompiledSequence[] Sequences { get; }

    /// <summary>Whether any tool opted into the copied-text check (only then are untrusted results shingled).</summary>
    public bool TracksPhrases { get; private set; }

    public int LabelCount => _labelNames.Count;

    public string LabelName(int index) => _labelNames[index];

    public ulong Bit(string label) => _labelIndex.TryGetValue(label, out int i) ? 1UL << i : 0;

    private static ulong Bit(int index) => 1UL << index;

    /// <summary>The flow facts of one call's tool: host labels (tool, else server default, else global default) plus labels its annotations add.</summary>
    public ToolFlow Resolve(string server, string tool, GuardToolDescriptor? descriptor)
    {
        ToolFlow host = _tools.TryGetValue((server, tool), out ToolFlow? t) ? t
            : _serverDefaults.TryGetValue(server, out ToolFlow? d) ? d
            : _default;
        if (descriptor is null)
        {
            return host;
        }

        FlowAnnotationOptions annotations = Options.Annotations;
        if (!annotations.DestructiveHintAddsDestructive && !annotations.OpenWorldHintAddsUntrustedSource)
        {
            return host;
        }

        if (_annotated.TryGetValue(descriptor, out ToolFlow? cached) && ReferenceEquals(cached.HostFlow ?? cached, host))
        {
            return cached;
        }

        ulong added = 0;
        if (descriptor.Annotations is { } a)
        {
            if (annotations.DestructiveHintAddsDestructive && a.TryGetProperty("destructiveHint", out JsonElement dh) && dh.ValueKind == JsonValueKind.True)
            {
                added |= DestructiveBit;
            }

            if (annotations.OpenWorldHintAddsUntrustedSource && a.TryGetProperty("openWorldHint", out JsonElement ow) && ow.ValueKind == JsonValueKind.True)
            {
                added |= UntrustedBit;
            }
        }

        added &= ~host.Mask;
        ToolFlow result = added == 0 ? host : host.WithAnnotations(added, this);
        _annotated.AddOrUpdate(descriptor, result);
        return result;
    }

    public string[] Names(ulong mask)
    {
        if (mask == 0)
        {
            return [];
        }

        var names = new List<string>(System.Numerics.BitOperations.PopCount(mask));
        for (int i = 0; i < _labelNames.Count; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                names.Add(_labelNames[i]);
            }
        }

        return [.. names];
    }

    private int Index(string label)
    {
        if (_labelIndex.TryGetValue(label, out int index))
        {
            return index;
        }

        if (_labelNames.Count >= MaxLabels)
        {
            // Validated at startup; unreachable with valid options.
            throw new InvalidOperationException($"More than {MaxLabels} distinct flow labels.");
        }

        index = _labelNames.Count;
        _labelNames.Add(label);
        _labelIndex[label] = index;
        return index;
    }

    private ToolFlow Compile(List<string> labels, FlowToolOptions? tool)
    {
        ulong mask = 0;
        foreach (string label in labels)
        {
            mask |= Bit(Index(label));
        }

        if (tool?.SinkKind is { Length: > 0 })
        {
            mask |= SinkBit;
        }

        JsonPathSelector[] destinations = tool is null ? [] : [.. tool.Destinations.Select(JsonPathSelector.Parse)];
        JsonPathSelector[] trusted = tool is null ? [] : [.. tool.TrustedArguments.Select(JsonPathSelector.Parse)];
        JsonPathSelector[] copied = tool is null ? [] : [.. tool.CopiedTextPaths.Select(JsonPathSelector.Parse)];
        TracksPhrases |= copied.Length > 0;
        return new ToolFlow(mask, 0, tool?.SinkKind, destinations, tool?.UntrustedDestinationAction, Names(mask), null)
        {
            TrustedArguments = trusted,
            UntrustedArgumentAction = tool?.UntrustedArgumentAction ?? FlowAction.RequireApproval,
            CopiedText = copied,
            LocalWithoutDestinations = tool?.LocalWithoutDestinations ?? false,
        };
    }

    private CompiledSequence CompileSequence(FlowSequenceRule rule)
    {
        var steps = new StepMatcher[rule.Steps.Count];
        for (int i = 0; i < steps.Length; i++)
        {
            string step = rule.Steps[i];
            steps[i] = step switch
            {
                _ when step.StartsWith("tool:", StringComparison.Ordinal) => ToolStep(step),
                _ when step.StartsWith("sink:", StringComparison.Ordinal) => new StepMatcher(step, 0, null, null, step[5..]),
                _ when step.StartsWith("label:", StringComparison.Ordinal) => new StepMatcher(step, Bit(Index(step[6..])), null, null, null),
                _ => new StepMatcher(step, Bit(Index(step)), null, null, null),
            };
        }

        return new CompiledSequence(rule.Name, SequenceRulePrefix + rule.Name, steps, rule.Window, rule.Action);

        static StepMatcher ToolStep(string step)
        {
            string name = step[5..];
            int slash = name.IndexOf('/', StringComparison.Ordinal);
            return slash > 0 ? new StepMatcher(step, 0, name[(slash + 1)..], name[..slash], null) : new StepMatcher(step, 0, name, null, null);
        }
    }

    // ------------------------------------------------------------------ validation

    [GeneratedRegex(@"\A[a-z0-9][a-z0-9._:-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex LabelPattern();

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>Adds a message per invalid flow setting (each names the setting and what to change).</summary>
    internal static void Validate(FlowOptions o, List<string> failures)
    {
        const string p = "McpGuard:Flow";
        var labels = new HashSet<string>(s_builtIn, StringComparer.Ordinal);
        void Label(string path, string label)
        {
            if (label is null || !LabelPattern().IsMatch(label))
            {
                failures.Add($"{path}: label '{label}' is not valid; use lower-case letters, digits and . _ : - (e.g. untrusted-source), at most 64 characters.");
                return;
            }

            labels.Add(label);
        }

        void Selector(string path, string value)
        {
            try
            {
                JsonPathSelector.Parse(value);
            }
            catch (FormatException ex)
            {
                failures.Add($"{path}: {ex.Message} Use $, .name, ['name'], [index], [*] or .*.");
            }
        }

        foreach (string l in o.DefaultLabels)
        {
            Label($"{p}:DefaultLabels", l);
        }

        foreach ((string server, FlowServerOptions so) in o.Servers)
        {
            foreach (string l in so.DefaultLabels)
            {
                Label($"{p}:Servers:{server}:DefaultLabels", l);
            }

            foreach ((string tool, FlowToolOptions to) in so.Tools)
            {
                string tp = $"{p}:Servers:{server}:Tools:{tool}";
                foreach (string l in to.Labels)
                {
                    Label($"{tp}:Labels", l);
                }

                if (to.SinkKind is { } kind && !LabelPattern().IsMatch(kind))
                {
                    failures.Add($"{tp}:SinkKind '{kind}' is not valid; use lower-case letters, digits and . _ : - (e.g. email).");
                }

                foreach (string d in to.Destinations)
                {
                    Selector($"{tp}:Destinations", d);
                }

                foreach (string d in to.TrustedArguments)
                {
                    Selector($"{tp}:TrustedArguments", d);
                }

                foreach (string d in to.CopiedTextPaths)
                {
                    Selector($"{tp}:CopiedTextPaths", d);
                }

                if (to.UntrustedDestinationAction is not null && to.Destinations.Count == 0)
                {
                    failures.Add($"{tp}:UntrustedDestinationAction is set but Destinations is empty; list the argument paths that name where data goes (e.g. $.recipients[*]).");
                }
            }
        }

        foreach (string l in o.ArgumentProvenance.SourceLabels)
        {
            Label($"{p}:ArgumentProvenance:SourceLabels", l);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Sequences.Count; i++)
        {
            FlowSequenceRule rule = o.Sequences[i];
            string sp = $"{p}:Sequences:{i}";
            if (rule is null)
            {
                failures.Add($"{sp} is empty; give the rule a Name and Steps.");
                continue;
            }

            if (rule.Name is null || !NamePattern().IsMatch(rule.Name))
            {
                failures.Add($"{sp}:Name '{rule.Name}' is not valid; use 1-64 characters of letters, digits and . _ -.");
            }
            else if (!names.Add(rule.Name))
            {
                failures.Add($"{sp}:Name '{rule.Name}' is used by another sequence rule; names must be unique.");
            }

            if (rule.Steps.Count is < 2 or > 16)
            {
                failures.Add($"{sp}:Steps has {rule.Steps.Count} steps; a sequence needs 2 to 16.");
            }

            foreach (string step in rule.Steps)
            {
                string body = step is null ? string.Empty
                    : step.StartsWith("tool:", StringComparison.Ordinal) ? step[5..]
                    : step.StartsWith("sink:", StringComparison.Ordinal) ? step[5..]
                    : step.StartsWith("label:", StringComparison.Ordinal) ? step[6..]
                    : step;
                if (body.Length == 0)
                {
                    failures.Add($"{sp}:Steps has an empty step; use label:<label>, tool:<name>, tool:<server>/<name> or sink:<kind>.");
                }
                else if (step!.StartsWith("label:", StringComparison.Ordinal) || !step.Contains(':', StringComparison.Ordinal))
                {
                    Label($"{sp}:Steps", body);
                }
            }

            if (rule.Window is < 0 or > 1_000_000)
            {
                failures.Add($"{sp}:Window is {rule.Window}; set it between 0 (whole session) and 1000000 calls.");
            }
        }

        if (labels.Count > MaxLabels)
        {
            failures.Add($"{p} uses {labels.Count} distinct labels; at most {MaxLabels} are supported. Merge labels that rules treat alike.");
        }

        Range(failures, $"{p}:ArgumentProvenance:MinTokenLength", o.ArgumentProvenance.MinTokenLength, 8, 1024);
        Range(failures, $"{p}:ArgumentProvenance:CopiedTextWords", o.ArgumentProvenance.CopiedTextWords, 2, 16);
        Range(failures, $"{p}:Limits:MaxTrackedPhrases", o.Limits.MaxTrackedPhrases, 16, 10_000_000);
        Range(failures, $"{p}:Limits:MaxTrackedValues", o.Limits.MaxTrackedValues, 16, 1_000_000);
        Range(failures, $"{p}:Limits:MaxTrustedValues", o.Limits.MaxTrustedValues, 16, 1_000_000);
        Range(failures, $"{p}:Limits:MaxTrustedInputChars", o.Limits.MaxTrustedInputChars, 0, 16 * 1024 * 1024);
        Range(failures, $"{p}:Limits:MaxScannedResultChars", o.Limits.MaxScannedResultChars, 1024, 256 * 1024 * 1024);
        Range(failures, $"{p}:Limits:MaxHistory", o.Limits.MaxHistory, 1, 100_000);
        Range(failures, $"{p}:Limits:MaxSourcesPerLabel", o.Limits.MaxSourcesPerLabel, 1, 1024);
    }

    private static void Range(List<string> failures, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{name} is {value}; set it between {min} and {max}.");
        }
    }
}

/// <summary>The flow facts of one tool: label bits (host plus annotation-added), sink kind, destination selectors.</summary>
internal sealed class ToolFlow(ulong mask, ulong annotationMask, string? sinkKind, JsonPathSelector[] destinations, FlowAction? untrustedDestinationAction, string[] labelNames, ToolFlow? hostFlow)
{
    public ulong Mask { get; } = mask;

    /// <summary>Bits added by server annotations (never removed by them).</summary>
    public ulong AnnotationMask { get; } = annotationMask;

    public string? SinkKind { get; } = sinkKind;

    public JsonPathSelector[] Destinations { get; } = destinations;

    public FlowAction? UntrustedDestinationAction { get; } = untrustedDestinationAction;

    public string[] LabelNames { get; } = labelNames;

    /// <summary>The host-configured flow this one extends (null when this is the host's).</summary>
    public ToolFlow? HostFlow { get; } = hostFlow;

    public JsonPathSelector[] TrustedArguments { get; init; } = [];

    public FlowAction UntrustedArgumentAction { get; init; }

    public JsonPathSelector[] CopiedText { get; init; } = [];

    public bool LocalWithoutDestinations { get; init; }

    public ToolFlow WithAnnotations(ulong added, FlowPolicy policy) =>
        new(Mask | added, added, SinkKind, Destinations, UntrustedDestinationAction, policy.Names(Mask | added), this)
        {
            TrustedArguments = TrustedArguments,
            UntrustedArgumentAction = UntrustedArgumentAction,
            CopiedText = CopiedText,
            LocalWithoutDestinations = LocalWithoutDestinations,
        };
}

/// <summary>One step matcher of a sequence rule.</summary>
internal sealed record StepMatcher(string Text, ulong LabelBit, string? Tool, string? Server, string? SinkKind)
{
    public bool Matches(string server, string tool, ToolFlow flow) =>
        LabelBit != 0 ? (flow.Mask & LabelBit) != 0
        : SinkKind is not null ? string.Equals(flow.SinkKind, SinkKind, StringComparison.Ordinal)
        : string.Equals(Tool, tool, StringComparison.Ordinal) && (Server is null || string.Equals(Server, server, StringComparison.Ordinal));
}

/// <summary>A compiled sequence rule.</summary>
internal sealed record CompiledSequence(string Name, string RuleId, StepMatcher[] Steps, int Window, FlowAction Action);
