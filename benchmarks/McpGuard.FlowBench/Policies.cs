using System.Text.Json.Nodes;

namespace McpGuard.FlowBench;

/// <summary>
/// Loads a suite's host policy file (<c>policies/&lt;suite&gt;.json</c>): <c>Host</c> (what the host tells each session
/// it trusts) and <c>Flow</c> (the McpGuard flow policy, the same JSON a host puts in its <c>McpGuard:Flow</c> section).
/// </summary>
public static class PolicyFiles
{
    public static BenchPolicy Load(string path)
    {
        JsonObject root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })?.AsObject()
            ?? throw new InvalidDataException($"{path}: not a JSON object.");
        string flowJson = root["Flow"] is JsonObject flow ? flow.ToJsonString() : throw new InvalidDataException($"{path}: 'Flow' section missing.");
        List<string> trusted = root["Host"]?["TrustedValues"] is JsonArray values ? [.. values.Select(v => v!.GetValue<string>())] : [];
        bool trustPrompt = root["Host"]?["TrustUserPrompt"] is not JsonValue tp || tp.GetValue<bool>();
        return new BenchPolicy("flow", options => options.LoadPolicyJson(flowJson), trusted, trustPrompt);
    }

    /// <summary>
    /// The reference rule: labels straight from the corpus classification (<c>returns_untrusted</c> ⇒ untrusted-source,
    /// <c>is_sink</c> ⇒ sink) and one rule, "untrusted content in the session ⇒ every sink call needs approval".
    /// No destinations, no argument provenance, no trusted values.
    /// </summary>
    public static BenchPolicy Baseline(AgentDojoCorpus corpus, string suite) => new(
        "baseline",
        options =>
        {
            foreach (CorpusTool tool in corpus.Tools.Where(t => t.Suite == suite))
            {
                var labels = new List<string>();
                if (tool.ReturnsUntrusted)
                {
                    labels.Add(FlowLabels.UntrustedSource);
                }

                if (tool.IsSink)
                {
                    labels.Add(FlowLabels.Sink);
                }

                if (labels.Count > 0)
                {
                    options.LabelTool(suite, tool.Name, [.. labels]);
                }
            }

            options.LethalTrifecta.Enabled = false;
            options.ArgumentProvenance.Enabled = false;
            options.UntrustedBeforeHighImpact.Enabled = true;
            options.UntrustedBeforeHighImpact.Action = FlowAction.RequireApproval;
            options.UntrustedBeforeHighImpact.ExemptTrustedDestinations = false;
        },
        [],
        TrustPrompt: false);

    /// <summary>No flow policy at all: shows what the harness measures when nothing stops the attack.</summary>
    public static BenchPolicy None { get; } = new("none", null, [], TrustPrompt: false);
}
