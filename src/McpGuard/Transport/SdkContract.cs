using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace McpGuard.Transport;

/// <summary>
/// Whether the SDK client can read what a server sent, checked with the SDK's own deserializer (so its rules, not a copy
/// of them). A list result the SDK cannot read makes the host's whole <c>List*Async</c> call throw; the guard hides the
/// unreadable entries, or rejects a result whose top level is unreadable, instead.
/// </summary>
internal static class SdkContract
{
    public static readonly JsonTypeInfo<Tool> Tool = TypeInfo<Tool>();
    public static readonly JsonTypeInfo<Prompt> Prompt = TypeInfo<Prompt>();
    public static readonly JsonTypeInfo<Resource> Resource = TypeInfo<Resource>();
    public static readonly JsonTypeInfo<ResourceTemplate> ResourceTemplate = TypeInfo<ResourceTemplate>();
    public static readonly JsonTypeInfo<ListToolsResult> ListToolsResult = TypeInfo<ListToolsResult>();
    public static readonly JsonTypeInfo<ListPromptsResult> ListPromptsResult = TypeInfo<ListPromptsResult>();
    public static readonly JsonTypeInfo<ListResourcesResult> ListResourcesResult = TypeInfo<ListResourcesResult>();
    public static readonly JsonTypeInfo<ListResourceTemplatesResult> ListResourceTemplatesResult = TypeInfo<ListResourceTemplatesResult>();

    /// <summary>Whether <paramref name="utf8Json"/> deserializes as a <typeparamref name="T"/> the way the SDK client reads it.</summary>
    /// <param name="utf8Json">One entry's UTF-8 JSON (for tools its RFC 8785 form: the same members as the node the SDK
    /// reads, since a parsed node has no duplicate names).</param>
    /// <param name="typeInfo">The SDK's contract for the type (one of this class's fields).</param>
    public static bool IsReadable<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, typeInfo) is not null;
        }
        catch (Exception ex) when (IsContractFailure(ex))
        {
            return false;
        }
    }

    /// <summary>Whether a node deserializes as a <typeparamref name="T"/> the way the SDK client reads it.</summary>
    public static bool IsReadable<T>(JsonNode node, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return node.Deserialize(typeInfo) is not null;
        }
        catch (Exception ex) when (IsContractFailure(ex))
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the top level of a list result (<c>nextCursor</c>, <c>_meta</c>, ...) is readable by the SDK: the result
    /// is written with its entry array empty (the entries are checked one by one) and deserialized as the list type.
    /// </summary>
    /// <param name="result">The result object; not changed.</param>
    /// <param name="arrayName">The entries' member (<c>tools</c>, <c>prompts</c>, <c>resources</c>, <c>resourceTemplates</c>).</param>
    /// <param name="typeInfo">The SDK's contract for the list result.</param>
    public static bool IsListShellReadable<T>(JsonObject result, string arrayName, JsonTypeInfo<T> typeInfo)
    {
        if (result.Count == 1)
        {
            return true; // only the entries
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                foreach (KeyValuePair<string, JsonNode?> member in result)
                {
                    writer.WritePropertyName(member.Key);
                    if (member.Key == arrayName)
                    {
                        writer.WriteStartArray();
                        writer.WriteEndArray();
                    }
                    else if (member.Value is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        member.Value.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            return JsonSerializer.Deserialize(buffer.WrittenSpan, typeInfo) is not null;
        }
        catch (Exception ex) when (IsContractFailure(ex))
        {
            return false;
        }
    }

    private static bool IsContractFailure(Exception ex) =>
        ex is JsonException or ArgumentException or InvalidOperationException or FormatException or NotSupportedException;

    private static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(T));
}
