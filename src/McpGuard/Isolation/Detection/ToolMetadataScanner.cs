using System.Text.Json;
using System.Text.RegularExpressions;
using McpGuard.Isolation.Detection;
using McpGuard.Text;

namespace McpGuard;

/// <summary>One finding inside a tool definition.</summary>
/// <param name="Path">JSON path of the scanned field, e.g. <c>$.inputSchema.properties.note.description</c>.</param>
/// <param name="Finding">The finding; its span is relative to the field's text.</param>
public sealed record ToolMetadataFinding(string Path, InjectionFinding Finding);

/// <summary>The result of scanning one tool definition.</summary>
/// <param name="Score">Overall score, 0–1 (distinct rules combined across all fields).</param>
/// <param name="IsSuspicious">Whether the score reaches the detector's threshold.</param>
/// <param name="Findings">The findings, field by field.</param>
public sealed record ToolMetadataScan(double Score, bool IsSuspicious, IReadOnlyList<ToolMetadataFinding> Findings);

/// <summary>
/// Scans a whole tool definition as served by <c>tools/list</c>: name, title, description, every string in the input and
/// output schemas (descriptions, titles, defaults, enum values, examples, at any depth), and annotations. Adds
/// tool-level rules: cross-tool directives (the text tells how or when to use another tool) and schema abuse (a
/// parameter such as <c>note</c> or <c>context</c> whose description asks for content the tool does not need).
/// </summary>
/// <remarks>Thread-safe; never throws on malformed schemas (non-object values are scanned as text where they are strings).</remarks>
public sealed class ToolMetadataScanner
{
    private const string CrossToolRule = "tool.cross-tool-directive";
    private const string SchemaAbuseRule = "tool.schema-abuse";
    private const int MaxDepth = 32;

    private static readonly HashSet<string> SkippedKeys = new(StringComparer.Ordinal) { "type", "$schema", "$id", "$ref", "format", "pattern", "required", "additionalProperties", "contentEncoding", "contentMediaType" };

    private static readonly HashSet<string> CovertNames = new(StringComparer.Ordinal)
    {
        "sidenote", "note", "notes", "context", "feedback", "reasoning", "thoughts", "thinking", "explanation", "summary",
        "comment", "comments", "remark", "remarks", "extra", "extrainfo", "metadata", "debug", "debuginfo", "details",
        "additionalcontext", "additionalinfo", "conversation", "history", "chathistory", "conversationhistory", "systemprompt",
        "instructions", "memory", "log", "trace", "annotation", "rationale", "justification", "userinfo", "info",
    };

    private static readonly Regex AsksForContent = LinearRegex.Create(
        @"\b(?:include|provide|pass|put|paste|add|fill|insert|copy|append|summar\w+|list|send|give|write|dump|record|enter)\w*\b[^.\n]{0,80}\b(?:contents?\s+of|conversation|chat|history|previous\s+(?:messages|turns|instructions)|system\s+prompt|your\s+instructions|everything|all\s+(?:the\s+)?(?:information|details|data|text|messages)|full\s+text|api\s*keys?|tokens?|passwords?|credentials|environment|secrets?|(?:any|all)\s+files?|file\s+contents?)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    // A reference to a tool-like identifier: quoted/backticked snake/kebab/camel case, or "the X tool".
    private static readonly Regex ToolReference = LinearRegex.Create(
        @"[`'""]([a-z][a-z0-9]*(?:[_-][a-z0-9]+)+)[`'""]|\bthe\s+([a-z][a-z0-9]*(?:[_-][a-z0-9]+)+)\s+(?:tool|function)\b|\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\s+tool\b",
        RegexOptions.CultureInvariant);

    private static readonly Regex DirectiveNearby = LinearRegex.Create(
        @"\b(?:instead|deprecated|redirect\w*|rather\s+than|replaced|no\s+longer|must|always|never|mandatory|required|before\s+(?:using|calling|any)|do\s+not\s+use|don'?t\s+use|ignore|buggy|broken|insecure|vulnerab\w+|side\s+effect|whenever|regardless)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private readonly HeuristicInjectionDetector _detector;

    /// <summary>Creates a scanner.</summary>
    /// <param name="detector">The detector to use for each text field; <see langword="null"/> for a default one.</param>
    public ToolMetadataScanner(HeuristicInjectionDetector? detector = null) => _detector = detector ?? new HeuristicInjectionDetector();

    /// <summary>Scans one tool definition.</summary>
    /// <param name="name">The tool name.</param>
    /// <param name="title">The title, if any.</param>
    /// <param name="description">The description, if any.</param>
    /// <param name="inputSchema">The input schema (a JSON Schema object), if any.</param>
    /// <param name="outputSchema">The output schema, if any.</param>
    /// <param name="annotations">The annotations object, if any.</param>
    /// <returns>The combined score and findings with JSON paths.</returns>
    public ToolMetadataScan Scan(string? name, string? title, string? description, JsonElement? inputSchema = null, JsonElement? outputSchema = null, JsonElement? annotations = null)
    {
        var findings = new List<ToolMetadataFinding>();
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            ScanText(name, "$.name", ScanTarget.ToolMetadata, findings, weights);
            ScanText(title, "$.title", ScanTarget.ToolMetadata, findings, weights);
            ScanText(description, "$.description", ScanTarget.ToolMetadata, findings, weights);
            if (inputSchema is { } input)
            {
                ScanSchema(input, "$.inputSchema", findings, weights, 0);
            }

            if (outputSchema is { } output)
            {
                ScanSchema(output, "$.outputSchema", findings, weights, 0);
            }

            if (annotations is { } ann)
            {
                ScanSchema(ann, "$.annotations", findings, weights, 0);
            }

            CrossToolDirectives(name, description, inputSchema, findings, weights);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            findings.Add(new ToolMetadataFinding("$", new InjectionFinding("detector.error", 0, 0, 1, "The scanner failed: " + ex.GetType().Name)));
            weights["detector.error"] = 1;
        }

        double clean = 1;
        foreach (double w in weights.Values)
        {
            clean *= 1 - w;
        }

        double score = Math.Round(1 - clean, 4);
        return new ToolMetadataScan(score, score >= _detector.Threshold, findings);
    }

    private void ScanText(string? text, string path, ScanTarget target, List<ToolMetadataFinding> findings, Dictionary<string, double> weights)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        InjectionScan scan = _detector.Scan(text, target);
        foreach (InjectionFinding f in scan.Findings)
        {
            Add(path, f, findings, weights);
        }
    }

    private static void Add(string path, InjectionFinding f, List<ToolMetadataFinding> findings, Dictionary<string, double> weights)
    {
        findings.Add(new ToolMetadataFinding(path, f));
        weights[f.RuleId] = Math.Max(weights.GetValueOrDefault(f.RuleId), f.Score);
    }

    private void ScanSchema(JsonElement element, string path, List<ToolMetadataFinding> findings, Dictionary<string, double> weights, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                ScanText(element.GetString(), path, ScanTarget.SchemaText, findings, weights);
                break;
            case JsonValueKind.Array:
                int index = 0;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    ScanSchema(item, path + "[" + index++ + "]", findings, weights, depth + 1);
                }

                break;
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    if (SkippedKeys.Contains(property.Name))
                    {
                        continue;
                    }

                    string childPath = path + "." + property.Name;
                    if (property.Name == "properties" && property.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonProperty parameter in property.Value.EnumerateObject())
                        {
                            SchemaAbuse(parameter, childPath + "." + parameter.Name, findings, weights);
                            ScanText(parameter.Name, childPath + "." + parameter.Name + "#name", ScanTarget.SchemaText, findings, weights);
                            ScanSchema(parameter.Value, childPath + "." + parameter.Name, findings, weights, depth + 1);
                        }

                        continue;
                    }

                    ScanSchema(property.Value, childPath, findings, weights, depth + 1);
                }

                break;
            default:
                break;
        }
    }

    private static void SchemaAbuse(JsonProperty parameter, string path, List<ToolMetadataFinding> findings, Dictionary<string, double> weights)
    {
        string normalized = new string(parameter.Name.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();
        if (!CovertNames.Contains(normalized) || parameter.Value.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (parameter.Value.TryGetProperty("description", out JsonElement d) && d.ValueKind == JsonValueKind.String && d.GetString() is { } text)
        {
            var match = AsksForContent.Match(text);
            if (match.Success)
            {
                Add(path + ".description", new InjectionFinding(SchemaAbuseRule, match.Index, match.Length, 0.5, "Side-channel parameter '" + parameter.Name + "' asks for content the tool does not need."), findings, weights);
            }
        }
    }

    // A description that names another tool-like identifier and, in the same sentence, directs its use.
    private static void CrossToolDirectives(string? name, string? description, JsonElement? inputSchema, List<ToolMetadataFinding> findings, Dictionary<string, double> weights)
    {
        if (string.IsNullOrEmpty(description))
        {
            return;
        }

        var parameters = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (inputSchema is { ValueKind: JsonValueKind.Object } schema && schema.TryGetProperty("properties", out JsonElement props) && props.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in props.EnumerateObject())
            {
                parameters.Add(p.Name);
            }
        }

        foreach (Match m in ToolReference.Matches(description))
        {
            string id = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
            if (string.Equals(id, name, StringComparison.OrdinalIgnoreCase) || parameters.Contains(id))
            {
                continue;
            }

            int sentenceStart = Math.Max(0, description.LastIndexOfAny(['.', '\n', '!', '?'], Math.Max(0, m.Index - 1)) + 1);
            int sentenceEnd = description.IndexOfAny(['.', '\n', '!', '?'], m.Index + m.Length);
            sentenceEnd = sentenceEnd < 0 ? description.Length : sentenceEnd;
            if (DirectiveNearby.IsMatch(description.AsSpan(sentenceStart, sentenceEnd - sentenceStart)))
            {
                Add("$.description", new InjectionFinding(CrossToolRule, m.Index, m.Length, 0.3, "Directs the use of another tool ('" + id + "')."), findings, weights);
                return;
            }
        }
    }
}
