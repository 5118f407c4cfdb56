using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.FlowBench;

/// <summary>
/// What the in-process server answers during one replay: the next expected call and its synthesized result, and a
/// record of every call the server actually executed (the ground truth for "executed").
/// </summary>
public sealed class ReplayScript
{
    private readonly object _gate = new();
    private readonly List<string> _executed = [];
    private string? _expectedTool;
    private string? _result;

    /// <summary>Tools the server executed, in order.</summary>
    public IReadOnlyList<string> Executed
    {
        get
        {
            lock (_gate)
            {
                return [.. _executed];
            }
        }
    }

    public int ExecutedCount
    {
        get
        {
            lock (_gate)
            {
                return _executed.Count;
            }
        }
    }

    /// <summary>Sets the result the server returns if the next call reaches it.</summary>
    public void Expect(string tool, string resultText)
    {
        lock (_gate)
        {
            _expectedTool = tool;
            _result = resultText;
        }
    }

    internal CallToolResult Execute(string tool)
    {
        lock (_gate)
        {
            _executed.Add(tool);
            if (!string.Equals(tool, _expectedTool, StringComparison.Ordinal) || _result is null)
            {
                // A call the replay did not send (cannot happen through the guard): answer, but never with data.
                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "unexpected call" }] };
            }

            string text = _result;
            _expectedTool = null;
            _result = null;
            return new CallToolResult { Content = [new TextContentBlock { Text = text }] };
        }
    }
}

/// <summary>A corpus tool served by the SDK's real <see cref="McpServer"/>: name, description and input schema from <c>tools.jsonl</c>; results from the <see cref="ReplayScript"/>.</summary>
internal sealed class CorpusServerTool(CorpusTool tool, ReplayScript script) : McpServerTool
{
    private readonly Tool _protocolTool = new()
    {
        Name = tool.Name,
        Description = tool.Description,
        InputSchema = tool.InputSchema,
    };

    public override Tool ProtocolTool => _protocolTool;

    public override IReadOnlyList<object> Metadata => [];

    public override ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(script.Execute(tool.Name));
}

internal static class JsonArgs
{
    /// <summary>Arguments as the SDK client sends them (each value a <see cref="JsonElement"/>, written verbatim).</summary>
    public static Dictionary<string, object?> ToClientArguments(System.Text.Json.Nodes.JsonObject args) =>
        args.ToDictionary(p => p.Key, p => (object?)(p.Value is null ? null : JsonSerializer.SerializeToElement(p.Value)), StringComparer.Ordinal);
}
