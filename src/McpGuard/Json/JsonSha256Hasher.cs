using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Json;

/// <summary>
/// SHA-256 and size of the compact UTF-8 JSON serialization of a node, serialized into a buffer that is reused from
/// call to call (no per-call array of the result's size).
/// </summary>
/// <remarks>
/// The result is identical to hashing <c>JsonSerializer.SerializeToUtf8Bytes(node)</c>. A buffer that grew past
/// <see cref="RetainedCapacity"/> for one large node is released afterwards. Not thread-safe: one instance per
/// single-threaded user (the transport's receive pump).
/// </remarks>
internal sealed class JsonSha256Hasher : IDisposable
{
    private const int RetainedCapacity = 256 * 1024;

    private ArrayBufferWriter<byte> _buffer = new(8 * 1024);
    private Utf8JsonWriter? _writer;

    /// <summary>Returns the lower-case hex SHA-256 and byte size of <paramref name="node"/>'s compact JSON (<c>null</c> for a null node).</summary>
    public (string Sha256, long Size) Hash(JsonNode? node)
    {
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
