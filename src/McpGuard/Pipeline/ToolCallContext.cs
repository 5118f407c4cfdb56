using System.Text.Json;

namespace McpGuard;

/// <summary>
/// Everything a stage or policy knows about one <c>tools/call</c> request (MCP spec, "Tools / Calling Tools") before it
/// is sent: the session, the tool as the server advertised it, and the arguments as canonical JSON.
/// </summary>
/// <remarks>Immutable; created once per call and shared by all stages. Thread-safe.</remarks>
public sealed class ToolCallContext
{
    private string? _argumentsSha256;

    /// <summary>Creates the context; a <see langword="null"/> <paramref name="argumentsSha256"/> is computed from
    /// <paramref name="argumentsCanonical"/> (never changed afterwards) when first read.</summary>
    internal ToolCallContext(GuardSessionInfo session, string requestId, string toolName, GuardToolDescriptor? tool, JsonElement arguments, byte[] argumentsCanonical, string? argumentsSha256 = null)
    {
        Session = session;
        RequestId = requestId;
        ToolName = toolName;
        Tool = tool;
        Arguments = arguments;
        ArgumentsCanonical = argumentsCanonical;
        _argumentsSha256 = argumentsSha256;
    }

    /// <summary>The guarded session the call belongs to.</summary>
    public GuardSessionInfo Session { get; }

    /// <summary>The registration name of the server.</summary>
    public string ServerName => Session.ServerName;

    /// <summary>The agent and user acting.</summary>
    public GuardPrincipal Principal => Session.Principal;

    /// <summary>The JSON-RPC id of the request, as text.</summary>
    public string RequestId { get; }

    /// <summary>The tool name the caller asked for (may be one the server never advertised).</summary>
    public string ToolName { get; }

    /// <summary>The tool as the server advertised it, or <see langword="null"/> if it is not in the server's catalog.</summary>
    public GuardToolDescriptor? Tool { get; }

    /// <summary>The <c>arguments</c> object (a JSON object; an empty object when the request had none).</summary>
    public JsonElement Arguments { get; }

    /// <summary>Size of the canonical (RFC 8785) UTF-8 JSON of <see cref="Arguments"/>, in bytes.</summary>
    public int ArgumentsSize => ArgumentsCanonical.Length;

    /// <summary>SHA-256 (FIPS 180-4; lower-case hex, 64 characters) of the canonical (RFC 8785) UTF-8 JSON of <see cref="Arguments"/>; computed on first
    /// read, so a call whose evidence nobody reads does not pay for it.</summary>
    public string ArgumentsSha256
    {
        get
        {
            if (_argumentsSha256 is null)
            {
                Interlocked.CompareExchange(ref _argumentsSha256, Json.JsonCanonicalizer.Sha256Hex(ArgumentsCanonical), null);
            }

            return _argumentsSha256;
        }
    }

    internal byte[] ArgumentsCanonical { get; }

    /// <summary>Set by the flow stage: links the call to its flow state for the sent/responded hooks.</summary>
    internal FlowTicket? FlowTicket { get; set; }

    internal GuardToolOptions? ToolOptions => Session.Registration is { } r && r.Tools.TryGetValue(ToolName, out GuardToolOptions? t) ? t : null;
}
