using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Pipeline;

namespace McpGuard.Isolation;

/// <summary>A tool whose metadata was flagged at <c>tools/list</c>, with the reaction chosen.</summary>
internal sealed class ToolMetadataFlag(ToolMetadataAction action, string metadataSha256, IReadOnlyList<string> ruleIds)
{
    public ToolMetadataAction Action { get; } = action;

    public string MetadataSha256 { get; } = metadataSha256;

    public IReadOnlyList<string> RuleIds { get; } = ruleIds;

    public bool ApprovedOnce { get; set; }
}

internal sealed partial class ContentIsolation
{
    private static readonly string[] s_schemaTextKeys = ["description", "title", "default", "const", "enum", "examples"];

    /// <summary>Records which tool names a server advertises, for collision checks against other servers.</summary>
    public void RegisterToolNames(GuardSessionInfo session, IEnumerable<string> names) =>
        _toolNamesByServer[session.ServerName] = [.. names];

    /// <summary>
    /// Sanitizes and scans one tool's metadata. Returns the object to show (a sanitized copy when anything changed, so
    /// the raw definition stays intact for pinning and approvers) and the rule id when the tool must be hidden.
    /// </summary>
    public async ValueTask<(JsonNode Shown, string? HideRule)> ScanToolAsync(GuardSessionInfo session, GuardToolDescriptor descriptor, JsonObject toolObject, bool record, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return (toolObject, null);
        }

        ContentIsolationPolicy policy = PolicyFor(session, descriptor.Name);
        var copy = (JsonObject)toolObject.DeepClone();
        var slots = new SlotList();
        AddString(copy, "title", "$.title", slots, ScanTarget.ToolMetadata, false);
        AddString(copy, "description", "$.description", slots, ScanTarget.ToolMetadata, false);
        if (copy["annotations"] is JsonObject annotations)
        {
            AddString(annotations, "title", "$.annotations.title", slots, ScanTarget.ToolMetadata, false);
        }

        foreach (string schema in (string[])["inputSchema", "outputSchema"])
        {
            if (copy[schema] is JsonNode node)
            {
                CollectSchemaText(node, "$." + schema, slots, 0);
            }
        }

        // The sanitizer produces the copy shown to the model and host-added detectors scan its text. Whether the
        // metadata is flagged is decided by the built-in ToolMetadataScanner on the raw definition: the same code the
        // corpus evaluation (benchmarks/McpGuard.Eval) measures.
        Outcome outcome = await ProcessAsync(slots, policy, cancellationToken, hostDetectorsOnly: true).ConfigureAwait(false);
        var metadataRules = new List<string>();
        if (outcome.Flagged)
        {
            metadataRules.AddRange(outcome.RuleIds);
        }

        if (slots.Overflowed)
        {
            metadataRules.Add(TooComplexRule); // text the guard did not read is shown only as the policy allows a finding
        }

        JsonElement raw = descriptor.RawJson;
        ToolMetadataScan builtIn = _metadataScanner.Scan(
            descriptor.Name,
            descriptor.Title,
            descriptor.Description,
            raw.TryGetProperty("inputSchema", out JsonElement input) ? input : null,
            raw.TryGetProperty("outputSchema", out JsonElement output) ? output : null,
            raw.TryGetProperty("annotations", out JsonElement rawAnnotations) ? rawAnnotations : null);
        if (builtIn.IsSuspicious)
        {
            foreach (ToolMetadataFinding f in builtIn.Findings)
            {
                if (!metadataRules.Contains(f.Finding.RuleId))
                {
                    metadataRules.Add(f.Finding.RuleId);
                }

                outcome.Detections.Add((f.Path, f.Finding));
            }
        }

        var nameRules = new List<(string Rule, string Other)>();
        CheckName(session, descriptor.Name, slots.FirstOrDefault(s => s.Path == "$.description")?.Sanitized ?? descriptor.Description, nameRules);

        ToolMetadataAction action = ToolMetadataAction.Warn;
        bool flagged = metadataRules.Count > 0 || nameRules.Count > 0;
        if (metadataRules.Count > 0)
        {
            action = policy.OnToolMetadataFinding;
        }

        if (nameRules.Count > 0 && policy.OnNameCollision > action)
        {
            action = policy.OnNameCollision;
        }

        if (!flagged)
        {
            session.FlaggedTools.TryRemove(descriptor.Name, out _);
        }
        else
        {
            var flag = new ToolMetadataFlag(action, descriptor.MetadataSha256, [.. metadataRules, .. nameRules.Select(n => n.Rule)]);
            session.FlaggedTools.AddOrUpdate(descriptor.Name, flag, (_, old) =>
            {
                flag.ApprovedOnce = old.ApprovedOnce && old.MetadataSha256 == flag.MetadataSha256;
                return flag;
            });
            if (record)
            {
                var names = new JsonArray();
                foreach ((string rule, string other) in nameRules)
                {
                    names.Add((JsonNode)new JsonObject { ["ruleId"] = rule, ["other"] = other });
                }

                var detections = new JsonArray();
                foreach ((string path, InjectionFinding f) in outcome.Detections.Take(32))
                {
                    detections.Add((JsonNode)new JsonObject { ["path"] = path, ["ruleId"] = f.RuleId, ["start"] = f.Start, ["length"] = f.Length, ["score"] = f.Score, ["explanation"] = f.Explanation });
                }

                var removed = new JsonArray();
                foreach ((string path, SanitizedText sanitized) in outcome.Sanitizer)
                {
                    foreach (SanitizerFinding f in sanitized.Findings.Take(16))
                    {
                        removed.Add((JsonNode)new JsonObject { ["path"] = path, ["ruleId"] = f.RuleId, ["start"] = f.Start, ["length"] = f.Length, ["removed"] = f.Removed, ["decoded"] = f.Decoded });
                    }
                }

                await _evidence.WriteAsync(new GuardEvidence(GuardEvidenceKind.ToolMetadataFlagged, session, _evidence)
                {
                    Method = ModelContextProtocol.Protocol.RequestMethods.ToolsList,
                    ToolName = descriptor.Name,
                    ToolMetadataSha256 = descriptor.MetadataSha256,
                    Decision = action switch
                    {
                        ToolMetadataAction.Hide => GuardDecisionKind.Deny,
                        ToolMetadataAction.RequireApproval => GuardDecisionKind.RequireApproval,
                        _ => GuardDecisionKind.Allow,
                    },
                    RuleId = MetadataFlaggedRule,
                    Reason = "The tool's metadata was flagged: " + string.Join(", ", flag.RuleIds) + ".",
                    Details = new JsonObject
                    {
                        ["action"] = action.ToString(),
                        ["score"] = outcome.MaxScore,
                        ["names"] = names,
                        ["sanitizer"] = removed,
                        ["detections"] = detections,
                    },
                }, cancellationToken).ConfigureAwait(false);
            }
        }

        if (flagged && action == ToolMetadataAction.Hide)
        {
            return (toolObject, MetadataFlaggedRule);
        }

        if (!outcome.Changed)
        {
            return (toolObject, null);
        }

        foreach (Slot slot in slots)
        {
            if (slot.Sanitized is { } text && text != slot.Get())
            {
                slot.Set(text);
            }
        }

        return (copy, null);
    }

    private void CheckName(GuardSessionInfo session, string name, string? description, List<(string Rule, string Other)> rules)
    {
        string skeleton = ToolNameConfusables.Skeleton(name);
        foreach (KeyValuePair<string, string[]> server in _toolNamesByServer)
        {
            if (server.Key == session.ServerName)
            {
                continue;
            }

            foreach (string other in server.Value)
            {
                if (other == name)
                {
                    rules.Add(("tool.name-collision", server.Key + "/" + other));
                }
                else if (ToolNameConfusables.Skeleton(other) == skeleton)
                {
                    rules.Add(("tool.name-confusable", server.Key + "/" + other));
                }
                else if (description is not null && (other.Length >= 6 || other.Contains('_', StringComparison.Ordinal)) && MentionsWord(description, other))
                {
                    rules.Add(("tool.cross-server-reference", server.Key + "/" + other));
                }

                if (rules.Count >= 16)
                {
                    return;
                }
            }
        }

        foreach (KeyValuePair<string, string> known in _wellKnownSkeletons)
        {
            if (known.Value == skeleton && known.Key != name)
            {
                rules.Add(("tool.name-confusable", known.Key));
                return;
            }
        }
    }

    private static bool MentionsWord(string text, string word)
    {
        int from = 0;
        while (from < text.Length)
        {
            int at = text.IndexOf(word, from, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return false;
            }

            int end = at + word.Length;
            bool left = at == 0 || !(char.IsLetterOrDigit(text[at - 1]) || text[at - 1] == '_');
            bool right = end >= text.Length || !(char.IsLetterOrDigit(text[end]) || text[end] == '_');
            if (left && right)
            {
                return true;
            }

            from = at + 1;
        }

        return false;
    }

    private static void CollectSchemaText(JsonNode node, string path, SlotList slots, int depth)
    {
        if (!CanDescend(node, slots, depth))
        {
            return;
        }

        if (node is JsonObject obj)
        {
            foreach (KeyValuePair<string, JsonNode?> pair in obj.ToList())
            {
                string childPath = path + "." + pair.Key;
                if (s_schemaTextKeys.Contains(pair.Key) && pair.Value is not JsonObject)
                {
                    if (pair.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        slots.Add(new Slot(obj, pair.Key, null, childPath, ScanTarget.SchemaText, false));
                    }
                    else if (pair.Value is JsonArray array)
                    {
                        for (int i = 0; i < array.Count; i++)
                        {
                            if (array[i] is JsonValue av && av.GetValueKind() == JsonValueKind.String)
                            {
                                slots.Add(new Slot(null, null, (array, i), $"{childPath}[{i}]", ScanTarget.SchemaText, false));
                            }
                        }
                    }
                }
                else if (pair.Value is not null)
                {
                    CollectSchemaText(pair.Value, childPath, slots, depth + 1);
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (int i = 0; i < array.Count; i++)
            {
                if (array[i] is { } child)
                {
                    CollectSchemaText(child, $"{path}[{i}]", slots, depth + 1);
                }
            }
        }
    }

    /// <summary>Marks a flagged tool as approved once its first call was approved.</summary>
    public static void OnCallApproved(ToolCallContext context, IReadOnlyList<GuardDecision>? reasons)
    {
        if (reasons is not null && reasons.Any(r => r.RuleId == MetadataFlaggedRule) && context.Session.FlaggedTools.TryGetValue(context.ToolName, out ToolMetadataFlag? flag))
        {
            flag.ApprovedOnce = true;
        }
    }
}

/// <summary>
/// The isolation stage of the tool-call pipeline: a tool flagged at <c>tools/list</c> is denied (hide) or needs approval
/// on first use; a tool marked <see cref="GuardToolOptions.RequireApprovalWhenTainted"/> needs approval while the
/// session is tainted.
/// </summary>
internal sealed class IsolationStage : GuardStage
{
    private static readonly GuardDecision s_hidden = GuardDecision.Deny("The tool's metadata was flagged and the tool is hidden by the host's policy.", ContentIsolation.MetadataFlaggedRule);

    public override string Name => "isolation";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        GuardDecision decision = GuardDecision.Allow;
        if (context.Session.FlaggedTools.TryGetValue(context.ToolName, out ToolMetadataFlag? flag))
        {
            if (flag.Action == ToolMetadataAction.Hide)
            {
                return new(s_hidden);
            }

            if (flag.Action == ToolMetadataAction.RequireApproval && !flag.ApprovedOnce)
            {
                decision = GuardDecision.RequireApproval("The tool's metadata was flagged (" + string.Join(", ", flag.RuleIds) + "); its first use needs approval.", ContentIsolation.MetadataFlaggedRule);
            }
        }

        if (context.ToolOptions is { RequireApprovalWhenTainted: true } && context.Session.IsTainted)
        {
            TaintSource first = context.Session.TaintSources[0];
            GuardDecision tainted = GuardDecision.RequireApproval(
                $"The session read content flagged as carrying instructions ({first.Method} {first.Subject} on '{first.ServerName}', request {first.RequestId}); this tool needs approval while the session is tainted.",
                ContentIsolation.TaintedRule);
            // When both apply, the approver sees the taint: it explains why the model wants this call.
            decision = tainted;
        }

        return new(decision);
    }
}
