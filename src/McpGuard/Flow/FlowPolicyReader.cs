using System.Text.Json;

namespace McpGuard.Flow;

/// <summary>
/// Reads a JSON flow policy (the shape of the <c>McpGuard:Flow</c> configuration section) into <see cref="FlowOptions"/>
/// without reflection (AOT-safe). Keys are case-insensitive; unknown keys are errors so a typo never weakens a policy.
/// </summary>
internal static class FlowPolicyReader
{
    private static readonly JsonDocumentOptions s_options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 };

    public static void Apply(FlowOptions options, string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, s_options);
        }
        catch (JsonException ex)
        {
            throw new FlowPolicyFormatException($"The flow policy is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            Expect(root, JsonValueKind.Object, "$");
            string path = "$";
            if (Find(root, "McpGuard") is { } guard)
            {
                Expect(guard, JsonValueKind.Object, "$.McpGuard");
                root = Find(guard, "Flow") ?? throw new FlowPolicyFormatException("$.McpGuard has no 'Flow' object; put the flow policy under McpGuard.Flow.");
                path = "$.McpGuard.Flow";
            }
            else if (Find(root, "Flow") is { } flow && root.EnumerateObject().Count() == 1)
            {
                root = flow;
                path = "$.Flow";
            }

            ReadFlow(options, root, path);
        }
    }

    private static void ReadFlow(FlowOptions o, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "enabled": o.Enabled = Bool(p.Value, at); break;
                case "scope": o.Scope = Enum<TaintScope>(p.Value, at); break;
                case "taintfromisolation": o.TaintFromIsolation = Bool(p.Value, at); break;
                case "defaultlabels": o.DefaultLabels.AddRange(Strings(p.Value, at)); break;
                case "servers":
                    Expect(p.Value, JsonValueKind.Object, at);
                    foreach (JsonProperty server in p.Value.EnumerateObject())
                    {
                        if (!o.Servers.TryGetValue(server.Name, out FlowServerOptions? so))
                        {
                            o.Servers[server.Name] = so = new FlowServerOptions();
                        }

                        ReadServer(so, server.Value, at + "." + server.Name);
                    }

                    break;
                case "annotations": ReadAnnotations(o.Annotations, p.Value, at); break;
                case "lethaltrifecta": ReadRule(o.LethalTrifecta, p.Value, at); break;
                case "untrustedbeforehighimpact": ReadRule(o.UntrustedBeforeHighImpact, p.Value, at); break;
                case "argumentprovenance": ReadProvenance(o.ArgumentProvenance, p.Value, at); break;
                case "sequences":
                    Expect(p.Value, JsonValueKind.Array, at);
                    int i = 0;
                    foreach (JsonElement item in p.Value.EnumerateArray())
                    {
                        o.Sequences.Add(ReadSequence(item, $"{at}[{i++}]"));
                    }

                    break;
                case "limits": ReadLimits(o.Limits, p.Value, at); break;
                default: throw Unknown(at, "Enabled, Scope, TaintFromIsolation, DefaultLabels, Servers, Annotations, LethalTrifecta, UntrustedBeforeHighImpact, ArgumentProvenance, Sequences, Limits");
            }
        }
    }

    private static void ReadServer(FlowServerOptions so, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "defaultlabels": so.DefaultLabels.AddRange(Strings(p.Value, at)); break;
                case "tools":
                    Expect(p.Value, JsonValueKind.Object, at);
                    foreach (JsonProperty tool in p.Value.EnumerateObject())
                    {
                        if (!so.Tools.TryGetValue(tool.Name, out FlowToolOptions? to))
                        {
                            so.Tools[tool.Name] = to = new FlowToolOptions();
                        }

                        ReadTool(to, tool.Value, at + "." + tool.Name);
                    }

                    break;
                default: throw Unknown(at, "DefaultLabels, Tools");
            }
        }
    }

    private static void ReadTool(FlowToolOptions to, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "labels": to.Labels.AddRange(Strings(p.Value, at)); break;
                case "sinkkind": to.SinkKind = p.Value.ValueKind == JsonValueKind.Null ? null : String(p.Value, at); break;
                case "destinations": to.Destinations.AddRange(Strings(p.Value, at)); break;
                case "untrusteddestinationaction": to.UntrustedDestinationAction = p.Value.ValueKind == JsonValueKind.Null ? null : Enum<FlowAction>(p.Value, at); break;
                case "trustedarguments": to.TrustedArguments.AddRange(Strings(p.Value, at)); break;
                case "untrustedargumentaction": to.UntrustedArgumentAction = Enum<FlowAction>(p.Value, at); break;
                case "copiedtextpaths": to.CopiedTextPaths.AddRange(Strings(p.Value, at)); break;
                case "localwithoutdestinations": to.LocalWithoutDestinations = Bool(p.Value, at); break;
                default: throw Unknown(at, "Labels, SinkKind, Destinations, LocalWithoutDestinations, UntrustedDestinationAction, TrustedArguments, UntrustedArgumentAction, CopiedTextPaths");
            }
        }
    }

    private static void ReadRule(FlowRuleOptions r, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "enabled": r.Enabled = Bool(p.Value, at); break;
                case "action": r.Action = Enum<FlowAction>(p.Value, at); break;
                case "exempttrusteddestinations": r.ExemptTrustedDestinations = Bool(p.Value, at); break;
                default: throw Unknown(at, "Enabled, Action, ExemptTrustedDestinations");
            }
        }
    }

    private static void ReadProvenance(ArgumentProvenanceOptions a, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "enabled": a.Enabled = Bool(p.Value, at); break;
                case "action": a.Action = Enum<FlowAction>(p.Value, at); break;
                case "sourcelabels": a.SourceLabels.AddRange(Strings(p.Value, at)); break;
                case "valuekinds": a.ValueKinds = Kinds(p.Value, at); break;
                case "scope": a.Scope = Enum<FlowArgumentScope>(p.Value, at); break;
                case "exempttrusteddestinations": a.ExemptTrustedDestinations = Bool(p.Value, at); break;
                case "mintokenlength": a.MinTokenLength = Int(p.Value, at); break;
                case "copiedtextwords": a.CopiedTextWords = Int(p.Value, at); break;
                default: throw Unknown(at, "Enabled, Action, SourceLabels, ValueKinds, Scope, ExemptTrustedDestinations, MinTokenLength, CopiedTextWords");
            }
        }
    }

    private static FlowSequenceRule ReadSequence(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        var rule = new FlowSequenceRule();
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "name": rule.Name = String(p.Value, at); break;
                case "steps": rule.Steps.AddRange(Strings(p.Value, at)); break;
                case "window": rule.Window = Int(p.Value, at); break;
                case "action": rule.Action = Enum<FlowAction>(p.Value, at); break;
                default: throw Unknown(at, "Name, Steps, Window, Action");
            }
        }

        return rule;
    }

    private static void ReadAnnotations(FlowAnnotationOptions a, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "destructivehintaddsdestructive": a.DestructiveHintAddsDestructive = Bool(p.Value, at); break;
                case "openworldhintaddsuntrustedsource": a.OpenWorldHintAddsUntrustedSource = Bool(p.Value, at); break;
                default: throw Unknown(at, "DestructiveHintAddsDestructive, OpenWorldHintAddsUntrustedSource");
            }
        }
    }

    private static void ReadLimits(FlowLimitOptions l, JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Object, path);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            string at = path + "." + p.Name;
            switch (p.Name.ToLowerInvariant())
            {
                case "maxtrackedvalues": l.MaxTrackedValues = Int(p.Value, at); break;
                case "maxtrustedvalues": l.MaxTrustedValues = Int(p.Value, at); break;
                case "maxtrustedinputchars": l.MaxTrustedInputChars = Int(p.Value, at); break;
                case "maxscannedresultchars": l.MaxScannedResultChars = Int(p.Value, at); break;
                case "maxhistory": l.MaxHistory = Int(p.Value, at); break;
                case "maxsourcesperlabel": l.MaxSourcesPerLabel = Int(p.Value, at); break;
                case "maxtrackedphrases": l.MaxTrackedPhrases = Int(p.Value, at); break;
                default: throw Unknown(at, "MaxTrackedValues, MaxTrackedPhrases, MaxTrustedValues, MaxTrustedInputChars, MaxScannedResultChars, MaxHistory, MaxSourcesPerLabel");
            }
        }
    }

    private static JsonElement? Find(JsonElement obj, string name)
    {
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }

    private static void Expect(JsonElement e, JsonValueKind kind, string path)
    {
        if (e.ValueKind != kind)
        {
            throw new FlowPolicyFormatException($"{path} is a JSON {e.ValueKind.ToString().ToLowerInvariant()}; it must be a JSON {kind.ToString().ToLowerInvariant()}.");
        }
    }

    private static bool Bool(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when bool.TryParse(e.GetString(), out bool b) => b,
        _ => throw new FlowPolicyFormatException($"{path} must be true or false."),
    };

    private static int Int(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i
        : e.ValueKind == JsonValueKind.String && int.TryParse(e.GetString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int s) ? s
        : throw new FlowPolicyFormatException($"{path} must be a whole number.");

    private static string String(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FlowPolicyFormatException($"{path} must be a string.");

    private static List<string> Strings(JsonElement e, string path)
    {
        Expect(e, JsonValueKind.Array, path);
        var list = new List<string>();
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            list.Add(String(item, $"{path}[{i++}]"));
        }

        return list;
    }

    private static T Enum<T>(JsonElement e, string path)
        where T : struct, System.Enum
    {
        if (e.ValueKind == JsonValueKind.String && System.Enum.TryParse(e.GetString(), ignoreCase: true, out T value) && System.Enum.IsDefined(value))
        {
            return value;
        }

        throw new FlowPolicyFormatException($"{path} must be one of: {string.Join(", ", System.Enum.GetNames<T>())}.");
    }

    private static FlowValueKinds Kinds(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.String && System.Enum.TryParse(e.GetString(), ignoreCase: true, out FlowValueKinds single) && (single & ~FlowValueKinds.All) == 0)
        {
            return single;
        }

        FlowValueKinds kinds = FlowValueKinds.None;
        foreach (string name in Strings(e, path))
        {
            if (!System.Enum.TryParse(name, ignoreCase: true, out FlowValueKinds k) || (k & ~FlowValueKinds.All) != 0)
            {
                throw new FlowPolicyFormatException($"{path}: '{name}' is not a value kind; use {string.Join(", ", System.Enum.GetNames<FlowValueKinds>())}.");
            }

            kinds |= k;
        }

        return kinds;
    }

    private static FlowPolicyFormatException Unknown(string path, string known) =>
        new($"{path} is not a flow policy setting; known settings here: {known}.");
}
