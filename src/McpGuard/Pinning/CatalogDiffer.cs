using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using McpGuard.Text;

namespace McpGuard.Pinning;

/// <summary>
/// Semantic diff of two versions of one catalog item (tool, prompt, resource template), with a risk level per finding.
/// Pure, deterministic and bounded: descriptions are diffed word by word (LCS over at most 4M cells, else a
/// prefix/suffix diff), schemas are walked to depth 32.
/// </summary>
internal static class CatalogDiffer
{
    private const int MaxSchemaDepth = 32;
    private const long MaxLcsCells = 4_000_000;

    private static readonly string[] s_constraintKeywords =
        ["enum", "const", "pattern", "format", "maxLength", "minLength", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "maxItems", "minItems", "maxProperties", "uniqueItems", "multipleOf"];

    public static CatalogItemDiff Diff(CatalogItemKind kind, string name, JsonElement? pinned, string? pinnedSha, JsonElement? current, string? currentSha)
    {
        var findings = new List<CatalogFinding>();
        if (pinned is null && current is { } added)
        {
            findings.Add(new CatalogFinding(ChangeKind.ItemAdded, "$", ChangeRisk.High, "A new item appeared that was not in the pinned catalog."));
            if (Str(added, "description") is { } description && FindInstructionCues(description) is { Count: > 0 } cues)
            {
                findings.Add(new CatalogFinding(ChangeKind.DescriptionChanged, "$.description", ChangeRisk.High,
                    "The new item's description contains instruction-like text: " + string.Join(", ", cues.Select(c => "'" + c + "'")) + "."));
            }
        }
        else if (current is null && pinned is not null)
        {
            findings.Add(new CatalogFinding(ChangeKind.ItemRemoved, "$", ChangeRisk.Low, "A pinned item is no longer offered."));
        }
        else if (pinned is { } before && current is { } after)
        {
            DiffText(findings, "$.title", ChangeKind.TitleChanged, Str(before, "title"), Str(after, "title"));
            DiffText(findings, "$.description", ChangeKind.DescriptionChanged, Str(before, "description"), Str(after, "description"));
            string schemaKey = kind == CatalogItemKind.Prompt ? "arguments" : "inputSchema";
            if (kind == CatalogItemKind.Tool)
            {
                DiffSchema(findings, "$.inputSchema", Prop(before, "inputSchema"), Prop(after, "inputSchema"), 0);
                DiffAnnotations(findings, Prop(before, "annotations"), Prop(after, "annotations"));
                if (!JsonEquals(Prop(before, "outputSchema"), Prop(after, "outputSchema")))
                {
                    var output = new List<CatalogFinding>();
                    DiffSchema(output, "$.outputSchema", Prop(before, "outputSchema"), Prop(after, "outputSchema"), 0);
                    findings.Add(new CatalogFinding(ChangeKind.OutputSchemaChanged, "$.outputSchema", ChangeRisk.Medium,
                        "The output schema changed" + (output.Count > 0 ? ": " + string.Join("; ", output.Select(o => o.Kind + " " + o.Path)) : ".")));
                }
            }
            else if (!JsonEquals(Prop(before, schemaKey), Prop(after, schemaKey)))
            {
                findings.Add(new CatalogFinding(ChangeKind.OtherChanged, "$." + schemaKey, ChangeRisk.Medium, "The item's parameters changed.",
                    Short(Prop(before, schemaKey)), Short(Prop(after, schemaKey))));
            }

            if (findings.Count == 0 && !string.Equals(pinnedSha, currentSha, StringComparison.Ordinal))
            {
                var keys = new SortedSet<string>(StringComparer.Ordinal);
                foreach (JsonProperty p in before.EnumerateObject())
                {
                    if (!after.TryGetProperty(p.Name, out JsonElement other) || !JsonEquals(p.Value, other))
                    {
                        keys.Add(p.Name);
                    }
                }

                foreach (JsonProperty p in after.EnumerateObject())
                {
                    if (!before.TryGetProperty(p.Name, out _))
                    {
                        keys.Add(p.Name);
                    }
                }

                findings.Add(new CatalogFinding(ChangeKind.OtherChanged, "$", ChangeRisk.Medium,
                    "Other fields changed: " + (keys.Count > 0 ? string.Join(", ", keys) : "(nested)") + "."));
            }
        }

        findings.Sort((a, b) => b.Risk.CompareTo(a.Risk));
        ChangeRisk risk = findings.Count == 0 ? ChangeRisk.Low : findings.Max(f => f.Risk);
        return new CatalogItemDiff(kind, name, pinnedSha, currentSha, risk, findings);
    }

    // ------------------------------------------------------------------ text

    private static void DiffText(List<CatalogFinding> findings, string path, ChangeKind kind, string? before, string? after)
    {
        if (string.Equals(before, after, StringComparison.Ordinal))
        {
            return;
        }

        string[] oldWords = Words(before);
        string[] newWords = Words(after);
        (List<string> removed, List<string> added, string rendered) = WordDiff(oldWords, newWords);
        if (removed.Count == 0 && added.Count == 0)
        {
            findings.Add(new CatalogFinding(kind, path, ChangeRisk.Low, "Whitespace-only change."));
            return;
        }

        List<string> cues = FindInstructionCues(string.Join(' ', added));
        if (cues.Count > 0)
        {
            findings.Add(new CatalogFinding(kind, path, ChangeRisk.High,
                "The text gained instruction-like wording: " + string.Join(", ", cues.Select(c => "'" + c + "'")) + ".", TextDiff: rendered));
            return;
        }

        bool typo = removed.Count == added.Count && added.Count <= 2
            && removed.Zip(added).All(p => Levenshtein(p.First, p.Second, 3) <= 2);
        findings.Add(typo
            ? new CatalogFinding(kind, path, ChangeRisk.Low, "A typo-level edit.", TextDiff: rendered)
            : new CatalogFinding(kind, path, ChangeRisk.Medium, "The wording changed.", TextDiff: rendered));
    }

    private static string[] Words(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Word-level LCS diff. Returns removed words, added words and a rendering with <c>[-x-]</c>/<c>{+y+}</c>.</summary>
    internal static (List<string> Removed, List<string> Added, string Rendered) WordDiff(string[] a, string[] b)
    {
        int prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        int suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        int n = a.Length - prefix - suffix;
        int m = b.Length - prefix - suffix;
        var ops = new List<(char Op, string Word)>();
        if ((long)(n + 1) * (m + 1) <= MaxLcsCells)
        {
            var lcs = new int[n + 1, m + 1];
            for (int i = n - 1; i >= 0; i--)
            {
                for (int j = m - 1; j >= 0; j--)
                {
                    lcs[i, j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
                }
            }

            int x = 0, y = 0;
            while (x < n && y < m)
            {
                if (a[prefix + x] == b[prefix + y])
                {
                    ops.Add(('=', a[prefix + x]));
                    x++;
                    y++;
                }
                else if (lcs[x + 1, y] >= lcs[x, y + 1])
                {
                    ops.Add(('-', a[prefix + x++]));
                }
                else
                {
                    ops.Add(('+', b[prefix + y++]));
                }
            }

            while (x < n)
            {
                ops.Add(('-', a[prefix + x++]));
            }

            while (y < m)
            {
                ops.Add(('+', b[prefix + y++]));
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                ops.Add(('-', a[prefix + i]));
            }

            for (int j = 0; j < m; j++)
            {
                ops.Add(('+', b[prefix + j]));
            }
        }

        var removed = ops.Where(o => o.Op == '-').Select(o => o.Word).ToList();
        var added = ops.Where(o => o.Op == '+').Select(o => o.Word).ToList();
        var sb = new StringBuilder();
        const int Context = 6;
        if (prefix > Context)
        {
            sb.Append("… ");
        }

        for (int i = Math.Max(0, prefix - Context); i < prefix; i++)
        {
            sb.Append(a[i]).Append(' ');
        }

        char current = '=';
        foreach ((char op, string word) in ops)
        {
            if (op != current)
            {
                CloseRun(sb, current);
                if (op == '-')
                {
                    sb.Append("[-");
                }
                else if (op == '+')
                {
                    sb.Append("{+");
                }

                current = op;
            }
            else if (op != '=')
            {
                // Separates words inside a [-...-] or {+...+} run; '=' words already end with a space.
                sb.Append(' ');
            }

            if (op == '=')
            {
                sb.Append(word).Append(' ');
            }
            else
            {
                sb.Append(word);
            }
        }

        CloseRun(sb, current);
        for (int i = a.Length - suffix; i < Math.Min(a.Length, a.Length - suffix + Context); i++)
        {
            sb.Append(a[i]).Append(' ');
        }

        if (suffix > Context)
        {
            sb.Append('…');
        }

        return (removed, added, sb.ToString().Trim());

        static void CloseRun(StringBuilder sb, char op)
        {
            if (op == '-')
            {
                sb.Append("-] ");
            }
            else if (op == '+')
            {
                sb.Append("+} ");
            }
        }
    }

    /// <summary>Words and phrases that turn a description into instructions aimed at the model (tool poisoning cues).</summary>
    internal static List<string> FindInstructionCues(string text)
    {
        var found = new List<string>();
        foreach (Match match in InstructionCue.Matches(text))
        {
            string cue = match.Value.ToLowerInvariant();
            if (!found.Contains(cue))
            {
                found.Add(cue);
            }

            if (found.Count >= 8)
            {
                break;
            }
        }

        return found;
    }

    private static readonly Regex InstructionCue = LinearRegex.Create(
        @"\b(ignore|disregard|omit|do not|don't|never|always|must|instead|unless|before (?:using|calling|you)|after (?:using|calling)|make sure|important|assistant|the model|system prompt|instructions?|secret|password|api[ _-]?key|credential|token|send|forward|upload|exfiltrate|e-?mail|https?://|without (?:telling|informing|mentioning)|do not (?:tell|mention|inform)|hide|conceal|don't (?:tell|mention)|<\s*important\s*>|note to)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    internal static readonly Regex SuspiciousParameter = LinearRegex.Create(
        @"(callback|webhook|url|uri|endpoint|redirect|token|secret|passw|api_?key|credential|auth|cookie|session|note|context|instruction|prompt|memo|comment|email|recipient|bcc|forward|exfil|debug)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static int Levenshtein(string s, string t, int cap)
    {
        if (Math.Abs(s.Length - t.Length) > cap)
        {
            return cap + 1;
        }

        var previous = new int[t.Length + 1];
        var current = new int[t.Length + 1];
        for (int j = 0; j <= t.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= s.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= t.Length; j++)
            {
                int cost = s[i - 1] == t[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[t.Length];
    }

    // ------------------------------------------------------------------ schema

    private static void DiffSchema(List<CatalogFinding> findings, string path, JsonElement? before, JsonElement? after, int depth)
    {
        if (depth > MaxSchemaDepth || JsonEquals(before, after))
        {
            return;
        }

        if (before is not { ValueKind: JsonValueKind.Object } b || after is not { ValueKind: JsonValueKind.Object } a)
        {
            findings.Add(new CatalogFinding(ChangeKind.TypeChanged, path, ChangeRisk.Medium, "The schema was replaced.", Short(before), Short(after)));
            return;
        }

        DiffText(findings, path + ".description", ChangeKind.DescriptionChanged, Str(b, "description"), Str(a, "description"));

        HashSet<string> oldTypes = Types(b);
        HashSet<string> newTypes = Types(a);
        if (!oldTypes.SetEquals(newTypes))
        {
            bool widened = newTypes.Count == 0 || (oldTypes.Count > 0 && newTypes.IsSupersetOf(oldTypes));
            findings.Add(new CatalogFinding(widened ? ChangeKind.TypeWidened : ChangeKind.TypeChanged, path + ".type", ChangeRisk.Medium,
                widened ? "The accepted types were widened." : "The type changed.", Short(Prop(b, "type")), Short(Prop(a, "type"))));
        }

        foreach (string keyword in s_constraintKeywords)
        {
            JsonElement? oldValue = Prop(b, keyword);
            JsonElement? newValue = Prop(a, keyword);
            if (JsonEquals(oldValue, newValue))
            {
                continue;
            }

            if (oldValue is not null && (newValue is null || Loosened(keyword, oldValue.Value, newValue.Value)))
            {
                findings.Add(new CatalogFinding(ChangeKind.ConstraintRemoved, path + "." + keyword, ChangeRisk.Medium,
                    newValue is null ? $"The '{keyword}' restriction was removed." : $"The '{keyword}' restriction was loosened.", Short(oldValue), Short(newValue)));
            }
            else
            {
                findings.Add(new CatalogFinding(ChangeKind.ConstraintAdded, path + "." + keyword, ChangeRisk.Low,
                    $"The '{keyword}' restriction was added or tightened.", Short(oldValue), Short(newValue)));
            }
        }

        bool wasClosed = Prop(b, "additionalProperties") is { ValueKind: JsonValueKind.False };
        bool isClosed = Prop(a, "additionalProperties") is { ValueKind: JsonValueKind.False };
        if (wasClosed && !isClosed)
        {
            findings.Add(new CatalogFinding(ChangeKind.AdditionalPropertiesOpened, path + ".additionalProperties", ChangeRisk.Medium,
                "The schema now accepts properties it did not declare."));
        }

        HashSet<string> oldRequired = Required(b);
        HashSet<string> newRequired = Required(a);
        JsonElement? oldProps = Prop(b, "properties");
        JsonElement? newProps = Prop(a, "properties");
        var oldNames = Names(oldProps);
        var newNames = Names(newProps);
        foreach (string name in newNames.Where(n => !oldNames.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            string propertyPath = path + ".properties" + AppendName(name);
            bool suspicious = SuspiciousParameter.IsMatch(name);
            if (newRequired.Contains(name))
            {
                findings.Add(new CatalogFinding(ChangeKind.RequiredAdded, propertyPath, suspicious ? ChangeRisk.High : ChangeRisk.Medium,
                    suspicious
                        ? $"A new required parameter '{name}' is named like a URL, callback, credential, note or context field: a classic exfiltration channel."
                        : $"A new required parameter '{name}'."));
            }
            else
            {
                findings.Add(new CatalogFinding(ChangeKind.PropertyAdded, propertyPath, ChangeRisk.Medium,
                    suspicious ? $"A new optional parameter '{name}' named like a URL, callback, credential, note or context field." : $"A new optional parameter '{name}'."));
            }

            if (newProps is { } np && np.TryGetProperty(name, out JsonElement schema) && Str(schema, "description") is { } d && FindInstructionCues(d) is { Count: > 0 } cues)
            {
                findings.Add(new CatalogFinding(ChangeKind.DescriptionChanged, propertyPath + ".description", ChangeRisk.High,
                    "The new parameter's description contains instruction-like text: " + string.Join(", ", cues.Select(c => "'" + c + "'")) + "."));
            }
        }

        foreach (string name in oldNames.Where(n => !newNames.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            findings.Add(new CatalogFinding(ChangeKind.PropertyRemoved, path + ".properties" + AppendName(name), ChangeRisk.Low, $"The parameter '{name}' was removed."));
        }

        foreach (string name in newRequired.Where(n => !oldRequired.Contains(n) && oldNames.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            bool suspicious = SuspiciousParameter.IsMatch(name);
            findings.Add(new CatalogFinding(ChangeKind.RequiredAdded, path + ".required", suspicious ? ChangeRisk.High : ChangeRisk.Medium,
                $"The parameter '{name}' became required."));
        }

        foreach (string name in oldRequired.Where(n => !newRequired.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            findings.Add(new CatalogFinding(ChangeKind.RequiredRemoved, path + ".required", ChangeRisk.Low, $"The parameter '{name}' is no longer required."));
        }

        foreach (string name in oldNames.Where(newNames.Contains).OrderBy(n => n, StringComparer.Ordinal))
        {
            oldProps!.Value.TryGetProperty(name, out JsonElement o);
            newProps!.Value.TryGetProperty(name, out JsonElement n);
            DiffSchema(findings, path + ".properties" + AppendName(name), o, n, depth + 1);
        }

        if (Prop(b, "items") is not null || Prop(a, "items") is not null)
        {
            DiffSchema(findings, path + ".items", Prop(b, "items"), Prop(a, "items"), depth + 1);
        }
    }

    private static bool Loosened(string keyword, JsonElement before, JsonElement after)
    {
        switch (keyword)
        {
            case "maxLength" or "maximum" or "exclusiveMaximum" or "maxItems" or "maxProperties":
                return before.ValueKind == JsonValueKind.Number && after.ValueKind == JsonValueKind.Number && Json.JsonNumbers.ToDouble(after) > Json.JsonNumbers.ToDouble(before);
            case "minLength" or "minimum" or "exclusiveMinimum" or "minItems":
                return before.ValueKind == JsonValueKind.Number && after.ValueKind == JsonValueKind.Number && Json.JsonNumbers.ToDouble(after) < Json.JsonNumbers.ToDouble(before);
            case "enum":
                if (before.ValueKind != JsonValueKind.Array || after.ValueKind != JsonValueKind.Array)
                {
                    return true;
                }

                var old = before.EnumerateArray().Select(e => e.GetRawText()).ToHashSet(StringComparer.Ordinal);
                return after.EnumerateArray().Any(e => !old.Contains(e.GetRawText()));
            case "uniqueItems":
                return before.ValueKind == JsonValueKind.True && after.ValueKind != JsonValueKind.True;
            default:
                return true;
        }
    }

    private static void DiffAnnotations(List<CatalogFinding> findings, JsonElement? before, JsonElement? after)
    {
        if (JsonEquals(before, after))
        {
            return;
        }

        // Spec defaults (MCP "Tool annotations"): readOnlyHint false, destructiveHint true, idempotentHint false, openWorldHint true.
        Flip(findings, "readOnlyHint", Bool(before, "readOnlyHint") ?? false, Bool(after, "readOnlyHint") ?? false, fromTrueRisk: ChangeRisk.High, toTrueRisk: ChangeRisk.Low,
            "A read-only tool may now modify its environment.", "The tool now declares itself read-only.");
        Flip(findings, "destructiveHint", Bool(before, "destructiveHint") ?? true, Bool(after, "destructiveHint") ?? true, fromTrueRisk: ChangeRisk.Low, toTrueRisk: ChangeRisk.High,
            "The tool no longer declares itself destructive.", "The tool now declares destructive updates.");
        Flip(findings, "openWorldHint", Bool(before, "openWorldHint") ?? true, Bool(after, "openWorldHint") ?? true, fromTrueRisk: ChangeRisk.Low, toTrueRisk: ChangeRisk.Medium,
            "The tool no longer declares open-world interaction.", "The tool now interacts with an open world (external entities).");
        Flip(findings, "idempotentHint", Bool(before, "idempotentHint") ?? false, Bool(after, "idempotentHint") ?? false, fromTrueRisk: ChangeRisk.Medium, toTrueRisk: ChangeRisk.Low,
            "Repeated calls may now have additional effects.", "The tool now declares itself idempotent.");
        string? oldTitle = before is { } b ? Str(b, "title") : null;
        string? newTitle = after is { } a ? Str(a, "title") : null;
        DiffText(findings, "$.annotations.title", ChangeKind.TitleChanged, oldTitle, newTitle);
    }

    private static void Flip(List<CatalogFinding> findings, string hint, bool before, bool after, ChangeRisk fromTrueRisk, ChangeRisk toTrueRisk, string fromTrueReason, string toTrueReason)
    {
        if (before == after)
        {
            return;
        }

        findings.Add(new CatalogFinding(ChangeKind.AnnotationChanged, "$.annotations." + hint, before ? fromTrueRisk : toTrueRisk, before ? fromTrueReason : toTrueReason,
            before ? "true" : "false", after ? "true" : "false"));
    }

    // ------------------------------------------------------------------ helpers

    private static JsonElement? Prop(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) ? value : null;

    private static JsonElement? Prop(JsonElement? element, string name) => element is { } e ? Prop(e, name) : null;

    private static string? Str(JsonElement element, string name) =>
        Prop(element, name) is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;

    private static bool? Bool(JsonElement? element, string name) => Prop(element, name) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => null,
    };

    private static HashSet<string> Types(JsonElement schema)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        switch (Prop(schema, "type"))
        {
            case { ValueKind: JsonValueKind.String } s:
                set.Add(s.GetString()!);
                break;
            case { ValueKind: JsonValueKind.Array } arr:
                foreach (JsonElement t in arr.EnumerateArray())
                {
                    if (t.ValueKind == JsonValueKind.String)
                    {
                        set.Add(t.GetString()!);
                    }
                }

                break;
        }

        if (set.Contains("integer") && set.Contains("number"))
        {
            set.Remove("integer");
        }

        return set;
    }

    private static HashSet<string> Required(JsonElement schema)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (Prop(schema, "required") is { ValueKind: JsonValueKind.Array } arr)
        {
            foreach (JsonElement r in arr.EnumerateArray())
            {
                if (r.ValueKind == JsonValueKind.String)
                {
                    set.Add(r.GetString()!);
                }
            }
        }

        return set;
    }

    private static HashSet<string> Names(JsonElement? properties)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (properties is { ValueKind: JsonValueKind.Object } p)
        {
            foreach (JsonProperty property in p.EnumerateObject())
            {
                set.Add(property.Name);
            }
        }

        return set;
    }

    private static string AppendName(string name) => Policies.Arguments.JsonPathSelector.AppendMember(string.Empty, name);

    internal static bool JsonEquals(JsonElement? a, JsonElement? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

#if NET9_0_OR_GREATER
        return JsonElement.DeepEquals(a.Value, b.Value);
#else
        // Inputs come from RFC 8785 canonical documents, so equal values have equal text.
        return a.Value.GetRawText() == b.Value.GetRawText();
#endif
    }

    private static string? Short(JsonElement? element)
    {
        if (element is not { } e)
        {
            return null;
        }

        string raw = e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
        return raw.Length <= 200 ? raw : string.Create(CultureInfo.InvariantCulture, $"{raw[..200]}… ({raw.Length} chars)");
    }
}
