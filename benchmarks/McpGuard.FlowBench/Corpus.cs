using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.FlowBench;

/// <summary>One tool of a suite as <c>tools.jsonl</c> describes it, with the corpus' classification fields.</summary>
public sealed record CorpusTool(
    string Suite,
    string Name,
    string Description,
    JsonElement InputSchema,
    string Effect,
    bool ReturnsUntrusted,
    bool IsSink,
    string? SinkKind,
    bool ReturnsSensitive,
    bool SecuritySensitiveWrite);

/// <summary>One ground-truth call: the tool, its literal arguments and which injection slots its result carries.</summary>
public sealed record CorpusCall(string Function, JsonObject Args, IReadOnlyList<string> ResultInjectionSlots, bool Resolved);

/// <summary>A user task: the prompt and the ordered calls that solve it.</summary>
public sealed record UserTask(string Suite, string Id, string Prompt, IReadOnlyList<CorpusCall> Calls);

/// <summary>An injection (attacker) task: the GOAL text the attack embeds and the calls the attack needs.</summary>
public sealed record InjectionTask(string Suite, string Id, string Goal, IReadOnlyList<CorpusCall> Calls, bool ToolFreeGoal);

/// <summary>
/// The AgentDojo JSON Lines corpus (see its README): <c>tools.jsonl</c>, <c>user_tasks.jsonl</c>,
/// <c>injection_tasks.jsonl</c>. Only the fields the replay needs are read.
/// </summary>
public sealed class AgentDojoCorpus
{
    private AgentDojoCorpus(IReadOnlyList<CorpusTool> tools, IReadOnlyList<UserTask> userTasks, IReadOnlyList<InjectionTask> injectionTasks)
    {
        Tools = tools;
        UserTasks = userTasks;
        InjectionTasks = injectionTasks;
    }

    public IReadOnlyList<CorpusTool> Tools { get; }

    public IReadOnlyList<UserTask> UserTasks { get; }

    public IReadOnlyList<InjectionTask> InjectionTasks { get; }

    /// <summary>Suites in the order they first appear in <c>tools.jsonl</c>.</summary>
    public IReadOnlyList<string> Suites => [.. Tools.Select(t => t.Suite).Distinct(StringComparer.Ordinal)];

    public static AgentDojoCorpus Load(string folder)
    {
        var tools = ReadLines(Path.Combine(folder, "tools.jsonl")).Select(r => new CorpusTool(
            Str(r, "suite"),
            Str(r, "name"),
            Str(r, "description"),
            r["input_schema"] is JsonObject schema ? JsonSerializer.SerializeToElement(schema) : JsonSerializer.SerializeToElement(new JsonObject { ["type"] = "object" }),
            Str(r, "effect"),
            Bool(r, "returns_untrusted"),
            Bool(r, "is_sink"),
            r["sink_kind"]?.GetValue<string>(),
            Bool(r, "returns_sensitive"),
            Bool(r, "security_sensitive_write"))).ToList();

        var users = ReadLines(Path.Combine(folder, "user_tasks.jsonl")).Select(r => new UserTask(
            Str(r, "suite"), Str(r, "id"), Str(r, "prompt"), Calls(r["calls"]))).ToList();

        var injections = ReadLines(Path.Combine(folder, "injection_tasks.jsonl")).Select(r =>
        {
            // Upstream ground truth, or the corpus' synthesized calls where upstream returns none (README, injection_tasks.jsonl).
            JsonNode? calls = Bool(r, "upstream_ground_truth_empty") && r["synthesized_calls"] is JsonArray synthesized ? synthesized : r["calls"];
            return new InjectionTask(Str(r, "suite"), Str(r, "id"), Str(r, "goal"), Calls(calls), Bool(r, "tool_free_goal"));
        }).ToList();

        return new AgentDojoCorpus(tools, users, injections);
    }

    private static IEnumerable<JsonObject> ReadLines(string path)
    {
        foreach (string line in File.ReadLines(path))
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return JsonNode.Parse(line)!.AsObject();
            }
        }
    }

    private static List<CorpusCall> Calls(JsonNode? node) =>
        node is JsonArray array
            ? [.. array.OfType<JsonObject>().Select(c => new CorpusCall(
                Str(c, "function"),
                c["args"] is JsonObject a ? (JsonObject)a.DeepClone() : [],
                c["result_injection_slots"] is JsonArray slots ? [.. slots.Select(s => s!.GetValue<string>())] : [],
                c["resolved"] is not JsonValue v || v.GetValue<bool>()))]
            : [];

    private static string Str(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new InvalidDataException($"Field '{name}' is missing or not a string.");

    private static bool Bool(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>The text of a scalar argument value as a model would write it (invariant culture), or null for non-scalars.</summary>
    public static string? ScalarText(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => null,
    };
}
