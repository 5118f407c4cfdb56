using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using McpGuard.Flow;
using McpGuard.Policies.Arguments;

namespace McpGuard;

/// <summary>
/// The flow state of one session (or, with <see cref="FlowOptions.Scope"/> = <see cref="TaintScope.Principal"/>, of every
/// session of one principal): which labels entered and from which call, values seen in source results (hashed), the
/// host's trusted inputs, sequence-rule state and the task scope. Also the host's handle to tell the guard what it trusts.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Memory is bounded by <see cref="FlowOptions.Limits"/>; every cap keeps decisions at least as strict
/// (a full value set makes the state <see cref="IsSaturated"/>; extra trusted values are ignored).</para>
/// <para>When <see cref="FlowOptions.Enabled"/> is false the object still accepts trusted inputs, but no rule reads them.</para>
/// </remarks>
public sealed class FlowSession
{
    private const int MaxNarrowings = 64;
    private const int MaxScopeRules = 256;

    private readonly object _gate = new();
    private readonly FlowPolicy? _policy;
    private readonly FlowLimitOptions _limits;
    private readonly TimeProvider _time;
    private readonly long[] _labelCounts;
    private readonly List<FlowProvenance>?[] _labelSources;
    private readonly Dictionary<UInt128, TrackedValue> _values = [];
    private readonly HashSet<UInt128> _trusted = [];
    private readonly Dictionary<ulong, FlowProvenance> _phrases = [];
    private readonly HashSet<ulong> _trustedPhrases = [];
    private FlowProvenance? _phrasesSaturatedSince;
    private readonly StringBuilder _trustedText = new();
    private readonly StringBuilder _trustedTextCased = new();
    private readonly SequenceState[] _sequences;
    private readonly CallSlot?[] _history;
    private readonly ConditionalWeakTable<object, StrongBox<int>> _taintConsumed = [];
    private readonly List<FrozenSet<string>> _toolScopes = [];
    private readonly List<(string Tool, CompiledArgumentRule Rule)> _scopeRules = [];
    private ulong _present;
    private long _callCount;
    private FlowProvenance? _saturatedSince;
    private bool _scopeCollapsed;
    private int _trustedValuesIgnored;

    internal FlowSession(FlowPolicy? policy, TimeProvider time)
    {
        _policy = policy;
        _limits = policy?.Options.Limits ?? new FlowLimitOptions();
        _time = time;
        _labelCounts = new long[FlowPolicy.MaxLabels];
        _labelSources = new List<FlowProvenance>?[FlowPolicy.MaxLabels];
        _sequences = policy is null ? [] : [.. policy.Sequences.Select(s => new SequenceState(s.Steps.Length))];
        _history = new CallSlot?[_limits.MaxHistory];
    }

    /// <summary>How many calls the flow stage has evaluated in this state.</summary>
    public long CallCount
    {
        get
        {
            lock (_gate)
            {
                return _callCount;
            }
        }
    }

    /// <summary>Whether a memory cap was reached (value set full or a result too long to mine); from then on every sink call carrying an extractable value that is not trusted is flagged.</summary>
    public bool IsSaturated
    {
        get
        {
            lock (_gate)
            {
                return _saturatedSince is not null;
            }
        }
    }

    /// <summary>Number of values tracked from source results (hashed).</summary>
    public int TrackedValueCount
    {
        get
        {
            lock (_gate)
            {
                return _values.Count;
            }
        }
    }

    /// <summary>Number of trusted values (hashed) the host added, directly or from trusted input.</summary>
    public int TrustedValueCount
    {
        get
        {
            lock (_gate)
            {
                return _trusted.Count;
            }
        }
    }

    /// <summary>Which labels entered the state, each with its count and first sources (a snapshot). Isolation taint enters when the next call is evaluated.</summary>
    public IReadOnlyList<FlowLabelEntry> Labels
    {
        get
        {
            if (_policy is null)
            {
                return [];
            }

            lock (_gate)
            {
                var entries = new List<FlowLabelEntry>();
                for (int i = 0; i < _policy.LabelCount; i++)
                {
                    if ((_present & (1UL << i)) != 0)
                    {
                        entries.Add(new FlowLabelEntry(_policy.LabelName(i), _labelCounts[i], [.. _labelSources[i] ?? []]));
                    }
                }

                return entries;
            }
        }
    }

    /// <summary>The most recent calls (at most <see cref="FlowLimitOptions.MaxHistory"/>), oldest first (a snapshot).</summary>
    public IReadOnlyList<FlowCallRecord> RecentCalls
    {
        get
        {
            lock (_gate)
            {
                var records = new List<FlowCallRecord>(_history.Length);
                long first = Math.Max(1, _callCount - _history.Length + 1);
                for (long n = first; n <= _callCount; n++)
                {
                    if (_history[n % _history.Length] is { } slot && slot.Number == n)
                    {
                        records.Add(new FlowCallRecord(slot.Number, slot.Server, slot.Tool, slot.Flow.LabelNames, slot.Sent, slot.Responded));
                    }
                }

                return records;
            }
        }
    }

    /// <summary>Whether <paramref name="label"/> entered the state.</summary>
    /// <param name="label">A label, e.g. <see cref="FlowLabels.UntrustedSource"/>.</param>
    /// <returns><see langword="true"/> if a response of a tool with that label (or, for <c>untrusted-source</c>, flagged content) was seen.</returns>
    public bool HasLabel(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        ulong bit = _policy?.Bit(label) ?? 0;
        lock (_gate)
        {
            return bit != 0 && (_present & bit) != 0;
        }
    }

    /// <summary>
    /// Declares text the host trusts, typically the user's own request. Values in it (URLs, e-mail addresses, IBANs, account
    /// and phone numbers, tokens) become trusted, and a destination argument that occurs in it as a whole word
    /// (case-insensitive) counts as trusted. A value that appears in a trusted input is not flagged even if it also appeared
    /// in untrusted text.
    /// </summary>
    /// <param name="text">The trusted text. Text beyond <see cref="FlowLimitOptions.MaxTrustedInputChars"/> is not kept for whole-word matching.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public void AddTrustedInput(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var values = new List<FlowValue>();
        Extractor.Extract(text, values, _limits.MaxTrustedValues);
        List<ulong>? phrases = TrustedPhrases([text]);
        lock (_gate)
        {
            int room = _limits.MaxTrustedInputChars - _trustedText.Length;
            if (room > 1)
            {
                string normalized = FlowValueExtractor.NormalizeWhole(text);
                string cased = FlowValueExtractor.NormalizeWhole(text, lower: false);
                int take = Math.Min(Math.Min(normalized.Length, cased.Length), room - 1);
                _trustedText.Append('\n').Append(normalized.AsSpan(0, take));
                _trustedTextCased.Append('\n').Append(cased.AsSpan(0, take));
            }

            foreach (FlowValue value in values)
            {
                AddTrustedHash(value.Hash);
            }

            AddTrustedPhrasesLocked(phrases);
        }
    }

    /// <summary>Declares one value the host trusts (the user's own contact, payee, account, URL). Compared after normalization: trimmed and lower-case as a whole, and each value extracted from it.</summary>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    public void AddTrustedValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        AddTrustedValues([value]);
    }

    /// <summary>Declares values the host trusts (see <see cref="AddTrustedValue"/>).</summary>
    /// <param name="values">The values; <see langword="null"/> entries are skipped.</param>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is <see langword="null"/>.</exception>
    public void AddTrustedValues(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var extracted = new List<FlowValue>();
        var wholes = new List<UInt128>();
        foreach (string value in values)
        {
            if (value is null || value.Trim().Length == 0)
            {
                continue;
            }

            wholes.Add(FlowValueExtractor.HashWhole(value));
            Extractor.Extract(value, extracted, _limits.MaxTrustedValues);
        }

        List<ulong>? phrases = TrustedPhrases(values);
        lock (_gate)
        {
            AddTrustedPhrasesLocked(phrases);
            foreach (UInt128 hash in wholes)
            {
                AddTrustedHash(hash);
            }

            foreach (FlowValue value in extracted)
            {
                AddTrustedHash(value.Hash);
            }
        }
    }

    /// <summary>Whether <paramref name="value"/> counts as trusted: it was added as a trusted value, all values extracted from it are trusted, or it occurs as a whole word in a trusted input.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Whether it is trusted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is <see langword="null"/>.</exception>
    public bool IsTrustedValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var extracted = new List<FlowValue>();
        Extractor.Extract(value, extracted, 64);
        lock (_gate)
        {
            return IsTrustedLocked(value, extracted);
        }
    }

    /// <summary>
    /// Narrows what this state's sessions may do for the current task (Progent, arXiv 2504.11703): calls to tools outside
    /// <see cref="FlowTaskScope.AllowedTools"/>, or whose arguments violate <see cref="FlowTaskScope.Arguments"/>, are denied
    /// (rule <c>flow.task-scope</c>). Scopes only accumulate: every earlier narrowing still applies, so permissions never widen.
    /// </summary>
    /// <param name="scope">The narrowing. Copied; later changes to it have no effect.</param>
    /// <remarks>After 64 tool-set narrowings or 256 argument constraints, further narrowing collapses the scope to "no tool" (fail closed).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="scope"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An argument constraint is invalid (bad path or pattern).</exception>
    public void NarrowTask(FlowTaskScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        FrozenSet<string>? tools = scope.AllowedTools?.Where(t => t is not null).ToFrozenSet(StringComparer.Ordinal);
        var rules = new List<(string, CompiledArgumentRule)>();
        foreach ((string tool, List<ArgumentRule> list) in scope.Arguments)
        {
            foreach (ArgumentRule rule in list ?? [])
            {
                try
                {
                    rules.Add((tool, new CompiledArgumentRule(rule)));
                }
                catch (Exception ex) when (ex is FormatException or ArgumentException or IOException or UnauthorizedAccessException)
                {
                    throw new ArgumentException($"The task-scope constraint for '{tool}' at '{rule.Path}' is invalid: {ex.Message}", nameof(scope), ex);
                }
            }
        }

        lock (_gate)
        {
            if (tools is not null)
            {
                if (_toolScopes.Count >= MaxNarrowings)
                {
                    _scopeCollapsed = true;
                }
                else
                {
                    _toolScopes.Add(tools);
                }
            }

            if (_scopeRules.Count + rules.Count > MaxScopeRules)
            {
                _scopeCollapsed = true;
            }
            else
            {
                _scopeRules.AddRange(rules);
            }
        }
    }

    /// <summary>Whether the current task scope allows <paramref name="toolName"/> on <paramref name="serverName"/> (argument constraints aside).</summary>
    /// <param name="serverName">Server registration name.</param>
    /// <param name="toolName">Tool name.</param>
    /// <returns>Whether every narrowing so far allows the tool.</returns>
    public bool IsToolInScope(string serverName, string toolName)
    {
        ArgumentNullException.ThrowIfNull(serverName);
        ArgumentNullException.ThrowIfNull(toolName);
        lock (_gate)
        {
            return ToolInScopeLocked(serverName, toolName);
        }
    }

    private FlowValueExtractor Extractor => _policy?.Extractor ?? s_defaultExtractor;

    private static readonly FlowValueExtractor s_defaultExtractor = new(FlowValueKinds.All, 20);

    // ------------------------------------------------------------------ stage side

    /// <summary>Evaluates one call and records it. Called by the flow stage only.</summary>
    internal GuardDecision Evaluate(ToolCallContext context, ToolFlow flow)
    {
        FlowPolicy policy = _policy!;
        FlowOptions o = policy.Options;
        bool highImpact = (flow.Mask & policy.HighImpactMask) != 0;
        bool sink = (flow.Mask & policy.SinkBit) != 0;

        // Outside the lock: read arguments (cost depends on the arguments only, never on the history).
        List<(string Path, string Value)>? destinations = null;
        if (flow.Destinations.Length > 0 && context.Arguments.ValueKind == JsonValueKind.Object)
        {
            destinations = [];
            foreach (JsonPathSelector selector in flow.Destinations)
            {
                selector.Select<object>(context.Arguments, (value, path) =>
                {
                    destinations.Add((path, value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : value.GetRawText()));
                    return null;
                });
            }
        }

        List<(string Path, FlowValue Value)>? argumentValues = null;
        bool argumentsComplete = true;
        if (highImpact && o.ArgumentProvenance.Enabled)
        {
            argumentValues = [];
            var scratch = new List<FlowValue>();
            if (o.ArgumentProvenance.Scope == FlowArgumentScope.DestinationsOnly)
            {
                foreach ((string path, string value) in destinations ?? [])
                {
                    argumentsComplete &= Collect(path, value, scratch, argumentValues);
                }
            }
            else if (context.Arguments.ValueKind == JsonValueKind.Object)
            {
                argumentsComplete = WalkStrings(context.Arguments, "$", 0, scratch, argumentValues);
            }
        }

        List<(string Path, string Value, List<FlowValue> Values)>? trustedArguments = null;
        if (flow.TrustedArguments.Length > 0 && context.Arguments.ValueKind == JsonValueKind.Object)
        {
            trustedArguments = [];
            foreach (JsonPathSelector selector in flow.TrustedArguments)
            {
                selector.Select<object>(context.Arguments, (value, path) =>
                {
                    string text = value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : value.GetRawText();
                    var list = new List<FlowValue>();
                    Extractor.Extract(text, list, 64);
                    trustedArguments.Add((path, text, list));
                    return null;
                });
            }
        }

        List<(string Path, List<ulong> Grams)>? copied = null;
        if (flow.CopiedText.Length > 0 && context.Arguments.ValueKind == JsonValueKind.Object)
        {
            copied = [];
            int words = CopiedTextWords;
            foreach (JsonPathSelector selector in flow.CopiedText)
            {
                selector.Select<object>(context.Arguments, (value, path) =>
                {
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        var grams = new List<ulong>();
                        FlowValueExtractor.Phrases(value.GetString() ?? string.Empty, words, all: false, grams, int.MaxValue);
                        copied.Add((path, grams));
                    }

                    return null;
                });
            }
        }

        List<List<FlowValue>>? destinationValues = null;
        if (destinations is not null)
        {
            destinationValues = new List<List<FlowValue>>(destinations.Count);
            foreach ((_, string value) in destinations)
            {
                var list = new List<FlowValue>();
                Extractor.Extract(value, list, 64);
                destinationValues.Add(list);
            }
        }

        lock (_gate)
        {
            IngestTaintLocked(context.Session);
            long number = ++_callCount;
            var slot = new CallSlot(number, context.ServerName, context.ToolName, context.RequestId, flow);
            _history[number % _history.Length] = slot;
            context.FlowTicket = new FlowTicket(this, slot);

            var fired = new List<(FlowAction Action, GuardDecision Decision)>(2);

            // 1. Task scope (always a denial).
            if (ScopeViolationLocked(context) is { } scopeReason)
            {
                fired.Add((FlowAction.Deny, Decide(FlowAction.Deny, scopeReason, FlowPolicy.TaskScopeRule, null, new FlowChain(FlowPolicy.TaskScopeRule, context.ServerName, context.ToolName, number, [], [], [], "outside the task scope"))));
            }

            // 2. Sequence rules: the last step is this call; the automaton holds the best earlier prefix.
            for (int r = 0; r < policy.Sequences.Length; r++)
            {
                CompiledSequence rule = policy.Sequences[r];
                SequenceState state = _sequences[r];
                int k = rule.Steps.Length;
                if (!rule.Steps[k - 1].Matches(context.ServerName, context.ToolName, flow) || state.Start[k - 2] == 0)
                {
                    continue;
                }

                long start = state.Start[k - 2];
                if (rule.Window > 0 && number - start + 1 > rule.Window)
                {
                    continue;
                }

                var chain = new FlowChain(rule.RuleId, context.ServerName, context.ToolName, number, state.Chain[k - 2]!, [], []);
                fired.Add((rule.Action, Decide(rule.Action, $"Sequence rule '{rule.Name}' matched: {chain.Summary}.", rule.RuleId, null, chain)));
            }

            bool untrusted = (_present & policy.UntrustedBit) != 0;
            bool privateData = (_present & policy.PrivateMask) != 0;
            bool? destinationsTrusted = null;
            bool DestinationsTrusted()
            {
                // Declared destinations and trusted arguments all hold trusted values. No value at all counts only when the host
                // declared that the tool then sends nothing anywhere (LocalWithoutDestinations); a server may otherwise use a default.
                destinationsTrusted ??= (flow.Destinations.Length > 0 || flow.TrustedArguments.Length > 0)
                    && ((destinations?.Count ?? 0) + (trustedArguments?.Count ?? 0) > 0 || flow.LocalWithoutDestinations)
                    && (destinations is null || AllTrustedLocked(destinations, destinationValues!))
                    && (trustedArguments is null || trustedArguments.TrueForAll(t => IsTrustedLocked(t.Value, t.Values)));
                return destinationsTrusted.Value;
            }

            // 3. Argument-level flow: destinations that must be trusted, and values seen in source results.
            var findings = new List<FlowArgumentFinding>();
            FlowAction? argumentAction = null;
            void Raise(FlowAction action) => argumentAction = argumentAction is { } current && current >= action ? current : action;

            foreach ((string path, string value, List<FlowValue> extracted) in trustedArguments ?? [])
            {
                if (!IsTrustedLocked(value, extracted))
                {
                    FlowProvenance? seen = extracted.Select(v => _values.TryGetValue(v.Hash, out TrackedValue t) ? t.Source : null).FirstOrDefault(s => s is not null);
                    findings.Add(new FlowArgumentFinding(path, FlowValueKinds.None, seen));
                    Raise(flow.UntrustedArgumentAction);
                }
            }

            foreach ((string path, List<ulong> grams) in copied ?? [])
            {
                FlowProvenance? source = null;
                bool untrustedGram = false;
                foreach (ulong gram in grams)
                {
                    if (_trustedPhrases.Contains(gram))
                    {
                        continue;
                    }

                    untrustedGram = true;
                    if (_phrases.TryGetValue(gram, out FlowProvenance? seen))
                    {
                        source = seen;
                        break;
                    }
                }

                source ??= untrustedGram ? _phrasesSaturatedSince : null;
                if (source is not null)
                {
                    findings.Add(new FlowArgumentFinding(path, FlowValueKinds.Text, source));
                    Raise(o.ArgumentProvenance.Action);
                }
            }

            if (flow.UntrustedDestinationAction is { } destinationAction && destinations is not null)
            {
                for (int i = 0; i < destinations.Count; i++)
                {
                    if (!IsTrustedLocked(destinations[i].Value, destinationValues![i]))
                    {
                        FlowProvenance? seen = destinationValues[i].Select(v => _values.TryGetValue(v.Hash, out TrackedValue t) ? t.Source : null).FirstOrDefault(s => s is not null);
                        findings.Add(new FlowArgumentFinding(destinations[i].Path, FlowValueKinds.None, seen));
                        Raise(destinationAction);
                    }
                }
            }

            if (argumentValues is not null)
            {
                bool exemptPrivate = o.ArgumentProvenance.ExemptTrustedDestinations && DestinationsTrusted();
                var flaggedPaths = new HashSet<string>(findings.Select(f => f.JsonPath), StringComparer.Ordinal);
                foreach ((string path, FlowValue value) in argumentValues)
                {
                    if (_trusted.Contains(value.Hash) || flaggedPaths.Contains(path))
                    {
                        continue;
                    }

                    if (_values.TryGetValue(value.Hash, out TrackedValue tracked))
                    {
                        if (!tracked.Untrusted && exemptPrivate)
                        {
                            continue;
                        }

                        findings.Add(new FlowArgumentFinding(path, value.Kind, tracked.Source));
                        flaggedPaths.Add(path);
                        Raise(o.ArgumentProvenance.Action);
                    }
                    else if (_saturatedSince is { } saturated)
                    {
                        findings.Add(new FlowArgumentFinding(path, value.Kind, saturated));
                        flaggedPaths.Add(path);
                        Raise(o.ArgumentProvenance.Action);
                    }
                }

                if (!argumentsComplete && findings.Count == 0)
                {
                    findings.Add(new FlowArgumentFinding("$", FlowValueKinds.None, new FlowProvenance(number, context.ServerName, context.ToolName, "arguments", FlowOrigin.Saturation, _time.GetUtcNow())));
                }
            }

            if (findings.Count > 0)
            {
                argumentAction ??= o.ArgumentProvenance.Action;
                var sources = findings.Where(f => f.Source is not null).Select(f => f.Source!).Distinct().ToList();
                var chain = new FlowChain(FlowPolicy.ArgumentProvenanceRule, context.ServerName, context.ToolName, number, sources, findings, []);
                fired.Add((argumentAction!.Value, Decide(argumentAction!.Value, $"Argument-level flow: {chain.Summary}.", FlowPolicy.ArgumentProvenanceRule, findings[0].JsonPath, chain)));
            }

            // 4. Lethal trifecta: private data and untrusted content in the session, and a sink.
            if (o.LethalTrifecta.Enabled && sink && untrusted && privateData && !(o.LethalTrifecta.ExemptTrustedDestinations && DestinationsTrusted()))
            {
                List<FlowProvenance> sources = [.. FirstSources(policy.UntrustedBit), .. FirstSources(policy.PrivateMask)];
                sources.Sort((a, b) => a.CallNumber.CompareTo(b.CallNumber));
                var chain = new FlowChain(FlowPolicy.TrifectaRule, context.ServerName, context.ToolName, number, sources, [], []);
                fired.Add((o.LethalTrifecta.Action, Decide(o.LethalTrifecta.Action, $"Private data and untrusted content are both in the session and this tool is a sink: {chain.Summary}.", FlowPolicy.TrifectaRule, null, chain)));
            }

            // 5. Untrusted content before a high-impact call.
            if (o.UntrustedBeforeHighImpact.Enabled && untrusted && highImpact)
            {
                if (!(o.UntrustedBeforeHighImpact.ExemptTrustedDestinations && DestinationsTrusted()))
                {
                    var chain = new FlowChain(FlowPolicy.UntrustedBeforeHighImpactRule, context.ServerName, context.ToolName, number, FirstSources(policy.UntrustedBit), [], []);
                    fired.Add((o.UntrustedBeforeHighImpact.Action, Decide(o.UntrustedBeforeHighImpact.Action, $"Untrusted content is in the session and this tool is high-impact: {chain.Summary}.", FlowPolicy.UntrustedBeforeHighImpactRule, null, chain)));
                }
            }

            if (fired.Count == 0)
            {
                return GuardDecision.Allow;
            }

            int best = 0;
            for (int i = 1; i < fired.Count; i++)
            {
                if (fired[i].Action > fired[best].Action)
                {
                    best = i;
                }
            }

            GuardDecision chosen = fired[best].Decision;
            if (fired.Count > 1)
            {
                string[] also = [.. fired.Where((_, i) => i != best).Select(f => f.Decision.RuleId!).Distinct(StringComparer.Ordinal)];
                chosen = chosen.WithChain(chosen.Chain!.WithAlsoFired(also));
            }

            slot.Decision = chosen.Kind;
            return chosen;
        }
    }

    /// <summary>The call was sent to the server (after any approval): advance the sequence automata.</summary>
    internal void OnSent(FlowTicket ticket)
    {
        FlowPolicy policy = _policy!;
        CallSlot slot = ticket.Slot;
        lock (_gate)
        {
            if (slot.Sent)
            {
                return;
            }

            slot.Sent = true;
            FlowProvenance? provenance = null;
            for (int r = 0; r < policy.Sequences.Length; r++)
            {
                CompiledSequence rule = policy.Sequences[r];
                SequenceState state = _sequences[r];

                // Prefixes of length 1..k-1 only (the last step is matched against the call being decided); descending so
                // that one call never fills two steps.
                for (int j = rule.Steps.Length - 2; j >= 0; j--)
                {
                    if (!rule.Steps[j].Matches(slot.Server, slot.Tool, slot.Flow))
                    {
                        continue;
                    }

                    provenance ??= new FlowProvenance(slot.Number, slot.Server, slot.Tool, string.Empty, FlowOrigin.ToolLabel, _time.GetUtcNow());
                    FlowProvenance step = provenance with { Label = rule.Steps[j].Text };
                    if (j == 0)
                    {
                        state.Start[0] = slot.Number;
                        state.Chain[0] = [step];
                    }
                    else if (state.Start[j - 1] > state.Start[j])
                    {
                        state.Start[j] = state.Start[j - 1];
                        state.Chain[j] = [.. state.Chain[j - 1]!, step];
                    }
                }
            }
        }
    }

    /// <summary>A response arrived for a sent call: its labels enter, and values in source results are tracked.</summary>
    internal void OnResponse(FlowTicket ticket, List<FlowValue>? values, bool complete, List<ulong>? phrases = null, bool phrasesComplete = true)
    {
        FlowPolicy policy = _policy!;
        CallSlot slot = ticket.Slot;
        lock (_gate)
        {
            slot.Responded = true;
            ToolFlow flow = slot.Flow;
            DateTimeOffset now = _time.GetUtcNow();
            for (int i = 0; i < policy.LabelCount; i++)
            {
                ulong bit = 1UL << i;
                if ((flow.Mask & bit) == 0)
                {
                    continue;
                }

                FlowOrigin origin = (flow.AnnotationMask & bit) != 0 ? FlowOrigin.Annotation : FlowOrigin.ToolLabel;
                AddLabelLocked(i, new FlowProvenance(slot.Number, slot.Server, slot.Tool, policy.LabelName(i), origin, now));
            }

            bool untrusted = (flow.Mask & policy.UntrustedBit) != 0;
            if (phrases is not null)
            {
                var phraseSource = new FlowProvenance(slot.Number, slot.Server, slot.Tool, FlowLabels.UntrustedSource, FlowOrigin.ToolLabel, now);
                foreach (ulong phrase in phrases)
                {
                    if (_phrases.Count >= _limits.MaxTrackedPhrases)
                    {
                        phrasesComplete = false;
                        break;
                    }

                    _phrases.TryAdd(phrase, phraseSource);
                }

                if (!phrasesComplete)
                {
                    _phrasesSaturatedSince ??= phraseSource with { Origin = FlowOrigin.Saturation };
                }
            }

            if (values is null)
            {
                return;
            }

            string label = untrusted ? FlowLabels.UntrustedSource : policy.Names(flow.Mask & policy.SourceMask).FirstOrDefault() ?? FlowLabels.PrivateData;
            var source = new FlowProvenance(slot.Number, slot.Server, slot.Tool, label, (flow.AnnotationMask & policy.UntrustedBit) != 0 && untrusted ? FlowOrigin.Annotation : FlowOrigin.ToolLabel, now);
            foreach (FlowValue value in values)
            {
                if (_values.TryGetValue(value.Hash, out TrackedValue existing))
                {
                    if (untrusted && !existing.Untrusted)
                    {
                        _values[value.Hash] = new TrackedValue(source, true);
                    }

                    continue;
                }

                if (_values.Count >= _limits.MaxTrackedValues)
                {
                    _saturatedSince ??= source with { Origin = FlowOrigin.Saturation };
                    break;
                }

                _values[value.Hash] = new TrackedValue(source, untrusted);
            }

            if (!complete)
            {
                _saturatedSince ??= source with { Origin = FlowOrigin.Saturation };
            }
        }
    }

    /// <summary>Bytes-free estimate of the entries held, for the bounded-memory law.</summary>
    internal int HeldEntries()
    {
        lock (_gate)
        {
            int sources = _labelSources.Sum(l => l?.Count ?? 0);
            int chains = _sequences.Sum(s => s.Chain.Sum(c => c?.Length ?? 0));
            return _values.Count + _trusted.Count + _phrases.Count + _trustedPhrases.Count + sources + chains + _history.Count(h => h is not null) + _toolScopes.Count + _scopeRules.Count;
        }
    }

    internal bool ShouldMine(ToolFlow flow) => _policy is { Options.ArgumentProvenance.Enabled: true } p && (flow.Mask & p.SourceMask) != 0;

    internal bool ShouldShingle(ToolFlow flow) => _policy is { TracksPhrases: true } p && (flow.Mask & p.UntrustedBit) != 0;

    internal int CopiedTextWords => _policy?.Options.ArgumentProvenance.CopiedTextWords ?? 4;

    internal int MaxTrackedPhrases => _limits.MaxTrackedPhrases;

    internal int MaxScannedResultChars => _limits.MaxScannedResultChars;

    internal int MaxTrackedValues => _limits.MaxTrackedValues;

    internal FlowValueExtractor ValueExtractor => Extractor;

    private static GuardDecision Decide(FlowAction action, string reason, string ruleId, string? jsonPath, FlowChain chain) =>
        action == FlowAction.Deny ? GuardDecision.Deny(reason, ruleId, jsonPath).WithChain(chain) : GuardDecision.RequireApproval(reason, ruleId, jsonPath).WithChain(chain);

    private void AddLabelLocked(int index, FlowProvenance provenance)
    {
        _present |= 1UL << index;
        _labelCounts[index]++;
        List<FlowProvenance> list = _labelSources[index] ??= [];
        if (list.Count < _limits.MaxSourcesPerLabel)
        {
            list.Add(provenance);
        }
    }

    private List<FlowProvenance> FirstSources(ulong mask)
    {
        var result = new List<FlowProvenance>();
        for (int i = 0; i < FlowPolicy.MaxLabels; i++)
        {
            if ((mask & (1UL << i)) != 0 && _labelSources[i] is { Count: > 0 } list)
            {
                result.Add(list[0]);
            }
        }

        return result;
    }

    private void IngestTaintLocked(GuardSessionInfo session)
    {
        if (!_policy!.Options.TaintFromIsolation)
        {
            return;
        }

        SessionTaint taint = session.Taint;
        (IReadOnlyList<TaintSource> sources, int removed) = taint.Snapshot;
        StrongBox<int> consumed = _taintConsumed.GetValue(taint, static _ => new StrongBox<int>(0));
        int index = _policy.Bit(FlowLabels.UntrustedSource) is var bit && bit != 0 ? System.Numerics.BitOperations.TrailingZeroCount(bit) : -1;

        // Positions in the taint's log: a reset (McpGuardEngine.ResetTaintAsync) removes sources from the front.
        consumed.Value = Math.Max(consumed.Value, removed);
        for (; consumed.Value < removed + sources.Count; consumed.Value++)
        {
            TaintSource source = sources[consumed.Value - removed];
            long call = 0;
            if (source.RequestId is { } requestId && string.Equals(source.SessionId, session.SessionId, StringComparison.Ordinal))
            {
                foreach (CallSlot? slot in _history)
                {
                    if (slot is not null && string.Equals(slot.RequestId, requestId, StringComparison.Ordinal) && string.Equals(slot.Server, source.ServerName, StringComparison.Ordinal))
                    {
                        call = Math.Max(call, slot.Number);
                    }
                }
            }

            AddLabelLocked(index, new FlowProvenance(call, source.ServerName, source.Subject, FlowLabels.UntrustedSource, FlowOrigin.InjectionDetected, source.At));
        }
    }

    private string? ScopeViolationLocked(ToolCallContext context)
    {
        if (_scopeCollapsed)
        {
            return "The task scope was narrowed more often than the guard keeps track of; every call is outside it.";
        }

        if (!ToolInScopeLocked(context.ServerName, context.ToolName))
        {
            return "The tool is outside the task scope the session narrowed itself to.";
        }

        foreach ((string tool, CompiledArgumentRule rule) in _scopeRules)
        {
            if (!Names(tool, context.ServerName, context.ToolName))
            {
                continue;
            }

            if (context.Arguments.ValueKind != JsonValueKind.Object)
            {
                return "The arguments could not be checked against the task scope.";
            }

            if (rule.Evaluate(context.Arguments) is { } violation)
            {
                return $"An argument is outside the task scope ({violation.RuleId} at {violation.JsonPath}).";
            }
        }

        return null;
    }

    private bool ToolInScopeLocked(string server, string tool)
    {
        if (_scopeCollapsed)
        {
            return false;
        }

        foreach (FrozenSet<string> set in _toolScopes)
        {
            if (!set.Contains(tool) && !set.Contains(server + "/" + tool))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Names(string entry, string server, string tool) =>
        string.Equals(entry, tool, StringComparison.Ordinal)
        || (entry.Length == server.Length + 1 + tool.Length && entry.StartsWith(server, StringComparison.Ordinal) && entry[server.Length] == '/' && entry.EndsWith(tool, StringComparison.Ordinal));

    private List<ulong>? TrustedPhrases(IEnumerable<string> texts)
    {
        if (_policy is not { TracksPhrases: true })
        {
            return null;
        }

        var phrases = new List<ulong>();
        foreach (string text in texts)
        {
            if (text is not null)
            {
                FlowValueExtractor.Phrases(text, CopiedTextWords, all: true, phrases, _limits.MaxTrackedPhrases);
            }
        }

        return phrases;
    }

    private void AddTrustedPhrasesLocked(List<ulong>? phrases)
    {
        foreach (ulong phrase in phrases ?? [])
        {
            if (_trustedPhrases.Count >= _limits.MaxTrackedPhrases)
            {
                break;
            }

            _trustedPhrases.Add(phrase);
        }
    }

    private void AddTrustedHash(UInt128 hash)
    {
        if (_trusted.Count < _limits.MaxTrustedValues)
        {
            _trusted.Add(hash);
        }
        else
        {
            _trustedValuesIgnored++;
        }
    }

    private bool AllTrustedLocked(List<(string Path, string Value)> destinations, List<List<FlowValue>> values)
    {
        for (int i = 0; i < destinations.Count; i++)
        {
            if (!IsTrustedLocked(destinations[i].Value, values[i]))
            {
                return false;
            }
        }

        return true;
    }

    private bool IsTrustedLocked(string value, List<FlowValue> extracted)
    {
        string whole = FlowValueExtractor.NormalizeWhole(value);
        if (whole.Length == 0)
        {
            return false;
        }

        if (_trusted.Contains(FlowValueExtractor.Hash(whole)))
        {
            return true;
        }

        if (extracted.Count > 0 && extracted.TrueForAll(v => _trusted.Contains(v.Hash)))
        {
            return true;
        }

        return ContainsWholeWord(_trustedText, _trustedTextCased, whole);
    }

    private static bool ContainsWholeWord(StringBuilder text, StringBuilder cased, string needle)
    {
        if (needle.Length < 2 || text.Length < needle.Length)
        {
            return false;
        }

        string haystack = text.ToString();
        string casedHaystack = cased.Length == text.Length ? cased.ToString() : haystack;
        int at = 0;
        while ((at = haystack.IndexOf(needle, at, StringComparison.Ordinal)) >= 0)
        {
            int end = at + needle.Length;
            bool startOk = at == 0 || IsBoundary(casedHaystack, at - 1, -1);
            bool endOk = end == haystack.Length || IsBoundary(casedHaystack, end, +1);
            if (startOk && endOk)
            {
                return true;
            }

            at++;
        }

        return false;
    }

    /// <summary>
    /// Whether the character at <paramref name="index"/> ends a value: not a letter or digit and not a character that joins
    /// parts of one value (<c>- _ @ / : + # % &amp; = ~</c>), so "1j1l" is not trusted by "1j1l-2k3j"; a '.' counts only at the end
    /// of a sentence (followed, in <paramref name="direction"/>, by something that is not a letter or digit).
    /// </summary>
    private static bool IsBoundary(string text, int index, int direction)
    {
        char c = text[index];
        if (char.IsLetterOrDigit(c) || c is '-' or '_' or '@' or '/' or ':' or '+' or '#' or '%' or '&' or '=' or '~')
        {
            return false;
        }

        if (c == '.')
        {
            // A sentence end: nothing, a non-alphanumeric, or (after the value) a capitalized word without a space ("….com.They").
            int next = index + direction;
            return next < 0 || next >= text.Length || !char.IsLetterOrDigit(text[next])
                || (direction > 0 && char.IsUpper(text[next]) && next + 1 < text.Length && char.IsLower(text[next + 1]));
        }

        return true;
    }

    private bool Collect(string path, string text, List<FlowValue> scratch, List<(string, FlowValue)> into)
    {
        scratch.Clear();
        bool complete = Extractor.Extract(text, scratch, 4096);
        foreach (FlowValue v in scratch)
        {
            into.Add((path, v));
        }

        return complete;
    }

    private bool WalkStrings(JsonElement element, string path, int depth, List<FlowValue> scratch, List<(string, FlowValue)> into)
    {
        if (depth > 64)
        {
            return false;
        }

        bool complete = true;
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                complete &= Collect(path, element.GetString() ?? string.Empty, scratch, into);
                break;
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    complete &= WalkStrings(property.Value, JsonPathSelector.AppendMember(path, property.Name), depth + 1, scratch, into);
                }

                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    complete &= WalkStrings(item, path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", depth + 1, scratch, into);
                    i++;
                }

                break;
        }

        return complete;
    }

    private readonly record struct TrackedValue(FlowProvenance Source, bool Untrusted);

    private sealed class SequenceState(int steps)
    {
        public long[] Start { get; } = new long[Math.Max(1, steps - 1)];

        public FlowProvenance[]?[] Chain { get; } = new FlowProvenance[]?[Math.Max(1, steps - 1)];
    }

    internal sealed class CallSlot(long number, string server, string tool, string requestId, ToolFlow flow)
    {
        public long Number { get; } = number;

        public string Server { get; } = server;

        public string Tool { get; } = tool;

        public string RequestId { get; } = requestId;

        public ToolFlow Flow { get; } = flow;

        public bool Sent { get; set; }

        public bool Responded { get; set; }

        public GuardDecisionKind Decision { get; set; }
    }
}

/// <summary>Links one evaluated call to its flow state, so the transport can report "sent" and "responded".</summary>
internal sealed class FlowTicket(FlowSession session, FlowSession.CallSlot slot)
{
    public FlowSession Session { get; } = session;

    public FlowSession.CallSlot Slot { get; } = slot;
}
