using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using McpGuard.Pipeline;
using McpGuard.Policies.Arguments;

namespace McpGuard.Policies;

/// <summary>
/// Argument constraints on the JSON arguments before the call: total size, required and forbidden properties, then
/// each <see cref="ArgumentRule"/> in order. The first violation denies with its rule id and JSON path.
/// </summary>
internal sealed class ArgumentConstraintStage : GuardStage
{
    private readonly int _maxArgumentBytes;
    private readonly FrozenDictionary<(string Server, string Tool), CompiledToolConstraints> _tools;

    public ArgumentConstraintStage(McpGuardOptions options)
    {
        _maxArgumentBytes = options.MaxArgumentBytes;
        var tools = new Dictionary<(string, string), CompiledToolConstraints>();
        foreach ((string serverName, GuardServerOptions server) in options.Servers)
        {
            foreach ((string toolName, GuardToolOptions tool) in server.Tools)
            {
                if (tool.Arguments.Count > 0 || tool.RequiredProperties.Count > 0 || tool.ForbiddenProperties.Count > 0 || tool.MaxArgumentBytes is not null)
                {
                    tools[(serverName, toolName)] = new CompiledToolConstraints(tool);
                }
            }
        }

        _tools = tools.ToFrozenDictionary();
    }

    public override string Name => "arguments";

    public override ValueTask<GuardDecision> EvaluateCallAsync(ToolCallContext context, CancellationToken cancellationToken)
    {
        if (context.Arguments.ValueKind != JsonValueKind.Object)
        {
            return new(GuardDecision.Deny("The arguments are not a JSON object.", "argument.malformed", "$"));
        }

        _tools.TryGetValue((context.ServerName, context.ToolName), out CompiledToolConstraints? tool);
        int limit = Math.Min(_maxArgumentBytes, tool?.MaxArgumentBytes ?? int.MaxValue);
        if (context.ArgumentsSize > limit)
        {
            return new(GuardDecision.Deny(
                string.Create(CultureInfo.InvariantCulture, $"The arguments are {context.ArgumentsSize} bytes; the limit is {limit}."),
                "argument.too-large",
                "$"));
        }

        return new(tool?.Evaluate(context.Arguments) ?? GuardDecision.Allow);
    }

    private sealed class CompiledToolConstraints(GuardToolOptions options)
    {
        private readonly string[] _required = [.. options.RequiredProperties];
        private readonly string[] _forbidden = [.. options.ForbiddenProperties];
        private readonly CompiledArgumentRule[] _rules = [.. options.Arguments.Select(r => new CompiledArgumentRule(r))];

        public int? MaxArgumentBytes { get; } = options.MaxArgumentBytes;

        public GuardDecision? Evaluate(JsonElement arguments)
        {
            try
            {
                if (EvaluateProperties(arguments) is { } violation)
                {
                    return violation;
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                // A member name in the arguments or in the configuration is not valid UTF-16 (a lone surrogate): fail closed.
                return GuardDecision.Deny($"The arguments could not be checked ({ex.GetType().Name}).", "argument.check-failed", "$");
            }

            foreach (CompiledArgumentRule rule in _rules)
            {
                if (rule.Evaluate(arguments) is { } violation)
                {
                    return violation;
                }
            }

            return null;
        }

        private GuardDecision? EvaluateProperties(JsonElement arguments)
        {
            foreach (string name in _required)
            {
                if (!arguments.TryGetProperty(name, out _))
                {
                    return GuardDecision.Deny($"The required argument '{name}' is missing.", "argument.required", JsonPathSelector.AppendMember("$", name));
                }
            }

            foreach (string name in _forbidden)
            {
                if (arguments.TryGetProperty(name, out _))
                {
                    return GuardDecision.Deny($"The argument '{name}' is forbidden.", "argument.forbidden", JsonPathSelector.AppendMember("$", name));
                }
            }

            return null;
        }
    }
}
