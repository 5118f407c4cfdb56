using System.Text.Json.Nodes;

namespace McpGuard.Flow;

/// <summary>Renders a <see cref="FlowChain"/> for evidence and for the approval digest. Values are never included, only kinds and JSON paths.</summary>
internal static class FlowEvidence
{
    public static JsonObject ToJson(FlowChain chain)
    {
        var sources = new JsonArray();
        foreach (FlowProvenance s in chain.Sources)
        {
            sources.Add((JsonNode)Provenance(s));
        }

        var arguments = new JsonArray();
        foreach (FlowArgumentFinding f in chain.Arguments)
        {
            arguments.Add((JsonNode)new JsonObject
            {
                ["path"] = f.JsonPath,
                ["kind"] = f.Kind.ToString(),
                ["source"] = f.Source is null ? null : Provenance(f.Source),
            });
        }

        var also = new JsonArray();
        foreach (string id in chain.AlsoFired)
        {
            also.Add((JsonNode?)JsonValue.Create(id));
        }

        return new JsonObject
        {
            ["ruleId"] = chain.RuleId,
            ["call"] = chain.CallNumber,
            ["summary"] = chain.Summary,
            ["sources"] = sources,
            ["arguments"] = arguments,
            ["alsoFired"] = also,
        };
    }

    public static JsonObject DigestJson(FlowChain chain)
    {
        var calls = new JsonArray();
        foreach (FlowProvenance s in chain.Sources)
        {
            calls.Add((JsonNode?)JsonValue.Create(s.CallNumber));
        }

        return new JsonObject
        {
            ["ruleId"] = chain.RuleId,
            ["call"] = chain.CallNumber,
            ["summary"] = chain.Summary,
            ["sources"] = calls,
        };
    }

    private static JsonObject Provenance(FlowProvenance s) => new()
    {
        ["call"] = s.CallNumber,
        ["server"] = s.ServerName,
        ["tool"] = s.ToolName,
        ["label"] = s.Label,
        ["origin"] = s.Origin.ToString(),
    };
}
