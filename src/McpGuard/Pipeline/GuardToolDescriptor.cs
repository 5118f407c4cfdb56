using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard;

/// <summary>
/// One tool as the server advertised it in <c>tools/list</c> (MCP spec, "Tools"), kept with its complete raw JSON,
/// including fields the SDK's typed <c>Tool</c> model drops.
/// </summary>
/// <remarks>Immutable after construction and thread-safe. Every string here is server-controlled text.</remarks>
public sealed class GuardToolDescriptor
{
    private readonly byte[] _canonicalJson;
    private JsonElement? _raw;

    internal GuardToolDescriptor(string name, JsonObject raw, byte[] canonicalJson, string metadataSha256)
    {
        Name = name;
        _canonicalJson = canonicalJson;
        MetadataSha256 = metadataSha256;
        Title = raw["title"] is JsonValue t && t.TryGetValue(out string? title) ? title : null;
        Description = raw["description"] is JsonValue d && d.TryGetValue(out string? description) ? description : null;
        if (Title is null && raw["annotations"] is JsonObject ann && ann["title"] is JsonValue at && at.TryGetValue(out string? annTitle))
        {
            Title = annTitle;
        }
    }

    /// <summary>The tool's <c>name</c>.</summary>
    public string Name { get; }

    /// <summary>The tool's <c>title</c> (or <c>annotations.title</c>), if any.</summary>
    public string? Title { get; }

    /// <summary>The tool's full, untruncated <c>description</c>, if any.</summary>
    public string? Description { get; }

    /// <summary>Lower-case hex SHA-256 of the RFC 8785 (JCS) canonical form of the raw tool object: 64 characters.</summary>
    public string MetadataSha256 { get; }

    /// <summary>Size in bytes of the canonical UTF-8 JSON of the tool object.</summary>
    public int MetadataSize => _canonicalJson.Length;

    /// <summary>The complete tool object as the server sent it, in RFC 8785 canonical key order.</summary>
    public JsonElement RawJson => _raw ??= JsonDocument.Parse(_canonicalJson).RootElement;

    /// <summary>The tool's <c>annotations</c> object (<c>readOnlyHint</c>, <c>destructiveHint</c>, ...), or <see langword="null"/>. Annotations are hints from an untrusted server.</summary>
    public JsonElement? Annotations => RawJson.TryGetProperty("annotations", out JsonElement a) && a.ValueKind == JsonValueKind.Object ? a : null;

    /// <summary>The tool's <c>inputSchema</c>, or <see langword="null"/>.</summary>
    public JsonElement? InputSchema => RawJson.TryGetProperty("inputSchema", out JsonElement s) ? s : null;

    internal ReadOnlySpan<byte> CanonicalJson => _canonicalJson;
}
