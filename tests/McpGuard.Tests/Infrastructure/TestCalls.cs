using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;
using McpGuard.Policies;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// Builds the guard's real contexts (<see cref="GuardSessionInfo"/>, <see cref="GuardToolDescriptor"/>,
/// <see cref="ToolCallContext"/>) through their internal constructors, the same way <c>GuardedTransport</c> does:
/// arguments are canonicalized (RFC 8785) and re-parsed, so stages see exactly what they see in production.
/// </summary>
internal static class TestCalls
{
    public const string ServerName = "srv";

    /// <summary>Options with one registered server <see cref="ServerName"/>; <paramref name="configure"/> edits its registration.</summary>
    public static McpGuardOptions Options(Action<GuardServerOptions>? configure = null)
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions();
        configure?.Invoke(server);
        options.Servers[ServerName] = server;
        return options;
    }

    /// <summary>Options whose server has one tool with the given argument rules.</summary>
    public static McpGuardOptions OptionsWithRules(string toolName, params ArgumentRule[] rules) =>
        Options(s =>
        {
            var tool = new GuardToolOptions();
            tool.Arguments.AddRange(rules);
            s.Tools[toolName] = tool;
        });

    public static GuardSessionInfo Session(McpGuardOptions options, string serverName = ServerName, GuardPrincipal? principal = null, ServerIdentity? identity = null)
    {
        options.Servers.TryGetValue(serverName, out GuardServerOptions? registration);
        var session = new GuardSessionInfo(serverName, registration, principal ?? GuardPrincipal.Anonymous, "test-endpoint", DateTimeOffset.UnixEpoch)
        {
            ServerIdentity = identity ?? new ServerIdentity("test-server", "1.0.0", "2025-11-25", null),
        };
        return session;
    }

    public static GuardToolDescriptor Tool(string name, string? description = null, JsonObject? extra = null)
    {
        var raw = new JsonObject { ["name"] = name, ["inputSchema"] = new JsonObject { ["type"] = "object" } };
        if (description is not null)
        {
            raw["description"] = description;
        }

        if (extra is not null)
        {
            foreach ((string key, JsonNode? value) in extra)
            {
                raw[key] = value?.DeepClone();
            }
        }

        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(raw);
        return new GuardToolDescriptor(name, raw, canonical, JsonCanonicalizer.Sha256Hex(canonical));
    }

    /// <summary>Adds <paramref name="tools"/> to the session's catalog, as a <c>tools/list</c> would.</summary>
    public static GuardSessionInfo WithCatalog(this GuardSessionInfo session, params GuardToolDescriptor[] tools)
    {
        session.ReplaceCatalog(tools.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal), merge: false);
        return session;
    }

    /// <summary>A call with arguments given as JSON text (parsed as the SDK would hand them to the transport).</summary>
    public static ToolCallContext Call(GuardSessionInfo session, string toolName, string argumentsJson, string requestId = "1", bool advertised = true) =>
        Call(session, toolName, JsonNode.Parse(argumentsJson, documentOptions: new JsonDocumentOptions { MaxDepth = 512 }), requestId, advertised);

    /// <summary>A call with arguments given as a node tree. Canonicalization follows the transport; a tree it cannot canonicalize is passed raw.</summary>
    public static ToolCallContext Call(GuardSessionInfo session, string toolName, JsonNode? arguments, string requestId = "1", bool advertised = true)
    {
        byte[] canonical;
        try
        {
            canonical = JsonCanonicalizer.ToCanonicalBytes(arguments ?? new JsonObject());
        }
        catch (JsonException)
        {
            // The transport denies such arguments as argument.malformed before any stage runs; stages still must not throw on them.
            canonical = Encoding.UTF8.GetBytes(arguments!.ToJsonString(new JsonSerializerOptions { MaxDepth = 1024 }));
        }

        using JsonDocument document = JsonDocument.Parse(canonical, new JsonDocumentOptions { MaxDepth = 512 });
        GuardToolDescriptor? tool = session.Tools.TryGetValue(toolName, out GuardToolDescriptor? known) ? known : advertised ? Tool(toolName) : null;
        return new ToolCallContext(session, requestId, toolName, tool, document.RootElement.Clone(), canonical); // digest on first read, as in the transport
    }

    /// <summary>Evaluates <paramref name="arguments"/> against one tool with <paramref name="rules"/> through the real <see cref="ArgumentConstraintStage"/>.</summary>
    public static GuardDecision EvaluateRules(JsonNode? arguments, params ArgumentRule[] rules)
    {
        McpGuardOptions options = OptionsWithRules("tool", rules);
        ValueTask<GuardDecision> decision = new ArgumentConstraintStage(options).EvaluateCallAsync(Call(Session(options), "tool", arguments), CancellationToken.None);
        return decision.IsCompleted ? decision.Result : decision.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Evaluates JSON text arguments against one tool with <paramref name="rules"/>.</summary>
    public static GuardDecision EvaluateRules(string argumentsJson, params ArgumentRule[] rules) =>
        EvaluateRules(JsonNode.Parse(argumentsJson, documentOptions: new JsonDocumentOptions { MaxDepth = 512 }), rules);
}
