using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Json;

/// <summary>
/// SHA-256 and size of a node's UTF-8 JSON as received: the exact bytes the node was parsed from when it is still
/// backed by them, otherwise its compact serialization, written into a buffer that is reused from call to call.
/// </summary>
/// <remarks>
/// <para>The SDK's message converter parses <c>result</c> into a <see cref="JsonObject"/> that keeps the parsed
/// <see cref="JsonElement"/> until it is read or changed. While it does, the digest is computed over those bytes directly
/// (<see cref="JsonMarshal.GetRawUtf8Value"/>): no re-serialization, no copy. For a server that writes compact JSON with
/// the default escaping (the SDK's own servers) both ways give the same digest; for any other the raw digest is the one
/// that matches a capture of the wire.</para>
/// <para>A buffer that grew past <see cref="RetainedCapacity"/> for one large node is released afterwards. Not
/// thread-safe: one instance per single-threaded user (the transport's incoming reader).</para>
/// </remarks>
internal sealed class JsonSha256Hasher : IDisposable
{
    private const int RetainedCapacity = 256 * 1024;

    private ArrayBufferWriter<byte> _buffer = new(8 * 1024);
    private Utf8JsonWriter? _writer;

    /// <summary>Returns the lower-case hex SHA-256 and byte size of <paramref name="node"/>'s JSON (<c>null</c> for a null node).</summary>
    public (string Sha256, long Size) Hash(JsonNode? node)
    {
        if (node is not null && JsonRawBytes.TryGetElement(node, out JsonElement element))
        {
            ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
            return (JsonCanonicalizer.Sha256Hex(raw), raw.Length);
        }

        _buffer.ResetWrittenCount();
        if (node is null)
        {
            _buffer.Write("null"u8);
        }
        else
        {
            if (_writer is null)
            {
                _writer = new Utf8JsonWriter(_buffer);
            }
            else
            {
                _writer.Reset(_buffer);
            }

            JsonSerializer.Serialize(_writer, node, McpGuardJsonContext.Default.JsonNode);
            _writer.Flush();
        }

        (string, long) result = (JsonCanonicalizer.Sha256Hex(_buffer.WrittenSpan), _buffer.WrittenCount);
        if (_buffer.Capacity > RetainedCapacity)
        {
            _buffer = new ArrayBufferWriter<byte>(8 * 1024);
            _writer?.Dispose();
            _writer = null;
        }

        return result;
    }

    public void Dispose() => _writer?.Dispose();
}

/// <summary>
/// The <see cref="JsonElement"/> a parsed node is still backed by, if any: a <see cref="JsonValue"/> through its public
/// API, a <see cref="JsonObject"/> or <see cref="JsonArray"/> through the field that holds it until the node is first read
/// or changed (System.Text.Json keeps no public accessor for it).
/// </summary>
/// <remarks>If a System.Text.Json version lays out the nodes differently, the accessor throws once, the fast path turns
/// itself off and callers fall back to serializing; results never change, only their cost.</remarks>
internal static class JsonRawBytes
{
    private static volatile bool s_fieldUnavailable;

    /// <summary>Gets the backing element of an unmodified parsed node.</summary>
    public static bool TryGetElement(JsonNode node, out JsonElement element)
    {
        element = default;
        if (node is JsonValue value)
        {
            return value.TryGetValue(out element);
        }

        if (s_fieldUnavailable)
        {
            return false;
        }

        try
        {
            JsonElement? backing = node switch
            {
                JsonObject o => ObjectElement(o),
                JsonArray a => ArrayElement(a),
                _ => null,
            };
            if (backing is { } e)
            {
                element = e;
                return true;
            }

            return false;
        }
        catch (Exception ex) when (ex is MissingFieldException or MissingMemberException or BadImageFormatException)
        {
            s_fieldUnavailable = true;
            return false;
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_jsonElement")]
    private static extern ref JsonElement? ObjectElement(JsonObject node);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_jsonElement")]
    private static extern ref JsonElement? ArrayElement(JsonArray node);
}
